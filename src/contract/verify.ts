import { StartupError } from "../domain/startup-error.js";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
// Type-only, erased at build: the module itself is imported on demand below.
import type * as PactModule from "@pact-foundation/pact";
import { allScopes } from "../domain/vocabulary.js";
import type { LogLevel } from "../config.js";
import { TOKEN_PATTERN } from "../domain/vocabulary.js";
import { createEmulator } from "../server.js";
import { ControlClient } from "../testing/control-client.js";
import { findProviderState, isTokenState, providerStates, type StateValues } from "./provider-states.js";

/** The provider name our own consumer pact uses; any name verifies. */
export const PROVIDER_NAME = "cdp-records-api";

export interface VerifyOptions {
  /** Pact files, or folders of them (every `*.json` inside). */
  pacts: string[];
  /** Bearer tokens to accept besides those found in the pacts (all scopes, workspace default). */
  tokens?: string[];
  /** Pact's own log level. */
  logLevel?: "trace" | "debug" | "info" | "warn" | "error";
  /** The emulator's log level (default silent). */
  emulatorLogLevel?: LogLevel;
  /** A folder of object schemas, when the pacts use the consumer's own objects. */
  schemasDir?: string;
}

/** What the pacts ask of the provider, read before anything starts. */
export interface PactSummary {
  files: string[];
  interactions: number;
  states: string[];
  /** Bearer tokens sent by interactions not in a token state: the run accepts them. */
  tokens: string[];
}

export function expandPactPaths(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const given of paths) {
    const path = resolve(given);
    let stats;
    try {
      stats = statSync(path);
    } catch {
      throw new StartupError("pact-input", `${given}: no such file or folder`);
    }
    if (stats.isDirectory()) {
      files.push(...readdirSync(path).filter((name) => name.endsWith(".json")).sort().map((name) => join(path, name)));
    } else {
      files.push(path);
    }
  }
  if (files.length === 0) throw new StartupError("pact-input", `no pact files (*.json) in ${paths.join(", ")}`);
  return files;
}

interface PactInteraction {
  description?: unknown;
  providerState?: unknown;
  providerStates?: { name?: unknown }[];
  request?: { headers?: Record<string, unknown> };
}

export function summarisePacts(files: readonly string[]): PactSummary {
  const states = new Set<string>();
  const tokens = new Set<string>();
  let interactions = 0;
  for (const file of files) {
    let pact: { interactions?: PactInteraction[] };
    try {
      pact = JSON.parse(readFileSync(file, "utf8")) as typeof pact;
    } catch (error) {
      throw new StartupError("pact-input", `${file}: not a JSON pact file (${(error as Error).message})`);
    }
    if (!Array.isArray(pact.interactions)) throw new StartupError("pact-input", `${file}: not a pact file (no "interactions" array)`);
    for (const interaction of pact.interactions) {
      interactions += 1;
      const names = [
        ...(typeof interaction.providerState === "string" ? [interaction.providerState] : []),
        ...(interaction.providerStates ?? []).map((state) => state.name).filter((name): name is string => typeof name === "string"),
      ];
      for (const name of names) states.add(name);
      if (names.some(isTokenState)) continue;
      const token = bearerToken(interaction.request?.headers);
      if (token !== undefined) tokens.add(token);
    }
  }
  return { files: [...files], interactions, states: [...states], tokens: [...tokens] };
}

function bearerToken(headers: Record<string, unknown> | undefined): string | undefined {
  if (!headers) return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== "authorization") continue;
    const text = Array.isArray(value) ? value[0] : value;
    const match = typeof text === "string" ? /^Bearer\s+(\S+)$/i.exec(text.trim()) : null;
    if (match?.[1] && TOKEN_PATTERN.test(match[1])) return match[1];
  }
  return undefined;
}

/**
 * Verifies pacts against a fresh emulator: starts one on a free port with a throwaway database,
 * installs a state handler for every provider state the pacts name (refusing, before anything
 * runs, a state it does not know), resets the emulator before each interaction, and lets Pact
 * replay the interactions. Resolves when every interaction matched; rejects otherwise. Pact
 * prints its own report to stdout.
 *
 * `@pact-foundation/pact` is an optional peer dependency: imported only here, so the emulator
 * and the client do not carry it.
 */
export async function verifyPacts(options: VerifyOptions): Promise<PactSummary> {
  const summary = summarisePacts(expandPactPaths(options.pacts));
  const unknown = summary.states.filter((state) => !findProviderState(state));
  if (unknown.length > 0) {
    throw new StartupError("pact-input",
      `unknown provider state${unknown.length > 1 ? "s" : ""}: ${unknown.map((state) => `"${state}"`).join(", ")}.\n` +
        `The emulator knows: ${providerStates.map((state) => `"${state.sentence}"`).join(", ")}`,
    );
  }

  // An emulator has no business reporting usage; whoever wants Pact's telemetry can set it.
  process.env["PACT_DO_NOT_TRACK"] ??= "true";
  let pact: typeof PactModule;
  try {
    pact = await import("@pact-foundation/pact");
  } catch {
    throw new StartupError("pact-input", "verify needs @pact-foundation/pact: npm install --save-dev @pact-foundation/pact");
  }

  const tokens = new Set(["dev-token", ...summary.tokens, ...(options.tokens ?? [])]);
  const dir = mkdtempSync(join(tmpdir(), "cdp-emulator-verify-"));
  let emulator: ReturnType<typeof createEmulator>;
  try {
    emulator = createEmulator({
    host: "127.0.0.1",
    port: 0,
    db: join(dir, "verify.sqlite"),
    logLevel: options.emulatorLogLevel ?? "silent",
    tokens: [...tokens].map((token) => ({ token, workspace: "default", scopes: [...allScopes], expiresAt: null })),
      ...(options.schemasDir ? { schemasDir: resolve(options.schemasDir) } : {}),
    });
  } catch (error) {
    // A bad --schemas stops here: leave no temporary folder behind.
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  try {
    const { url } = await emulator.start();
    const control = new ControlClient(url);
    // Pact asks for the empty state before interactions that name none: nothing to set up.
    const stateHandlers: Record<string, (params?: unknown) => Promise<StateValues | undefined>> = { "": async () => undefined };
    for (const state of summary.states) {
      const found = findProviderState(state);
      if (!found) continue;
      stateHandlers[state] = (params) =>
        found.definition.setup({
          control,
          match: found.match,
          params: typeof params === "object" && params !== null && !Array.isArray(params) ? (params as Record<string, unknown>) : {},
        });
    }
    const verifier = new pact.Verifier({
      provider: PROVIDER_NAME,
      providerBaseUrl: url,
      pactUrls: summary.files,
      // Pact's types want JsonMap; ours are a subset of it.
      stateHandlers: stateHandlers as NonNullable<ConstructorParameters<typeof pact.Verifier>[0]["stateHandlers"]>,
      beforeEach: async () => {
        // Every interaction starts from an empty emulator: no rows, jobs, faults or held worker.
        await control.reset();
        await control.jobs.release();
      },
      logLevel: options.logLevel ?? "warn",
    });
    await verifier.verifyProvider();
    return summary;
  } finally {
    await emulator.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
