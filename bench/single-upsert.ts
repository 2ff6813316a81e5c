/**
 * Single-upsert latency over HTTP on loopback, in a plain sequential loop.
 *
 * Acceptance target: the median POST /public/v1/records/profiles/upsert takes under 2 ms.
 *
 *   npm run bench:single                 # N = 5000 measured requests per phase
 *   npm run bench:single -- 20000        # or --n 20000, --n=20000, or BENCH_N=20000
 *   BENCH_WARMUP=1000 npm run bench:single
 *
 * The emulator runs in this process (createEmulator on a free 127.0.0.1 port, a SQLite file in
 * a temporary directory, logging silent). The client is node:http with one keep-alive socket, so
 * each measurement is one request/response round trip on an open connection: no fetch/undici
 * overhead, no TCP handshake. Each request's wall time is taken with process.hrtime.bigint() from
 * just before http.request() until the response's last byte has been read.
 *
 * Two phases, each on a fresh emulator and database so both see the same insert/merge mix:
 *   plain            no Idempotency-Key
 *   idempotency-key  a unique Idempotency-Key per request (what the guides recommend)
 *
 * Exit code: 0 whatever the figures (this is a benchmark, not a test); 1 if any request failed.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request, type IncomingHttpHeaders } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createEmulator } from "../src/server.js";

const TARGET_MEDIAN_MS = 2;
const DISTINCT_EMAILS = 1000;
const UPSERT_PATH = "/public/v1/records/profiles/upsert";
const TOKEN = "dev-token";
const FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"] as const;
/** How many failed requests are described in full; the rest are only counted. */
const FAILURES_SHOWN = 3;

interface PhaseSpec {
  name: string;
  idempotencyKey: boolean;
}

interface Sample {
  ms: number;
  result: string;
}

interface Failure {
  index: number;
  status: number | null;
  detail: string;
}

interface PhaseResult {
  name: string;
  samples: Sample[];
  wallMs: number;
  failures: Failure[];
  failureCount: number;
  connectionsOpened: number;
}

interface Summary {
  count: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
}

interface Exchange {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
  ms: number;
}

function positiveInteger(value: string, name: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new Error(`${name} must be a whole number of at least 1 (got "${value}")`);
  }
  return Number(value);
}

function nonNegativeInteger(value: string, name: string): number {
  if (!/^\d+$/.test(value.trim())) throw new Error(`${name} must be a whole number (got "${value}")`);
  return Number(value);
}

/** N from argv (`5000`, `--n 5000`, `--n=5000`), else BENCH_N, else 5000. */
function readCount(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? "";
    if (arg === "--n" || arg === "-n") return positiveInteger(argv[index + 1] ?? "", "--n");
    if (arg.startsWith("--n=")) return positiveInteger(arg.slice("--n=".length), "--n");
    if (/^\d+$/.test(arg)) return positiveInteger(arg, "the request count");
    throw new Error(`unknown argument "${arg}"; usage: npm run bench:single -- [N | --n N]`);
  }
  const fromEnv = env["BENCH_N"];
  return fromEnv === undefined || fromEnv === "" ? 5000 : positiveInteger(fromEnv, "BENCH_N");
}

function readWarmup(env: NodeJS.ProcessEnv): number {
  const fromEnv = env["BENCH_WARMUP"];
  return fromEnv === undefined || fromEnv === "" ? 500 : nonNegativeInteger(fromEnv, "BENCH_WARMUP");
}

/** The i-th request body: 1000 distinct emails, so the first pass inserts and later ones merge. */
function upsertBody(sequence: number): string {
  const person = sequence % DISTINCT_EMAILS;
  return JSON.stringify({
    record: {
      email: `user${person}@example.com`,
      first_name: FIRST_NAMES[person % FIRST_NAMES.length],
      tier: "gold",
      last_seen_at: "2026-04-21T15:30:00Z",
    },
    matchKey: "email",
  });
}

/** One POST on the shared keep-alive agent, timed from request() to the response's last byte. */
function post(agent: Agent, port: number, body: string, extraHeaders: Record<string, string>): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method: "POST",
        path: UPSERT_PATH,
        headers: {
          Authorization: `Bearer ${TOKEN}`,
          "Content-Type": "application/json",
          "Content-Length": String(Buffer.byteLength(body)),
          ...extraHeaders,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.once("error", reject);
        res.once("end", () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            reusedSocket: req.reusedSocket,
            ms,
          });
        });
      },
    );
    req.once("error", reject);
    req.end(body);
  });
}

