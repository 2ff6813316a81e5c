import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, join, resolve } from "node:path";
import { bundledScenariosDir } from "../config.js";
import type { AuditReport } from "../domain/control-plane.js";
import { StartupError } from "../domain/startup-error.js";
import { PUBLIC_BASE_PATH } from "../server.js";
import { ControlClient, ControlPlaneError } from "../testing/control-client.js";
import { startEmulator, type StartedEmulator } from "../testing/start-emulator.js";
import { isScenarioFile, type RunOptions } from "./args.js";
import { commandProblem, runCommand, type CommandOutcome } from "./command.js";
import { checkNoAcknowledgedWriteLost, checkNoWriteStoredTwice, type CheckResult } from "./data-checks.js";

/** One scenario's certification: how the command ended, the audit, and every verdict. */
export interface ScenarioOutcome {
  scenario: string;
  workspace: string;
  command: CommandOutcome;
  /** The command's own testcase first, then the audit's rules, then the data checks. */
  checks: CheckResult[];
  audit: AuditReport;
  passed: boolean;
}

export interface RunResult {
  emulator: string;
  command: string[];
  scenarios: ScenarioOutcome[];
  passed: boolean;
}

export const COMMAND_CHECK_ID = "command";

/** How long a run waits, after the command, for the batch jobs it left queued or processing. */
const JOBS_SETTLE_MS = 30_000;
const JOBS_POLL_MS = 100;
const MAX_JOURNAL_ENTRIES = 10_000;

/**
 * `cdp-emulator run`: for each scenario, a fresh workspace and token, the scenario applied to that
 * workspace only, the command run against it, then the audit and the data checks of what it did.
 * `progress` gets one line per step, for a person watching.
 */
export async function certify(options: RunOptions, progress: (line: string) => void): Promise<RunResult> {
  const own = options.url === null ? await startOwnEmulator(options.scenarios) : null;
  try {
    const url = own?.emulator.url ?? options.url ?? "";
    const control = new ControlClient(url, { controlToken: own === null ? options.controlToken : null });
    const names = await scenarioNames(control, options.scenarios, url);
    const scenarios: ScenarioOutcome[] = [];
    for (const name of names) scenarios.push(await certifyScenario({ control, url, name, options, progress }));
    return { emulator: url, command: options.command, scenarios, passed: scenarios.every((outcome) => outcome.passed) };
  } finally {
    await own?.emulator.stop();
    if (own?.scenariosDir !== undefined) rmSync(own.scenariosDir, { recursive: true, force: true });
  }
}

/**
 * An in-memory emulator on a free port, silent. Scenario files given by path join the bundled
 * ones in a scratch folder, so the emulator checks them as it checks its own (a bad file is a
 * StartupError naming it) and they can be applied by name like the rest.
 */
