import type { FaultRules } from "../chaos/faults.js";
import type { JobState } from "../domain/vocabulary.js";
import type { Journal } from "../runtime/journal.js";
import type { RateLimiter } from "../runtime/rate-limiter.js";
import type { Store } from "../store/store.js";
import type { JobWorker, WorkerStatus } from "./job-worker.js";
import type { ScenarioRunner } from "./scenario-runner.js";
import { noSuchWorkspace } from "./workspaces.js";

/**
 * The emulator as a whole: whether it is healthy, starting a test from nothing (everything, or
 * one workspace), and holding batch jobs in `queued` so a test that polls sees every state.
 */

export interface EmulatorAdminDeps {
  store: Store;
  faults: FaultRules;
  journal: Journal;
  rateLimiter: RateLimiter;
  scenarios: ScenarioRunner;
  worker: JobWorker;
  version: string;
  /** `performance.now()` when the emulator was created. */
  startedAt: number;
}

export interface HealthReport {
  status: "ok";
  version: string;
  db: { path: string; open: boolean };
  worker: WorkerStatus & { jobs: Record<JobState, number> };
  uptimeS: number;
}

export class EmulatorAdmin {
  readonly #deps: EmulatorAdminDeps;

  constructor(deps: EmulatorAdminDeps) {
    this.#deps = deps;
  }

  health(): HealthReport {
    const { store, worker, version, startedAt } = this.#deps;
    return {
      status: "ok",
      version,
      db: { path: store.path, open: store.isOpen() },
      worker: { ...worker.status(), jobs: store.jobs.countByState() },
      uptimeS: Math.round((performance.now() - startedAt) / 1000),
    };
  }

  /**
   * Wipes data, jobs and the journal. Everything also loses its fault rules, rate-limit state
   * and active scenario; one workspace loses only the rules that match it by name.
   */
  reset(workspace?: string): { reset: string } {
    const { store, faults, journal, rateLimiter, scenarios } = this.#deps;
    if (workspace !== undefined && !store.workspaces.exists(workspace)) throw noSuchWorkspace(workspace);
    store.reset(workspace);
    if (workspace === undefined) {
      faults.clear();
      journal.clear();
      rateLimiter.reset();
      scenarios.forgetActive();
    } else {
      faults.clear((rule) => rule.match.workspace === workspace);
      journal.clear(workspace);
    }
    return { reset: workspace ?? "all" };
  }

  /** Keeps queued jobs queued (one already processing finishes) until released. */
  holdJobs(): WorkerStatus {
    this.#deps.worker.hold();
    return this.#deps.worker.status();
  }

  releaseJobs(): WorkerStatus {
    this.#deps.worker.release();
    return this.#deps.worker.status();
  }
}
