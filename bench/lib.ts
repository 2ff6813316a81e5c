/**
 * What the benchmarks share: starting a server as its own process, reading its memory, and
 * summarising samples. Benchmarks print figures; they are never timed unit tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** spawn → the line that announced the port, in ms. */
  readyMs: number;
  stop(): Promise<number | null>;
}

/**
 * Spawns a server and waits for `pattern` (which must capture the port) on its stdout. The
 * server runs in its own process so the load generator never shares its event loop.
 */
export async function spawnServer(options: { args: string[]; pattern: RegExp; env?: NodeJS.ProcessEnv }): Promise<ServerProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, options.args, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...options.env } });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = options.pattern.exec(output);
      if (match?.[1]) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`${options.args.join(" ")} exited (${code}) before it was ready`)));
  });
  const readyMs = performance.now() - started;
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    readyMs,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
}

/** The emulator as its built CLI, on a free port, with the given database. */
export function spawnEmulator(options: { db: string; extraArgs?: string[] }): Promise<ServerProcess> {
  return spawnServer({
    args: [CLI, "start", "--host", "127.0.0.1", "--port", "0", "--db", options.db, "--log-level", "silent", ...(options.extraArgs ?? [])],
    pattern: /ready at http:\/\/127\.0\.0\.1:(\d+)/,
  });
}

/** Resident set size of a process in MB, from /proc (Linux). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; resolves to the peak seen. */
export function sampleRss(pid: number, everyMs = 25): { stop(): number } {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // The process ended between samples; the peak so far stands.
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      try {
        peak = Math.max(peak, rssMb(pid));
      } catch {
        // as above
      }
      return peak;
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** A GitHub-flavoured Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export const fixed = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");

/** GET until 200 or the deadline; resolves to the ms it took. */
export async function waitForHealthy(url: string, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    try {
      const response = await fetch(`${url}/_emulator/health`);
      await response.arrayBuffer();
      if (response.status === 200) return performance.now() - started;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > timeoutMs) throw new Error(`${url} not healthy within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
