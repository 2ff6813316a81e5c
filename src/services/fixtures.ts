import type { BatchOperation } from "../domain/vocabulary.js";
import { schemaCheck } from "../domain/schema-check.js";
import type { ObjectDefinition, ObjectRegistry } from "../domain/object-schema.js";
import { parseBatchWrite, type BatchWriteRequest } from "../domain/requests.js";
import type { Fields } from "../domain/validation.js";
import { WORKSPACE_PATTERN } from "../domain/vocabulary.js";
import type { Clock } from "../runtime/clock.js";
import type { Store } from "../store/store.js";
import { invalidBody } from "./invalid-body.js";
import type { JobWorker } from "./job-worker.js";
import { findObject } from "./objects.js";
import { describeJob } from "./presenters.js";
import { seedRecords } from "./seeding.js";

/**
 * Exact fixtures for tests and Pact provider states: put these records in, make this job exist.
 * They write through the same domain and store code as the public API but bypass its pipeline
 * (no auth, quota, faults or journal), so setting a state up never disturbs what a test counts.
 */

export interface FixtureDeps {
  store: Store;
  objects: ObjectRegistry;
  clock: Clock;
  worker: JobWorker;
  newRecordId: () => string;
  newJobId: () => string;
}

export interface FixtureRecords {
  records: Fields[];
  workspace?: string;
}


export interface FixtureJob {
  object: ObjectDefinition;
  operation: BatchOperation;
  workspace: string;
  request: BatchWriteRequest;
}

/** How long a fixture job is waited for before it is answered as it then is. */
const JOB_WAIT_MS = 10_000;
const DEFAULT_WORKSPACE = "default";
const WORKSPACE_RULE = "must be 1-64 letters, digits, - or _";

const workspaceField = { type: "string", pattern: WORKSPACE_PATTERN.source };

const isFixtureRecords = schemaCheck<FixtureRecords>(
  {
    type: "object",
    required: ["records"],
    properties: {
      workspace: workspaceField,
      records: { type: "array", minItems: 1, items: { type: "object" } },
    },
  },
  {
    messages: {
      workspace: WORKSPACE_RULE,
      // Missing, not an array or empty; an item that is not an object is named by its index.
      records: "must be a non-empty array of objects",
    },
  },
);

// Only what the fixture adds to a batch request: `records` and `matchKey` are the public API's
// own to check (parseBatchWrite), with its words. `object` is looked up, not typed, so any name
// that is not an object's is the same 404.
const isFixtureJob = schemaCheck<{ object?: unknown; operation: BatchOperation; workspace?: string }>(
  {
    type: "object",
    required: ["operation"],
    properties: {
      operation: { type: "string", enum: ["append-batch", "upsert-batch"] },
      workspace: workspaceField,
    },
  },
  { messages: { operation: 'must be "append-batch" or "upsert-batch"', workspace: WORKSPACE_RULE } },
);

const RECORDS_HINT = 'send {"records": [{"email": "jane@example.com"}], "workspace": "default"}';
const JOB_HINT = 'send {"object": "profiles", "operation": "upsert-batch", "records": [{"email": "jane@example.com"}]}';

/** POST /_emulator/records/{object}'s body: `{records, workspace?}`, records a non-empty array of objects. */
export function parseFixtureRecords(body: unknown): FixtureRecords {
  if (!isFixtureRecords(body)) throw invalidBody(isFixtureRecords.problem(body), RECORDS_HINT);
  return body;
}

/**
 * POST /_emulator/jobs's body: `{object, operation, workspace?}` and the batch request itself.
 * A body that is not an object is refused first, then an object that does not exist (404), then
 * the rest.
 */
export function parseFixtureJob(body: unknown, objects: ObjectRegistry): FixtureJob {
  const valid = isFixtureJob(body);
  const problem = valid ? undefined : isFixtureJob.problem(body);
  if (problem?.path === "") throw invalidBody(problem, JOB_HINT);
  const name = (body as Record<string, unknown>)["object"];
  const object = findObject(objects, typeof name === "string" ? name : undefined);
  if (!valid) throw invalidBody(problem, JOB_HINT);
  const { object: _object, operation, workspace = DEFAULT_WORKSPACE, ...batch } = body;
  return { object, operation, workspace, request: parseBatchWrite(batch, operation, object) };
}

export class Fixtures {
  readonly #deps: FixtureDeps;

  constructor(deps: FixtureDeps) {
    this.#deps = deps;
  }

  /**
   * Each record is upserted by the object's primary key when it holds one (so a state set up
   * twice is one row), appended otherwise; all or none are written.
   */
  putRecords(object: ObjectDefinition, input: FixtureRecords): { object: string; workspace: string; written: number } {
    const workspace = input.workspace ?? DEFAULT_WORKSPACE;
    const counts = seedRecords(this.#deps, { workspace, records: { [object.objectName]: input.records } }, this.#deps.clock.now());
    return { object: object.objectName, workspace, written: counts[object.objectName] ?? 0 };
  }

  /**
   * A batch job run to its end (up to 10 s; at once, still queued, when jobs are held), answered
   * as GET /records/{object}/jobs/{jobId} shows it.
   */
  async runJob(job: FixtureJob): Promise<ReturnType<typeof describeJob>> {
    const { store, worker } = this.#deps;
    const { object, operation, workspace, request } = job;
    const now = this.#deps.clock.now();
    store.workspaces.ensureWorkspace(workspace, now);
    const created = store.jobs.create({
      id: this.#deps.newJobId(),
      workspace,
      object: object.objectName,
      operation,
      matchKey: operation === "upsert-batch" ? (request.matchKey ?? object.primaryKey) : null,
      records: request.records,
      now,
    });
    worker.notify({ jobSeq: created.seq, records: request.records });
    // A held worker will not run it: answer with the queued job rather than wait out the 10 s.
    if (!worker.status().held) await worker.waitFor(created.seq, JOB_WAIT_MS);
    const latest = store.jobs.bySeq(created.seq) ?? created;
    return describeJob(latest, store.jobs);
  }
}
