import type { Logger } from "pino";
import type { TokenConfig } from "../config.js";
import type { Scenario } from "../chaos/scenarios.js";
import { ApiError } from "../domain/errors.js";
import { StartupError } from "../domain/startup-error.js";
import type { Clock } from "../runtime/clock.js";
import type { Store } from "../store/store.js";
import type { TokenRecord } from "../store/workspaces-store.js";
import type { ScenarioRunner } from "./scenario-runner.js";
import { loadSeedData, type SeedWriter } from "./seeding.js";

/**
 * What happens once at start-up, between opening the database and serving: the configured tokens
 * made authoritative, then the --scenario and the --seed-data loaded. Whatever fails here is the
 * user's input, so it becomes a StartupError, and the database is closed before it is thrown: a
 * failed start must not keep the file's exclusive lock.
 */

/** Configured tokens as the store keeps them: an expiry is epoch milliseconds, not ISO 8601 text. */
export function configuredTokens(tokens: readonly TokenConfig[]): TokenRecord[] {
  return tokens.map((token) => ({
    token: token.token,
    workspace: token.workspace,
    scopes: token.scopes,
    expiresAt: token.expiresAt === null ? null : Date.parse(token.expiresAt),
  }));
}

/** Start-up configuration is authoritative for the tokens it names (see WorkspacesStore.syncConfiguredTokens). */
export function syncConfiguredTokens(deps: { store: Store; now: number }, tokens: readonly TokenConfig[]): void {
  deps.store.workspaces.syncConfiguredTokens(configuredTokens(tokens), deps.now);
}

export interface StartupDataDeps extends SeedWriter {
  scenarios: ScenarioRunner;
  clock: Clock;
  logger: Logger;
}

export interface StartupData {
  /** The --scenario, already resolved from the catalogue (and so checked) before the database was opened. */
  scenario: Scenario | null;
  /** The --seed-data file. */
  seedData: string | null;
}

/** The scenario first, then the seed data; on any failure the store is closed and the error thrown. */
export function loadStartupData(deps: StartupDataDeps, data: StartupData): void {
  const { store, logger } = deps;
  if (data.scenario) {
    const scenario = data.scenario;
    try {
      deps.scenarios.applyScenario(scenario);
    } catch (error) {
      store.close();
      // The runner's refusal names the field; the file is what a user at the command line can fix.
      if (error instanceof ApiError) throw new StartupError("scenario", `${scenario.file}: ${error.message}`);
      throw error;
    }
  }
  if (data.seedData !== null) {
    try {
      const loaded = loadSeedData(deps, { file: data.seedData, now: deps.clock.now() });
      logger.info({ file: data.seedData, records: loaded }, "seed data loaded");
    } catch (error) {
      store.close();
      throw error;
    }
  }
}
