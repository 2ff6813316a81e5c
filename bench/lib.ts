/**
 * What the benchmarks share: starting a server as its own process, reading its memory, and
 * summarising samples. Benchmarks print figures; they are never timed unit tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

/**
 * The Node flags of the bin's `#!/usr/bin/env -S node <flags>` line: benches start the emulator
 * as `node <flags> dist/cli.js`, exactly as the installed bin, `npm start` and the image do.
 */
export function cliNodeFlags(): string[] {
  const shebang = readFileSync(CLI, "utf8").split("\n", 1)[0] ?? "";
  return /^#!.*\bnode\b(.*)$/.exec(shebang)?.[1]?.trim().split(/\s+/).filter((flag) => flag !== "") ?? [];
}

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
    args: [...cliNodeFlags(), CLI, "start", "--host", "127.0.0.1", "--port", "0", "--db", options.db, "--log-level", "silent", ...(options.extraArgs ?? [])],
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
  let peak = 0;
  const sample = (): void => {
    try {
      // An exited (zombie) process has no VmRSS line: NaN, which must not poison the peak.
      const rss = rssMb(pid);
      if (Number.isFinite(rss)) peak = Math.max(peak, rss);
    } catch {
      // The process ended between samples; the peak so far stands.
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
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

/**
 * An open-loop pacer: request i is sent at start + i / rate seconds (checked every millisecond,
 * so at most a couple go out together), on a pool of keep-alive connections, whatever the
 * answers so far. autocannon's own rate limiting sends each second's share in bursts, which put
 * 12 ms of queueing into the p99 even of a bare Express app; this measures the server instead.
 */
export async function pacedLatencies(options: {
  url: string;
  rate: number;
  durationMs: number;
  request: (index: number) => { path: string; headers: Record<string, string>; body: string };
}): Promise<{ latencies: number[]; failures: number; achievedRate: number }> {
  const { Agent, request } = await import("node:http");
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL(options.url);
  const total = Math.round((options.rate * options.durationMs) / 1000);
  const latencies: number[] = [];
  let failures = 0;
  const inflight = new Set<Promise<void>>();
  const fire = (index: number): void => {
    const spec = options.request(index);
    const sent = performance.now();
    const done = new Promise<void>((resolve) => {
      const req = request(
        { agent, host: target.hostname, port: target.port, method: "POST", path: spec.path, headers: { ...spec.headers, "Content-Length": Buffer.byteLength(spec.body) } },
        (res) => {
          res.resume();
          res.on("end", () => {
            latencies.push(performance.now() - sent);
            if (res.statusCode !== 200) failures += 1;
            resolve();
          });
        },
      );
      req.on("error", () => {
        failures += 1;
        resolve();
      });
      req.end(spec.body);
    });
    inflight.add(done);
    void done.then(() => inflight.delete(done));
  };
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * options.rate) / 1000) + 1);
    while (sent < due) fire(sent++);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inflight);
  const elapsed = performance.now() - started;
  agent.destroy();
  return { latencies, failures, achievedRate: (latencies.length * 1000) / elapsed };
}
