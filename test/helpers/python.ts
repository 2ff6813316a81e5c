import { spawn, spawnSync } from "node:child_process";

/**
 * Candidate Python interpreters, in order: the one the user names (CDP_EMULATOR_PYTHON), `python3`
 * on PATH, then Debian's /usr/bin/python3 (where `apt-get install python3-requests` puts
 * `requests`, when PATH leads to a Python without it).
 */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = [env["CDP_EMULATOR_PYTHON"], "python3", "/usr/bin/python3"];
  return [...new Set(candidates.filter((path): path is string => typeof path === "string" && path !== ""))];
}

/**
 * The first candidate that runs and imports `requests` (the HTTP library the vendor's guides use).
 * Resolves `{ python }`, or `{ reason }` saying what was tried, so a suite can skip out loud where
 * none can, and fail under CI=true.
 */
export function findPythonWithRequests(candidates: readonly string[] = pythonCandidates()): { python: string } | { reason: string } {
  const tried: string[] = [];
  for (const python of candidates) {
    const probe = spawnSync(python, ["-c", "import requests"], { encoding: "utf8", timeout: 15_000 });
    if (probe.error) {
      tried.push(`${python} (${(probe.error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : probe.error.message})`);
      continue;
    }
    if (probe.status === 0) return { python };
    const lastLine = probe.stderr.trim().split("\n").at(-1) ?? `exit ${String(probe.status)}`;
    tried.push(`${python} (${lastLine})`);
  }
  return { reason: `no python3 with the requests library; tried ${tried.join("; ")}` };
}

/**
 * For a suite that runs Python clients: the interpreter, or null after one clear line on stderr
 * saying what is skipped and how to run it. Under CI=true a missing interpreter throws instead:
 * CI never skips the Python clients silently.
 */
export function pythonOrSkip(
  suite: string,
  options: { env?: NodeJS.ProcessEnv; candidates?: readonly string[]; say?: (line: string) => void } = {},
): string | null {
  const env = options.env ?? process.env;
  const found = findPythonWithRequests(options.candidates ?? pythonCandidates(env));
  if ("python" in found) return found.python;
  const message = `${suite}: ${found.reason}. Install it (apt-get install python3-requests, or pip install requests) or point CDP_EMULATOR_PYTHON at a python3 that has it, then run npm test again.`;
  if (env["CI"] === "true" || env["CI"] === "1") throw new Error(`${message} (CI=true: a missing Python is a failure)`);
  (options.say ?? ((line) => process.stderr.write(line)))(`SKIPPED ${message}\n`);
  return null;
}

export interface PythonRun {
  /** The exit code; null when a signal ended it (the timeout's, for one). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Real time from spawn to exit. */
  elapsedMs: number;
}

/**
 * Runs a Python script as a child process, asynchronously (an emulator in this process must keep
 * answering it), with `env` added to this process's environment; kills it after `timeoutMs`.
 */
export function runPython(
  python: string,
  script: string,
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<PythonRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, ...args], {
      env: { ...process.env, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}
