import type { Scenario, ScenarioCatalogue } from "../chaos/scenarios.js";
import type { FaultRules } from "../chaos/faults.js";
import type { ClockState, ScenarioSummary } from "../domain/control-plane.js";
import { ApiError } from "../domain/errors.js";
import { WORKSPACE_PATTERN } from "../domain/vocabulary.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import type { EmulatorClock } from "../runtime/clock.js";
import type { RateLimiter, RateLimits } from "../runtime/rate-limiter.js";
import type { Store } from "../store/store.js";
import { seedRecords } from "./seeding.js";

export interface ScenarioDeps {
  catalogue: ScenarioCatalogue;
  store: Store;
  objects: ObjectRegistry;
  faults: FaultRules;
  rateLimiter: RateLimiter;
  clock: EmulatorClock;
  newRecordId: () => string;
}

export interface ScenarioApplied {
  applied: string;
  /** The workspace its fault rules and seed data were scoped to; absent when applied to every workspace. */
  workspace?: string;
  /** Ids of the fault rules the scenario added. */
  faults: string[];
  rateLimits: RateLimits;
  clock: Pick<ClockState, "now" | "frozen">;
  /** Object → records written (inserted or upserted). */
  seeded: Record<string, number>;
}

/** What GET /_emulator/scenarios answers: the catalogue and the scenario last applied. */
export interface ScenarioOverview {
  scenarios: ScenarioSummary[];
  active: string | null;
}

const SCENARIO_SOURCE = "scenario:";

/**
 * Applies scenarios and remembers the last one applied. A scenario changes only what it names,
 * with one exception: the fault rules an earlier scenario added are always removed (rules added
 * through POST /_emulator/faults stay), so applying `happy-path` ends any earlier scenario's
 * faults. Seeding runs first, in one transaction; only once it has committed are the rate
 * limits, fault rules and clock changed, so a scenario whose seed is refused changes nothing.
 */
export class ScenarioRunner {
  readonly #deps: ScenarioDeps;
  #active: string | null = null;

  constructor(deps: ScenarioDeps) {
    this.#deps = deps;
  }

  /** The name of the last scenario applied, or null. */
  get active(): string | null {
    return this.#active;
  }

  list(): Scenario[] {
    return this.#deps.catalogue.list();
  }

  overview(): ScenarioOverview {
    return {
      scenarios: this.list().map(({ name, description, file }) => ({ name, description, file })),
      active: this.#active,
    };
  }

  /** A full reset removed the scenario's fault rules: it is no longer active. */
  forgetActive(): void {
    this.#active = null;
  }

  /**
   * By name; 404 NOT_FOUND when there is no such scenario. With `workspace`, its fault rules match
   * that workspace only and its seed data goes there, so several runs can share one emulator
   * (`cdp-emulator run`); rate limits and the clock have no workspace and still change for all.
   */
  apply(name: string, options: { workspace?: unknown } = {}): ScenarioApplied {
    const workspace = options.workspace;
    if (workspace !== undefined && (typeof workspace !== "string" || !WORKSPACE_PATTERN.test(workspace))) {
      throw new ApiError("REQUEST_INVALID", "workspace: must be 1-64 letters, digits, - or _", { details: { path: "workspace", value: workspace } });
    }
    const scenario = this.#deps.catalogue.get(name);
    if (!scenario) {
      const names = this.list().map((candidate) => candidate.name);
      throw new ApiError("NOT_FOUND", `No scenario "${name}"; GET /_emulator/scenarios lists them (${names.join(", ") || "none loaded"})`, {
        details: { path: "name", value: name },
      });
    }
    return workspace === undefined ? this.applyScenario(scenario) : this.applyScenario(scenario, { workspace });
  }

  applyScenario(scenario: Scenario, options: { workspace?: string } = {}): ScenarioApplied {
    const { workspace } = options;
    const { store, objects, faults, rateLimiter, clock, newRecordId } = this.#deps;
    // Seed rows carry the scenario's time when it sets the clock, as if written after the change.
    const now = scenario.clock?.set !== undefined ? Date.parse(scenario.clock.set) : clock.now();
    let seeded: Record<string, number> = {};
    if (scenario.seed) {
      try {
        const seed = workspace === undefined ? scenario.seed : { ...scenario.seed, workspace };
        seeded = seedRecords({ store, objects, newRecordId }, seed, now);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        throw new ApiError(
          error.kind === "REQUEST_SCHEMA" ? "REQUEST_INVALID" : error.kind,
          `${error.message} (scenario "${scenario.name}" was not applied; nothing changed)`,
          { details: { ...error.details, scenario: scenario.name } },
        );
      }
    }

    if (scenario.rateLimits) rateLimiter.configure(scenario.rateLimits);
    // The clock first: a rule's `forSeconds` counts from the scenario's time.
    if (scenario.clock?.set !== undefined) clock.set(now);
    // Frozen at the instant it set, not a millisecond later: a scenario that sets and freezes the
    // clock promises exactly that time.
    if (scenario.clock?.freeze === true) clock.freeze(scenario.clock.set !== undefined ? now : undefined);
    if (scenario.clock?.freeze === false) clock.unfreeze();
    // A scoped scenario replaces only that workspace's earlier scoped rules, and an unscoped one
    // only the unscoped ones, so a run sharing the emulator keeps its faults while others apply theirs.
    const scope = workspace === undefined ? "" : `@${workspace}`;
    faults.clear((rule) => rule.source.startsWith(SCENARIO_SOURCE) && (scope === "" ? !rule.source.includes("@") : rule.source.endsWith(scope)));
    const ruleIds = scenario.faults.map(
      (rule) => faults.add(workspace === undefined ? rule : scopedRule(rule, workspace), `${SCENARIO_SOURCE}${scenario.name}${scope}`).id,
    );

    if (workspace === undefined) this.#active = scenario.name;
    const state = clock.state();
    return {
      applied: scenario.name,
      ...(workspace === undefined ? {} : { workspace }),
      faults: ruleIds,
      rateLimits: rateLimiter.limits(),
      clock: { now: state.now, frozen: state.frozen },
      seeded,
    };
  }
}

/** A scenario's rule input, matching one workspace's requests only. */
function scopedRule(rule: Record<string, unknown>, workspace: string): Record<string, unknown> {
  const match = typeof rule["match"] === "object" && rule["match"] !== null ? rule["match"] : {};
  return { ...rule, match: { ...match, workspace } };
}
