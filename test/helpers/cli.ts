import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll } from "vitest";
import { tempDirs } from "./emulator.js";

/*
 * The real command line as a child process, the one way every test that starts it spawns it,
 * waits for its ready line, waits for its exit and kills it. `npm test` builds dist/ before
 * vitest runs; on its own, run `npm run build --silent` first.
 */

/** The built CLI, run as `node dist/cli.js …`. */
export const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/** The line the CLI's `start` prints once it serves: `cdp-emulator <version> ready at <url> (…)`. */
export const READY_LINE = /^cdp-emulator \S+ ready at (http:\/\/\S+) /;

const READY_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 15_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WatchedCli {
  readonly child: ChildProcess;
  /** The URL of the ready line, once stdout has the whole line; rejects if the process exits first or `timeoutMs` passes. */
  readonly ready: Promise<string>;
  /** Settles once the process has exited and its stdout and stderr are drained. */
  readonly exited: Promise<Exit>;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
}

export interface RunningCli extends WatchedCli {
  url: string;
  port: number;
  readyLine: string;
}

/** Processes watched in this test file and not yet exited: what `cliPerTest` kills after each test. */
const alive = new Set<WatchedCli>();

/** `promise`, or a rejection naming `what()` once `ms` pass. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The test runner's environment without any CDP_EMULATOR_* setting (as a user's shell has), plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("CDP_EMULATOR_")) env[name] = value;
  return { ...env, ...extra };
}

/**
 * Watches a started emulator process (the CLI, the installed bin, `npm start`, a shell running
 * one) for its ready line and its exit.
 */
export function watchCli(child: ChildProcess, options: { timeoutMs?: number } = {}): WatchedCli {
  const timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
  let out = "";
  let err = "";
  let all = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => ((out += chunk), (all += chunk)));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => ((err += chunk), (all += chunk)));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once("error", reject);
    // 'close' rather than 'exit': it comes after 'exit', once stdout and stderr are drained.
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  const ready = new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const complete = out.split("\n").slice(0, -1);
      const url = complete.map((line) => READY_LINE.exec(line)?.[1]).find((found) => found !== undefined);
      if (url !== undefined) {
        child.stdout?.off("data", check);
        resolve(url);
      }
    };
    child.stdout?.on("data", check);
    void exited.then(
      (exit) => reject(new Error(`exited (${JSON.stringify(exit)}) before the ready line; output: ${all}`)),
      reject,
    );
  });
  const watched: WatchedCli = {
    child,
    ready: withTimeout(ready, timeoutMs, () => `waiting for the ready line; output: ${all}`),
    exited,
    stdout: () => out,
    stderr: () => err,
    output: () => all,
  };
  // A caller that never awaits `ready` (it only wanted `exited`) must not see an unhandled rejection.
  watched.ready.catch(() => undefined);
  alive.add(watched);
  void exited.finally(() => alive.delete(watched)).catch(() => undefined);
  return watched;
}

export interface CliOptions {
  /** The working directory, so that a default database path lands in a temporary one. */
  cwd: string;
  /** CDP_EMULATOR_* settings; none of the runner's own reach the child. */
  env?: Record<string, string>;
  /** How long `startCli` waits for the ready line, or `runCli` for the exit; 15 s when absent. */
  timeoutMs?: number;
}

/** Spawns `node dist/cli.js …args`. */
export function spawnCli(args: string[], options: CliOptions): WatchedCli {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: cliEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
  return watchCli(child, { timeoutMs: options.timeoutMs });
}

/** `node dist/cli.js …args`, resolved once it has printed its ready line. */
export async function startCli(args: string[], options: CliOptions): Promise<RunningCli> {
  const cli = spawnCli(args, options);
  const url = await cli.ready;
  const readyLine = cli.stdout().split("\n").find((line) => READY_LINE.test(line)) ?? "";
  return { ...cli, url, port: Number(new URL(url).port), readyLine };
}

/** The process's exit, bounded. */
export function exitOf(cli: WatchedCli, ms = EXIT_TIMEOUT_MS): Promise<Exit> {
  return withTimeout(cli.exited, ms, () => `waiting for exit; stdout: ${cli.stdout()} stderr: ${cli.stderr()}`);
}

/** Runs the CLI to completion (a command that ends, or a start that must refuse). */
export async function runCli(args: string[], options: CliOptions): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = spawnCli(args, options);
  const exit = await exitOf(cli, options.timeoutMs);
  return { ...exit, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** SIGKILL, resolved once the process is really gone (so it writes its database no more). */
export async function killHard(cli: WatchedCli): Promise<Exit> {
  cli.child.kill("SIGKILL");
  return exitOf(cli);
}

/**
 * For a file or describe that runs the CLI: fails at once when dist/ is not built, and after each
 * test kills every CLI still running, then removes the directories `dir()` made.
 */
export function cliPerTest(prefix = "cdp-emulator-cli-"): { dir(): string } {
  const dirs = tempDirs(prefix);
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing; run "npm run build" first (npm test does)`);
  });
  afterEach(async () => {
    await Promise.allSettled([...alive].map((cli) => killHard(cli)));
    dirs.removeAll();
  });
  return { dir: () => dirs.make() };
}
