import { StartupError } from "../domain/startup-error.js";

/** What `cdp-emulator run` was asked to do, checked. */
export interface RunOptions {
  /** Scenario names or files, in the order given; empty means every scenario the emulator has. */
  scenarios: string[];
  /** A running emulator's root; absent: the run starts its own. */
  url: string | null;
  /** The control token of the emulator at `url` (CDP_EMULATOR_CONTROL_TOKEN). */
  controlToken: string | null;
  junitFile: string | null;
  jsonFile: string | null;
  timeoutSeconds: number;
  /** The program and its arguments, run without a shell. */
  command: string[];
}

/** The flags as commander hands them over, plus the words after `--`. */
export interface RunFlags {
  scenario?: string[];
  url?: string;
  junit?: string;
  json?: string;
  timeout?: string;
}

export const DEFAULT_TIMEOUT_SECONDS = 300;

/**
 * A scenario is named by a file when it ends in a scenario extension or holds a path separator:
 * scenario names are lower-case words and dashes, so `flaky-5xx` never means a file.
 */
export function isScenarioFile(ref: string): boolean {
  return /\.(ya?ml|json)$/i.test(ref) || ref.includes("/") || ref.includes("\\");
}

/** Checks the flags; a mistake the user must fix is a StartupError (exit 2). */
export function parseRunOptions(flags: RunFlags, command: readonly string[], env: NodeJS.ProcessEnv): RunOptions {
  if (command.length === 0 || command[0] === "") {
    throw new StartupError("config", "run needs a command after --, e.g. cdp-emulator run --scenario flaky-5xx -- npm test");
  }
  const timeoutText = flags.timeout ?? String(DEFAULT_TIMEOUT_SECONDS);
  const timeoutSeconds = /^\d+(\.\d+)?$/.test(timeoutText) ? Number(timeoutText) : NaN;
  if (!(timeoutSeconds > 0 && timeoutSeconds <= 86_400)) {
    throw new StartupError("config", `--timeout "${timeoutText}" must be a number of seconds above 0, at most 86400`);
  }
  let url: string | null = null;
  if (flags.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(flags.url);
    } catch {
      throw new StartupError("config", `--url "${flags.url}" is not a URL; give the emulator's root, e.g. http://127.0.0.1:4010`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new StartupError("config", `--url "${flags.url}" must be an http or https URL`);
    }
    url = flags.url.replace(/\/+$/, "");
  }
  const scenarios = flags.scenario ?? [];
  const files = scenarios.filter(isScenarioFile);
  if (url !== null && files.length > 0) {
    // The server at --url reads its own scenario folder; a file here is not one it can load.
    throw new StartupError(
      "config",
      `--scenario ${files[0] ?? ""}: a scenario file needs the run's own emulator; with --url, name a scenario that emulator has (GET /_emulator/scenarios)`,
    );
  }
  return {
    scenarios: [...new Set(scenarios)],
    url,
    controlToken: url === null ? null : (env["CDP_EMULATOR_CONTROL_TOKEN"] ?? null),
    junitFile: flags.junit ?? null,
    jsonFile: flags.json ?? null,
    timeoutSeconds,
    command: [...command],
  };
}
