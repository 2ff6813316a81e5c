import express, { type Request, type Router } from "express";
import type { Logger } from "pino";
import { describeJob } from "../services/presenters.js";
import { findObject } from "../services/objects.js";
import type { EmulatorClock } from "../runtime/clock.js";
import type { FaultRules } from "../chaos/faults.js";
import type { Journal } from "../runtime/journal.js";
import type { RateLimiter } from "../runtime/rate-limiter.js";
import { ApiError } from "../domain/errors.js";
import { decodeCursor, encodeCursor, optionalString, pageLimit } from "../domain/paging.js";
import type { StoredRow } from "../domain/identity.js";
import type { ObjectDefinition } from "../domain/object-schema.js";
import { controlGuard, type ControlGuardOptions } from "../http/control-guard.js";
import { correlationId } from "../http/correlation-id.js";
import { errorEnvelope } from "../http/error-envelope.js";
import { controlJsonBody } from "../http/json-body.js";
import type { JobWorker } from "../services/job-worker.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import { jobStates, type JobState } from "../domain/vocabulary.js";
import type { RowFilter, RowOrder } from "../store/records-store.js";
import type { Store } from "../store/store.js";
import { registerChaosRoutes } from "./chaos.js";
import { registerEventRoutes, type EventStream } from "./events.js";
import { registerFixtureRoutes } from "./fixtures.js";
import { registerInspectRoutes } from "./inspect.js";
import { registerScenarioRoutes, type ScenarioRunner } from "./scenarios.js";
import { registerSeedRoutes } from "./seed.js";
import { registerWorkspaceRoutes, workspaceOf } from "./workspaces.js";

export interface ControlDeps {
  store: Store;
  objects: ObjectRegistry;
  clock: EmulatorClock;
  rateLimiter: RateLimiter;
  faults: FaultRules;
  journal: Journal;
  events: EventStream;
  scenarios: ScenarioRunner;
  logger: Logger;
  worker: JobWorker;
  newRecordId: () => string;
  newJobId: () => string;
  version: string;
  startedAt: number;
  /** Who may call: allowed hosts and the optional control token (see http/control-guard.ts). */
  guard: ControlGuardOptions;
}