async function startOwnEmulator(refs: readonly string[]): Promise<{ emulator: StartedEmulator; scenariosDir?: string }> {
  const files = refs.filter(isScenarioFile).map((ref) => resolve(ref));
  if (files.length === 0) return { emulator: await startEmulator() };
  for (const file of files) {
    if (!existsSync(file) || !statSync(file).isFile()) throw new StartupError("scenario", `--scenario ${file}: no such file`);
  }
  const dir = mkdtempSync(join(tmpdir(), "cdp-emulator-run-"));
  try {
    const bundled = bundledScenariosDir();
    for (const entry of readdirSync(bundled)) copyFileSync(join(bundled, entry), join(dir, entry));
    for (const file of files) copyFileSync(file, join(dir, basename(file)));
    return { emulator: await startEmulator({ scenariosDir: dir }), scenariosDir: dir };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The scenarios to run, by name: those asked for (checked against the emulator's), else all of them. */
async function scenarioNames(control: ControlClient, refs: readonly string[], url: string): Promise<string[]> {
  let known: string[];
  try {
    known = (await control.scenarios.list()).scenarios.map((scenario) => scenario.name);
  } catch (error) {
    if (error instanceof TypeError) throw new StartupError("config", `--url ${url}: no emulator answers there (${String((error.cause as Error | undefined)?.message ?? error.message)})`);
    throw error;
  }
  if (refs.length === 0 && known.length === 0) throw new StartupError("scenario", `the emulator at ${url} has no scenarios to run under`);
  if (refs.length === 0) return known;
  const names = refs.map((ref) => (isScenarioFile(ref) ? basename(ref, extname(ref)) : ref));
  const unknown = names.find((name) => !known.includes(name));
  if (unknown !== undefined) throw new StartupError("scenario", `--scenario ${unknown}: no such scenario; the emulator has ${known.join(", ") || "none"}`);
  return names;
}

async function certifyScenario(input: {
  control: ControlClient;
  url: string;
  name: string;
  options: RunOptions;
  progress: (line: string) => void;
}): Promise<ScenarioOutcome> {
  const { control, url, name, options, progress } = input;
  const { workspace, token } = await control.workspaces.create();
  const limitsBefore = await control.getRateLimits();
  const clockBefore = await control.clock.get();
  const applied = await control.scenarios.apply(name, { workspace });
  progress(`${name}: workspace ${workspace}, running ${options.command.join(" ")}`);
  let command: CommandOutcome;
  try {
    command = await runCommand({
      command: options.command,
      timeoutSeconds: options.timeoutSeconds,
      env: { CDP_BASE_URL: `${url}${PUBLIC_BASE_PATH}`, CDP_TOKEN: token, CDP_WORKSPACE: workspace, CDP_EMULATOR_URL: url, CDP_SCENARIO: name },
    });
  } finally {
    // What the scenario changed beyond its own workspace goes back, so the next scenario (or a
    // run sharing this emulator) starts from where this one found it.
    for (const id of applied.faults) await control.faults.remove(id).catch(ignoreNotFound);
    if (JSON.stringify(applied.rateLimits) !== JSON.stringify(limitsBefore)) await control.setRateLimits(limitsBefore);
    if (applied.clock.frozen !== clockBefore.frozen) await (clockBefore.frozen ? control.clock.freeze() : control.clock.unfreeze());
  }
  const problem = commandProblem(command, options.timeoutSeconds);
  progress(`${name}: the command ${problem ?? "exited 0"} (${(command.durationMs / 1000).toFixed(1)} s); auditing`);
  await settleJobs(control, workspace);

  let audit: AuditReport;
  try {
    audit = await control.audit({ workspace });
  } catch (error) {
    if (error instanceof ControlPlaneError && error.status === 404) {
      throw new Error(`the emulator at ${url} has no audit (GET /_emulator/audit answered 404): ${error.message}`, { cause: error });
    }
    throw error;
  }
  const entries = await control.journal.list({ workspace, limit: MAX_JOURNAL_ENTRIES });
  const commandCheck: CheckResult = {
    id: COMMAND_CHECK_ID,
    title: `The command exits 0 within ${options.timeoutSeconds} s`,
    source: "cdp-emulator run",
    verdict: problem === null ? "passed" : "failed",
    exercised: 1,
    findings: problem === null ? [] : [{ message: `${options.command.join(" ")} ${problem}`, attempts: [] }],
  };
  const checks: CheckResult[] = [
    commandCheck,
    ...audit.rules,
    await checkNoAcknowledgedWriteLost({ control, workspace, entries }),
    checkNoWriteStoredTwice({ audit, entries }),
  ];
  return { scenario: name, workspace, command, checks, audit, passed: checks.every((check) => check.verdict !== "failed") };
}

/** Waits until the workspace has no queued or processing job, or JOBS_SETTLE_MS pass. */
async function settleJobs(control: ControlClient, workspace: string): Promise<void> {
  const deadline = performance.now() + JOBS_SETTLE_MS;
  while (performance.now() < deadline) {
    const [queued, processing] = await Promise.all([
      control.jobs.list({ workspace, state: "queued", limit: 1 }),
      control.jobs.list({ workspace, state: "processing", limit: 1 }),
    ]);
    if (queued.length === 0 && processing.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, JOBS_POLL_MS));
  }
}

function ignoreNotFound(error: unknown): void {
  if (error instanceof ControlPlaneError && error.status === 404) return;
  throw error;
}
