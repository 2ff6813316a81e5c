import express, { type Request, type Router } from "express";
import type { Logger } from "pino";
import type { FaultRules } from "../chaos/faults.js";
import { ApiError } from "../domain/errors.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import { optionalString } from "../domain/paging.js";
import { controlGuard, type ControlGuardOptions } from "../http/control-guard.js";
import { correlationId } from "../http/correlation-id.js";
import { errorEnvelope } from "../http/error-envelope.js";
import { controlJsonBody } from "../http/json-body.js";
import type { EmulatorClock } from "../runtime/clock.js";
import type { Journal } from "../runtime/journal.js";
import type { RateLimiter } from "../runtime/rate-limiter.js";
import { Audit } from "../services/audit.js";
import { ChaosControl } from "../services/chaos-control.js";
import { EmulatorAdmin } from "../services/emulator-admin.js";
import { Fixtures } from "../services/fixtures.js";
import { Inspection } from "../services/inspection.js";
import type { JobWorker } from "../services/job-worker.js";
import { JournalQueries } from "../services/journal-query.js";
import type { ScenarioRunner } from "../services/scenario-runner.js";
import { WorkspaceAdmin } from "../services/workspaces.js";
import type { Store } from "../store/store.js";
import { registerAuditRoutes } from "./audit.js";
import { registerChaosRoutes } from "./chaos.js";
import { registerEventRoutes, type EventStream } from "./events.js";
import { registerFixtureRoutes } from "./fixtures.js";
import { registerInspectRoutes } from "./inspect.js";
import { ok } from "./respond.js";
import { registerScenarioRoutes } from "./scenarios.js";
import { registerSeedRoutes } from "./seed.js";
import { createWorkspaceOf } from "./workspace-of.js";
import { registerWorkspaceRoutes } from "./workspaces.js";

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

/**
 * The emulator's own API under /_emulator: never part of the vendor's contract, same envelope.
 * Each route parses the request, asks a service (services/) and answers with `ok`.
 */
export function createControlRoutes(deps: ControlDeps): Router {
  const admin = new EmulatorAdmin(deps);
  const workspaces = new WorkspaceAdmin(deps);
  const workspaceOf = createWorkspaceOf({ store: deps.store, clock: deps.clock, workspaces });

  const router = express.Router();
  router.use(correlationId());
  // Before anything reads a body or touches state: a stranger's request goes no further. Health
  // stays open to any host, origin and caller (container healthchecks, load balancers).
  router.use(controlGuard({ ...deps.guard, openPaths: ["/health"] }));
  // The public API's parser and checks (UTF-8, nesting, lone surrogates), with a 1 MB limit.
  router.use(controlJsonBody());

  router.get("/health", (_req, res) => {
    ok(res, admin.health());
  });

  router.post("/reset", (req, res) => {
    ok(res, admin.reset(optionalString(req.query["workspace"], "workspace")));
  });

  // Tests that poll hold jobs in `queued` to observe every state, then release them.
  router.post("/jobs/hold", (_req, res) => {
    ok(res, admin.holdJobs());
  });

  router.post("/jobs/release", (_req, res) => {
    ok(res, admin.releaseJobs());
  });

  registerInspectRoutes(router, { objects: deps.objects, inspection: new Inspection(deps), workspaceOf });
  registerWorkspaceRoutes(router, { workspaces });
  registerFixtureRoutes(router, { objects: deps.objects, fixtures: new Fixtures(deps) });
  registerChaosRoutes(router, { chaos: new ChaosControl(deps), journal: new JournalQueries(deps) });
  registerScenarioRoutes(router, deps);
  registerSeedRoutes(router, { ...deps, workspaceOf });
  registerEventRoutes(router, deps);
  registerAuditRoutes(router, { audit: new Audit(deps), workspaceOf });

  router.use((req: Request) => {
    throw new ApiError("NOT_FOUND", `No such control-plane endpoint: ${req.method} ${req.originalUrl.split("?")[0] ?? ""}`);
  });
  router.use(errorEnvelope({ logger: deps.logger }));
  return router;
}
