/**
 * What the benchmarks share: their arguments, starting a server (as its own process or in this
 * one), timed requests, reading a process's memory, and summarising samples. Benchmarks print
 * figures; they are never timed unit tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { Agent, request, type IncomingHttpHeaders } from "node:http";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

/** The emulator's default token, which every bench writes with. */
export const TOKEN = "dev-token";
export const JSON_HEADERS = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
/** Quotas far above any load a bench makes, so it measures the write path, not 429s. */
export const UNLIMITED_RATE_ARGS = ["--single-rate", "1000000000/1", "--batch-rate", "1000000000/1"];

/** A whole number from text (an argument, an environment variable), or an error naming it. */
export function wholeNumber(text: string, options: { name: string; min: number; max?: number }): number {
  const { name, min, max } = options;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? (min === 0 ? "a whole number" : `a whole number of at least ${min}`) : `a whole number from ${min} to ${max}`;
    throw new Error(`${name} must be ${range} (got "${text}")`);
  }
  return value;
}

/**
 * A bench's one count (requests, iterations, records), read with node:util's parseArgs from its
 * arguments as `N`, `--n N`, `--n=N` or `-n N`; else from BENCH_N; else `fallback`. Anything else
 * on the command line is refused with `usage`.
 */
export function countFromArgs(options: { usage: string; fallback: number; max?: number; argv?: readonly string[]; env?: NodeJS.ProcessEnv }): number {
  const { usage, fallback, max } = options;
  const env = options.env ?? process.env;
  let parsed: { values: { n?: string | undefined }; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...(options.argv ?? process.argv.slice(2))], options: { n: { type: "string", short: "n" } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new Error(`${(error as Error).message}; usage: ${usage}`);
  }
  const { values, positionals } = parsed;
  const given = [...(values.n === undefined ? [] : [values.n]), ...positionals];
  if (given.length > 1) throw new Error(`give the count once; usage: ${usage}`);
  const [count] = given;
  if (count !== undefined) return wholeNumber(count, { name: values.n === undefined ? "N" : "--n", min: 1, max });
  const fromEnv = env["BENCH_N"];
  return fromEnv === undefined || fromEnv === "" ? fallback : wholeNumber(fromEnv, { name: "BENCH_N", min: 1, max });
}

/** For a bench set through its environment only: parseArgs with no options, so any argument is refused with `usage`. */
export function refuseArgs(usage: string, argv: readonly string[] = process.argv.slice(2)): void {
  try {
    parseArgs({ args: [...argv], options: {}, strict: true });
  } catch (error) {
    throw new Error(`${(error as Error).message}; usage: ${usage}`);
  }
}

/** BENCH_WARMUP (warm-up rounds, never counted), else `fallback`. */
export function warmupFromEnv(fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = env["BENCH_WARMUP"];
  return fromEnv === undefined || fromEnv === "" ? fallback : wholeNumber(fromEnv, { name: "BENCH_WARMUP", min: 0 });
}

/** A running emulator, wherever it runs. */
export interface RunningEmulator {
  port: number;
  stop(): Promise<void>;
}

/**
 * `createEmulator` in this process (from source, via tsx: what `--cpu-prof` wants) on a free
 * 127.0.0.1 port, logging silent, its quotas raised as `UNLIMITED_RATE_ARGS` raise them. Imported
 * only when called, so benches that spawn the built CLI never load the server into themselves.
 */
export async function startInProcess(db: string): Promise<RunningEmulator> {
  const { createEmulator } = await import("../src/server.js");
  const emulator = createEmulator({
    port: 0,
    host: "127.0.0.1",
    db,
    logLevel: "silent",
    rateLimits: {
      single: { limit: 1_000_000_000, windowSeconds: 1 },
      batch: { limit: 1_000_000_000, windowSeconds: 1 },
    },
  });
  const { port } = await emulator.start();
  return { port, stop: () => emulator.stop() };
}

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

/** Nearest-rank: the smallest value with at least p% of the (ascending) samples at or below it. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export interface Summary {
  count: number;
  median: number;
  min: number;
  p90: number;
  p99: number;
  max: number;
}

/** Count, median, extremes and tail of some samples (NaN among them left out). */
export function summarize(values: readonly number[]): Summary {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  return {
    count: sorted.length,
    median: percentile(sorted, 50),
    min: sorted[0] ?? Number.NaN,
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** Milliseconds for a table: `digits` decimals, "-" when there is no figure. */
export const ms = (value: number, digits = 3): string => (Number.isNaN(value) ? "-" : value.toFixed(digits));

/** A plain-text table on stdout: the first column left-aligned, the figures right-aligned. */
export function printTable(header: readonly string[], lines: readonly (readonly string[])[]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? "").length)));
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join("  ");
  console.log(format(header));
  console.log(widths.map((width) => "-".repeat(width)).join("  "));
  for (const line of lines) console.log(format(line));
}

/** One request's answer, read whole, and how long it took. */
export interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** False when the request opened a connection of its own. */
  reusedSocket: boolean;
  ms: number;
}

/**
 * One request with the bench token on a keep-alive agent, timed with hrtime from just before
 * http.request() until the response's last byte; a body goes as JSON.
 */
export function timedRequest(
  agent: Agent,
  spec: { port: number; method: "GET" | "POST"; path: string; body?: Buffer | string; headers?: Record<string, string> },
): Promise<Exchange> {
  const { body } = spec;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      {
        agent,
        host: "127.0.0.1",
        port: spec.port,
        method: spec.method,
        path: spec.path,
        headers: {
          Authorization: `Bearer ${TOKEN}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)) }),
          ...spec.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.once("error", reject);
        res.once("end", () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), reusedSocket: req.reusedSocket, ms });
        });
      },
    );
    req.once("error", reject);
    if (body === undefined) req.end();
    else req.end(body);
  });
}

/** The machine under the figures: Node, cores and load average. */
export function machineLine(): string {
  const [load1, load5] = loadavg();
  return `node ${process.version}, ${cpus().length} CPU(s), load average ${ms(load1 ?? Number.NaN)} / ${ms(load5 ?? Number.NaN)} (1 / 5 min)`;
}

/** Runs a bench: its exit code is what `main` resolves to, or 1 with the error's message on stderr. */
export function runBench(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
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
