/**
 * Why the emulator (or one of its commands) cannot start, in one line a person can act on. One
 * class for every cause, so the CLI prints `cdp-emulator: <message>` and exits with `exitCode`
 * without knowing which part refused: 2 for input the user must fix (flags, environment, schema
 * and scenario files, seed data, Pact files), 1 for the machine's state (a database another
 * process holds).
 */
export type StartupProblem = "config" | "schemas" | "scenario" | "seed-data" | "database-in-use" | "pact-input";

export class StartupError extends Error {
  override readonly name = "StartupError";
  readonly problem: StartupProblem;
  readonly exitCode: 1 | 2;

  constructor(problem: StartupProblem, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.problem = problem;
    this.exitCode = problem === "database-in-use" ? 1 : 2;
  }
}
