import type { Router } from "express";
import { describeJob } from "../services/presenters.js";
import { findObject } from "../services/objects.js";
import type { Clock } from "../runtime/clock.js";
import { WORKSPACE_PATTERN } from "../domain/vocabulary.js";
import { ApiError } from "../domain/errors.js";
import { parseBatchWrite } from "../domain/requests.js";
import type { JobWorker } from "../services/job-worker.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import type { Store } from "../store/store.js";
import { seedRecords } from "./scenarios.js";

export interface FixtureDeps {
  store: Store;
  objects: ObjectRegistry;
  clock: Clock;
  worker: JobWorker;
  newRecordId: () => string;
  newJobId: () => string;
}

/** How long `POST /jobs` waits for the job it made before answering with it anyway. */
const JOB_WAIT_MS = 10_000;

/**
 * Exact fixtures for tests and Pact provider states: put these records in, make this job exist.
 * They write through the same domain and store code as the public API but bypass its pipeline
 * (no auth, quota, faults or journal), so setting a state up never disturbs what a test counts.
 */
export function registerFixtureRoutes(router: Router, deps: FixtureDeps): void {
  // POST /records/{object} {records, workspace?}: each record is upserted by the object's
  // primary key when it holds one (so a state set up twice is one row), appended otherwise.
  router.post("/records/:object", (req, res) => {
    const object = findObject(deps.objects, req.params["object"]);
    const body = bodyObject(req.body, '{"records": [{"email": "jane@example.com"}], "workspace": "default"}');
    const workspace = workspaceField(body["workspace"]);
    const records = body["records"];
    if (!Array.isArray(records) || records.length === 0 || !records.every(isPlainObject)) {
      throw new ApiError("REQUEST_INVALID", "records: must be a non-empty array of objects", { details: { path: "records" } });
    }
    const counts = seedRecords(deps, { workspace, records: { [object.objectName]: records } }, deps.clock.now());
    res.status(201).json({ success: true, data: { object: object.objectName, workspace, written: counts[object.objectName] ?? 0 } });
  });

  // POST /jobs {object, operation, records, matchKey?, workspace?}: a batch job run to its end
  // (up to 10 s; at once, still queued, when jobs are held), answered with the job as GET /records/{object}/jobs/{jobId} shows it.
  router.post("/jobs", async (req, res) => {
    const body = bodyObject(req.body, '{"object": "profiles", "operation": "upsert-batch", "records": [{"email": "jane@example.com"}]}');
    const object = findObject(deps.objects, typeof body["object"] === "string" ? body["object"] : undefined);
    const operation = body["operation"];
    if (operation !== "append-batch" && operation !== "upsert-batch") {
      throw new ApiError("REQUEST_INVALID", 'operation: must be "append-batch" or "upsert-batch"', {
        details: { path: "operation", value: operation ?? null },
      });
    }
    const workspace = workspaceField(body["workspace"]);
    const { object: _object, operation: _operation, workspace: _workspace, ...batch } = body;
    const request = parseBatchWrite(batch, operation, object);
    const now = deps.clock.now();
    deps.store.workspaces.ensureWorkspace(workspace, now);
    const job = deps.store.jobs.create({
      id: deps.newJobId(),
      workspace,
      object: object.objectName,
      operation,
      matchKey: operation === "upsert-batch" ? (request.matchKey ?? object.primaryKey) : null,
      records: request.records,
      now,
    });
    deps.worker.notify({ jobSeq: job.seq, records: request.records });
    // A held worker will not run it: answer with the queued job rather than wait out the 10 s.
    if (!deps.worker.status().held) await deps.worker.waitFor(job.seq, JOB_WAIT_MS);
    const latest = deps.store.jobs.bySeq(job.seq) ?? job;
    res.status(201).json({ success: true, data: describeJob(latest, deps.store.jobs) });
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function bodyObject(body: unknown, example: string): Record<string, unknown> {
  if (!isPlainObject(body)) throw new ApiError("REQUEST_INVALID", `send a JSON object, e.g. ${example}`, { details: { path: "" } });
  return body;
}

function workspaceField(value: unknown): string {
  if (value === undefined) return "default";
  if (typeof value !== "string" || !WORKSPACE_PATTERN.test(value)) {
    throw new ApiError("REQUEST_INVALID", "workspace: must be 1-64 letters, digits, - or _", { details: { path: "workspace", value: value ?? null } });
  }
  return value;
}
