/**
 * Single-upsert latency over HTTP on loopback, in a plain sequential loop.
 *
 * Acceptance target: the median POST /public/v1/records/profiles/upsert takes under 2 ms.
 *
 *   npm run bench:single                 # N = 5000 measured requests per phase
 *   npm run bench:single -- 20000        # or --n 20000, --n=20000, -n 20000, or BENCH_N=20000
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
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { countFromArgs, machineLine, ms, printTable, runBench, startInProcess, summarize, timedRequest, warmupFromEnv, type Exchange } from "./lib.js";

const TARGET_MEDIAN_MS = 2;
const DISTINCT_EMAILS = 1000;
const UPSERT_PATH = "/public/v1/records/profiles/upsert";
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

async function runPhase(spec: PhaseSpec, dir: string, warmup: number, count: number): Promise<PhaseResult> {
  const emulator = await startInProcess(join(dir, `${spec.name}.sqlite`));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const result: PhaseResult = {
    name: spec.name,
    samples: [],
    wallMs: 0,
    failures: [],
    failureCount: 0,
    connectionsOpened: 0,
  };
  const fail = (failure: Failure): void => {
    result.failureCount += 1;
    if (result.failures.length < FAILURES_SHOWN) result.failures.push(failure);
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
        exchange = await timedRequest(agent, { port: emulator.port, method: "POST", path: UPSERT_PATH, body, headers });
      } catch (error) {
        fail({ index: sequence, status: null, detail: (error as Error).message });
        continue;
      }
      if (!exchange.reusedSocket) result.connectionsOpened += 1;
      if (exchange.status !== 200) {
        fail({ index: sequence, status: exchange.status, detail: exchange.body.slice(0, 300) });
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

async function main(): Promise<number> {
  const count = countFromArgs({ usage: "npm run bench:single -- [N | --n N]", fallback: 5000 });
  const warmup = warmupFromEnv(500);
  const phases: PhaseSpec[] = [
    { name: "plain", idempotencyKey: false },
    { name: "idempotency-key", idempotencyKey: true },
  ];
  console.log(
    `single upsert: POST ${UPSERT_PATH}, sequential, 1 keep-alive socket, ${warmup} warm-up + ${count} measured per phase`,
  );
  console.log(machineLine());
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
  printTable(
    ["phase", "count", "median ms", "p90 ms", "p99 ms", "max ms", "req/s"],
    rows.map((row) => [
      row.name,
      String(row.summary.count),
      ms(row.summary.median),
      ms(row.summary.p90),
      ms(row.summary.p99),
      ms(row.summary.max),
      Number.isFinite(row.perSecond) ? row.perSecond.toFixed(0) : "-",
    ]),
  );
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

runBench(main);