async function runPhase(spec: PhaseSpec, dir: string, warmup: number, count: number): Promise<PhaseResult> {
  const emulator = createEmulator({
    port: 0,
    host: "127.0.0.1",
    db: join(dir, `${spec.name}.sqlite`),
    logLevel: "silent",
    // Quotas are only reported today; should enforcement land, this loop (well over 1000 req/s)
    // must still measure the write path, not 429s.
    rateLimits: {
      single: { limit: 1_000_000_000, windowSeconds: 1 },
      batch: { limit: 1_000_000_000, windowSeconds: 1 },
    },
  });
  const { port } = await emulator.start();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const result: PhaseResult = {
    name: spec.name,
    samples: [],
    wallMs: 0,
    failures: [],
    failureCount: 0,
    connectionsOpened: 0,
  };
  try {
    let loopStarted = 0n;
    for (let sequence = 0; sequence < warmup + count; sequence += 1) {
      if (sequence === warmup) loopStarted = process.hrtime.bigint();
      const measured = sequence >= warmup;
      const body = upsertBody(sequence);
      const headers: Record<string, string> = spec.idempotencyKey ? { "Idempotency-Key": randomUUID() } : {};
      let exchange: Exchange;
      try {
        exchange = await post(agent, port, body, headers);
      } catch (error) {
        result.failureCount += 1;
        if (result.failures.length < FAILURES_SHOWN) {
          result.failures.push({ index: sequence, status: null, detail: (error as Error).message });
        }
        continue;
      }
      if (!exchange.reusedSocket) result.connectionsOpened += 1;
      if (exchange.status !== 200) {
        result.failureCount += 1;
        if (result.failures.length < FAILURES_SHOWN) {
          result.failures.push({ index: sequence, status: exchange.status, detail: exchange.body.slice(0, 300) });
        }
        continue;
      }
      if (measured) {
        const upsertResult = exchange.headers["x-emulator-upsert-result"];
        result.samples.push({ ms: exchange.ms, result: typeof upsertResult === "string" ? upsertResult : "unknown" });
      }
    }
    if (count > 0) result.wallMs = Number(process.hrtime.bigint() - loopStarted) / 1e6;
  } finally {
    agent.destroy();
    await emulator.stop();
  }
  return result;
}

/** Nearest-rank percentile of an ascending array: the smallest value with at least q of the data at or below it. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    median: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

const ms = (value: number): string => (Number.isNaN(value) ? "-" : value.toFixed(3));

function printTable(rows: readonly { name: string; summary: Summary; perSecond: number }[]): void {
  const header = ["phase", "count", "median ms", "p90 ms", "p99 ms", "max ms", "req/s"];
  const lines = rows.map((row) => [
    row.name,
    String(row.summary.count),
    ms(row.summary.median),
    ms(row.summary.p90),
    ms(row.summary.p99),
    ms(row.summary.max),
    Number.isFinite(row.perSecond) ? row.perSecond.toFixed(0) : "-",
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? "").length)));
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join("  ");
  console.log(format(header));
  console.log(widths.map((width) => "-".repeat(width)).join("  "));
  for (const line of lines) console.log(format(line));
}

async function main(): Promise<number> {
  const count = readCount(process.argv.slice(2), process.env);
  const warmup = readWarmup(process.env);
  const phases: PhaseSpec[] = [
    { name: "plain", idempotencyKey: false },
    { name: "idempotency-key", idempotencyKey: true },
  ];
  const [load1, load5] = loadavg();
  console.log(
    `single upsert: POST ${UPSERT_PATH}, sequential, 1 keep-alive socket, ${warmup} warm-up + ${count} measured per phase`,
  );
  console.log(
    `node ${process.version}, ${cpus().length} CPU(s), ` +
      `load average ${ms(load1 ?? Number.NaN)} / ${ms(load5 ?? Number.NaN)} (1 / 5 min)`,
  );
  console.log("");

  const dir = mkdtempSync(join(tmpdir(), "cdp-emulator-bench-"));
  const results: PhaseResult[] = [];
  try {
    for (const phase of phases) results.push(await runPhase(phase, dir, warmup, count));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const rows = results.map((result) => ({
    name: result.name,
    summary: summarize(result.samples.map((sample) => sample.ms)),
    perSecond: result.wallMs > 0 && result.samples.length > 0 ? (result.samples.length / result.wallMs) * 1000 : Number.NaN,
  }));
  printTable(rows);
  console.log("");

  for (const result of results) {
    const byOutcome = new Map<string, number[]>();
    for (const sample of result.samples) {
      const list = byOutcome.get(sample.result) ?? [];
      list.push(sample.ms);
      byOutcome.set(sample.result, list);
    }
    const parts = [...byOutcome].map(
      ([outcome, values]) => `${values.length} ${outcome} (median ${ms(summarize(values).median)} ms)`,
    );
    console.log(
      `${result.name}: ${parts.join(", ") || "no successful requests"}; ${result.connectionsOpened} connection(s) opened`,
    );
  }

  let failed = 0;
  for (const result of results) {
    if (result.failureCount === 0) continue;
    failed += result.failureCount;
    console.error(`${result.name}: ${result.failureCount} request(s) failed (warm-up included); first ones:`);
    for (const failure of result.failures) {
      const status = failure.status === null ? "no response" : `HTTP ${failure.status}`;
      console.error(`  #${failure.index}: ${status}: ${failure.detail}`);
    }
  }
  console.log("");

  const verdict = (median: number): string => (median < TARGET_MEDIAN_MS ? "PASS" : "FAIL");
  const plain = rows.find((row) => row.name === "plain")?.summary.median ?? Number.NaN;
  const keyed = rows.find((row) => row.name === "idempotency-key")?.summary.median ?? Number.NaN;
  console.log(`with Idempotency-Key: median ${ms(keyed)} ms (target < ${TARGET_MEDIAN_MS} ms): ${verdict(keyed)}`);
  console.log(`single upsert median ${ms(plain)} ms (target < ${TARGET_MEDIAN_MS} ms): ${verdict(plain)}`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