/** The emulator's own API under /_emulator: never part of the vendor's contract, same envelope. */
export function createControlRoutes(deps: ControlDeps): Router {
  const router = express.Router();
  router.use(correlationId());
  // Before anything reads a body or touches state: a stranger's request goes no further. Health
  // stays open to any host, origin and caller (container healthchecks, load balancers).
  router.use(controlGuard({ ...deps.guard, openPaths: ["/health"] }));
  // The public API's parser and checks (UTF-8, nesting, lone surrogates), with a 1 MB limit.
  router.use(controlJsonBody());

  router.get("/health", (_req, res) => {
    res.json({
      success: true,
      data: {
        status: "ok",
        version: deps.version,
        db: { path: deps.store.path, open: deps.store.isOpen() },
        worker: { ...deps.worker.status(), jobs: deps.store.jobs.countByState() },
        uptimeS: Math.round((performance.now() - deps.startedAt) / 1000),
      },
    });
  });

  router.post("/reset", (req, res) => {
    const workspace = optionalString(req.query["workspace"], "workspace");
    if (workspace !== undefined && !deps.store.workspaces.exists(workspace)) {
      throw new ApiError("NOT_FOUND", `Workspace "${workspace}" does not exist`, {
        details: { path: "workspace", value: workspace },
      });
    }
    deps.store.reset(workspace);
    if (workspace === undefined) {
      deps.faults.clear();
      deps.journal.clear();
      deps.rateLimiter.reset();
      deps.scenarios.forgetActive();
    } else {
      deps.faults.clear((rule) => rule.match.workspace === workspace);
      deps.journal.clear(workspace);
    }
    res.json({ success: true, data: { reset: workspace ?? "all" } });
  });

  router.get("/records/:object", (req, res) => {
    const object = findObject(deps.objects, req.params["object"]);
    const workspace = workspaceOf(req, deps);
    const limit = pageLimit(req.query["limit"]);
    const order = rowOrder(req.query["order"]);
    // The cursor is the last row's position; the next page lies beyond it in the order asked for.
    const afterSeq = decodeCursor(req.query["cursor"]);
    const filters = fieldFilters(req, object);
    const scope = { workspace, object: object.objectName, filters };
    const rows = deps.store.records.list({ ...scope, afterSeq, limit: limit + 1, order });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    res.json({
      success: true,
      data: {
        records: page.map(describeRow),
        nextCursor: rows.length > limit && last ? encodeCursor(last.seq) : null,
        // Every row the filters match, not just this page's: what "1,234 rows" is counted from.
        total: deps.store.records.count(scope),
      },
    });
  });

  router.get("/records/:object/:rowId", (req, res) => {
    const object = findObject(deps.objects, req.params["object"]);
    const workspace = workspaceOf(req, deps);
    const row = deps.store.records.get(workspace, object.objectName, req.params["rowId"] ?? "");
    if (!row) {
      throw new ApiError("NOT_FOUND", `No ${object.objectName} row "${req.params["rowId"]}" in workspace "${workspace}"`, {
        details: { path: "rowId", value: req.params["rowId"] },
      });
    }
    res.json({ success: true, data: describeRow(row) });
  });

  router.get("/identity/collisions", (req, res) => {
    const workspace = workspaceOf(req, deps);
    const objectName = optionalString(req.query["object"], "object");
    if (objectName !== undefined) findObject(deps.objects, objectName);
    const limit = pageLimit(req.query["limit"]);
    const afterId = decodeCursor(req.query["cursor"]);
    const rows = deps.store.records.collisions({ workspace, object: objectName, afterId, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    res.json({
      success: true,
      data: { collisions: page, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null },
    });
  });

  router.get("/jobs", (req, res) => {
    const workspace = workspaceOf(req, deps);
    const state = optionalString(req.query["state"], "state");
    if (state !== undefined && !(jobStates as readonly string[]).includes(state)) {
      throw new ApiError("REQUEST_INVALID", `state: must be one of ${jobStates.join(", ")}`, {
        details: { path: "state", value: state },
      });
    }
    const limit = pageLimit(req.query["limit"]);
    const afterSeq = decodeCursor(req.query["cursor"]);
    const jobs = deps.store.jobs.list({ workspace, state: state as JobState | undefined, afterSeq, limit: limit + 1 });
    const page = jobs.slice(0, limit);
    const last = page.at(-1);
    res.json({
      success: true,
      data: {
        jobs: page.map((job) => describeJob(job, deps.store.jobs)),
        nextCursor: jobs.length > limit && last ? encodeCursor(last.seq) : null,
      },
    });
  });

  // Tests that poll hold jobs in `queued` to observe every state, then release them.
  router.post("/jobs/hold", (_req, res) => {
    deps.worker.hold();
    res.json({ success: true, data: deps.worker.status() });
  });

  router.post("/jobs/release", (_req, res) => {
    deps.worker.release();
    res.json({ success: true, data: deps.worker.status() });
  });

  registerWorkspaceRoutes(router, { store: deps.store, clock: deps.clock });
  registerFixtureRoutes(router, deps);
  registerChaosRoutes(router, deps);
  registerScenarioRoutes(router, deps);
  registerSeedRoutes(router, deps);
  registerEventRoutes(router, deps);
  registerInspectRoutes(router, deps);

  router.use((req: Request) => {
    throw new ApiError("NOT_FOUND", `No such control-plane endpoint: ${req.method} ${req.originalUrl.split("?")[0] ?? ""}`);
  });
  router.use(errorEnvelope({ logger: deps.logger }));
  return router;
}

function describeRow(row: StoredRow) {
  return {
    rowId: row.id,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    fields: row.fields,
  };
}

const RESERVED_PARAMS = new Set(["limit", "cursor", "workspace", "order"]);
const rowOrders: readonly RowOrder[] = ["oldest", "newest"];

/** `order=oldest|newest`; oldest first when absent, as the list always was. */
function rowOrder(raw: unknown): RowOrder {
  const text = optionalString(raw, "order");
  if (text === undefined) return "oldest";
  const order = rowOrders.find((candidate) => candidate === text);
  if (order === undefined) {
    throw new ApiError("REQUEST_INVALID", `order: must be one of ${rowOrders.join(", ")}`, { details: { path: "order", value: text } });
  }
  return order;
}

/** Any other query parameter is an exact match on a field, read as the field's type. */
function fieldFilters(req: Request, object: ObjectDefinition): RowFilter[] {
  const filters: RowFilter[] = [];
  for (const [name, raw] of Object.entries(req.query)) {
    if (RESERVED_PARAMS.has(name)) continue;
    const field = object.fields.find((candidate) => candidate.name === name);
    if (!field) {
      throw new ApiError("REQUEST_INVALID", `${name}: not a field of ${object.objectName}, so it cannot be a filter`, {
        details: { path: name, value: raw },
      });
    }
    const text = optionalString(raw, name) ?? "";
    filters.push({ field: name, value: filterValue(field.type, name, text) });
  }
  return filters;
}

function filterValue(type: string, name: string, text: string): string | number {
  if (type === "number" || type === "integer") {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) {
      throw new ApiError("REQUEST_INVALID", `${name}: "${text}" is not a number`, { details: { path: name, value: text } });
    }
    return value;
  }
  if (type === "boolean") {
    if (text !== "true" && text !== "false") {
      throw new ApiError("REQUEST_INVALID", `${name}: must be true or false`, { details: { path: name, value: text } });
    }
    return text === "true" ? 1 : 0; // SQLite's json_extract reads JSON booleans as 1 and 0
  }
  return text;
}

