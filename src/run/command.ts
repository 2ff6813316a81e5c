import { spawn } from "node:child_process";

/** How the command under test ended. */
export interface CommandOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Killed because it outlived `--timeout`. */
  timedOut: boolean;
  durationMs: number;
  /** Why it could not be started at all (no such program, not executable); null when it ran. */
  startError: string | null;
}

/** How long a command killed for its timeout has to exit on SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 5_000;

/**
 * Runs the command without a shell (its words exactly as given after `--`), with stdio
 * inherited so its output reads as if it ran alone, and kills it once `timeoutSeconds` pass.
 */
export function runCommand(options: { command: readonly string[]; env: Record<string, string>; timeoutSeconds: number }): Promise<CommandOutcome> {
  const [program = "", ...args] = options.command;
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: "inherit", env: { ...process.env, ...options.env } });
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
    }, options.timeoutSeconds * 1000);
    const finish = (outcome: Omit<CommandOutcome, "timedOut" | "durationMs">): void => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({ ...outcome, timedOut, durationMs: Math.round(performance.now() - startedAt) });
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      const reason = error.code === "ENOENT" ? `${program}: no such program on PATH` : `${program}: ${error.message}`;
      finish({ exitCode: null, signal: null, startError: reason });
    });
    child.once("exit", (exitCode, signal) => {
      finish({ exitCode, signal, startError: null });
    });
  });
}

/** One line on how the command ended, or null when it passed (exit 0 in time). */
export function commandProblem(outcome: CommandOutcome, timeoutSeconds: number): string | null {
  if (outcome.startError !== null) return `could not be started: ${outcome.startError}`;
  if (outcome.timedOut) return `killed after ${timeoutSeconds} s (--timeout)`;
  if (outcome.signal !== null) return `ended by ${outcome.signal}`;
  return outcome.exitCode === 0 ? null : `exited ${outcome.exitCode ?? "?"}`;
}
