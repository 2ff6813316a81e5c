/**
 * `npm run bench`: the emulator's performance budget, measured against two baselines in the same
 * run, printed as a table and written to bench/results.md.
 *
 *   1. single-write throughput: upserts of a 6-field profile, each with its own Idempotency-Key and
 *      email, 50 connections for 10 s (autocannon) — the emulator, a bare node:http server and a
 *      bare Express 5 app with express.json() answering the same JSON body;
 *   2. single-write latency p50/p99 at a fixed 1,000 requests/s for 10 s, open loop (our own pacer:
 *      autocannon's rate limiting sends bursts that dominate a p99), the bare Express app too;
 *   3. a 10,000-row upsert-batch: time to the 202, and to `completed` (polled every 5 ms);
 *   4. start-up: process spawn to the first successful GET /_emulator/health (median of 5);
 *   5. RSS: peak during 1 and 3, and idle (a fresh emulator, 1 s after it is healthy).
 *
 * Every server is its own process (the emulator as the built CLI, --db on a temp file, WAL), so
 * the load generator here never shares its event loop. The emulator's quotas are raised for the
 * run: the bench measures the write path, not 429s.
 *
 *   npm run bench                      # BENCH_DURATION=10 (s), BENCH_CONNECTIONS=50
 *
 * Exit code: 0 whatever the figures; 1 only if the emulator failed to run (did not start, or
 * answered any request of the load with something other than 200/202).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import {
  fixed,
  markdownTable,
  median,
  pacedLatencies,
  percentile,
  refuseArgs,
  rssMb,
  sampleRss,
  spawnEmulator,
  spawnServer,
  waitForHealthy,
  CLI,
  JSON_HEADERS,
  UNLIMITED_RATE_ARGS,
  type ServerProcess,
} from "./lib.js";

const DURATION_S = Number(process.env["BENCH_DURATION"] ?? 10);
const CONNECTIONS = Number(process.env["BENCH_CONNECTIONS"] ?? 50);
const FIXED_RATE = 1000;
const BATCH_ROWS = 10_000;
const STARTUPS = 5;
const UPSERT_PATH = "/public/v1/records/profiles/upsert";
const RESULTS = fileURLToPath(new URL("./results.md", import.meta.url));
const BASELINE = fileURLToPath(new URL("./baseline-server.ts", import.meta.url));

const TARGETS = {
  ratioNodeHttp: 0.2,
  ratioExpress: 0.9,
  p99Ms: 5,
  batchCompletedMs: 250,
  startupMs: 400,
  idleRssMb: 90,
  peakRssMb: 200,
};

let failures = 0;
const dir = mkdtempSync(join(tmpdir(), "cdp-emulator-bench-"));

/** A 6-field profile, different for every request: its own email and Idempotency-Key. */
function upsertRequests(prefix: string): autocannon.Request[] {
  let counter = 0;
  return [
    {
      method: "POST",
      path: UPSERT_PATH,
      setupRequest: (request) => {
        counter += 1;
        const record = {
          email: `${prefix}${counter}@bench.example.com`,
          first_name: "Jane",
          last_name: "Doe",
          tier: counter % 3 === 0 ? "gold" : "silver",
          country: "US",
          last_seen_at: "2026-04-21T15:30:00Z",
        };
        return {
          ...request,
          headers: { ...JSON_HEADERS, "Idempotency-Key": `${prefix}-${counter}` },
          body: JSON.stringify({ record, matchKey: "email" }),
        };
      },
    },
  ];
}

async function load(url: string, options: { connections: number; overallRate?: number; prefix: string }): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: options.connections,
    duration: DURATION_S,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    requests: upsertRequests(options.prefix),
  });
}

function checkLoad(name: string, result: autocannon.Result): void {
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) {
    failures += 1;
    process.stderr.write(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts\n`);
  }
}

async function baseline(mode: "node-http" | "express"): Promise<{ throughput: number; latency: Latency | undefined }> {
  const server = await spawnServer({ args: ["--import", "tsx", BASELINE, mode], pattern: /listening on (\d+)/ });
  try {
    await load(`${server.url}${UPSERT_PATH}`, { connections: CONNECTIONS, prefix: `warm-${mode}` }).catch(() => undefined);
    const result = await load(`${server.url}${UPSERT_PATH}`, { connections: CONNECTIONS, prefix: mode });
    // The same paced load as the emulator's, so the harness's own floor is on the table too.
    const latency = mode === "express" ? await pacedLoad(server.url, mode) : undefined;
    return { throughput: result.requests.average, latency };
  } finally {
    await server.stop();
  }
}

interface Latency {
  p50: number;
  p99: number;
  rate: number;
}

/** Upserts at exactly FIXED_RATE per second for DURATION_S, open loop (see pacedLatencies). */
async function pacedLoad(url: string, prefix: string): Promise<Latency> {
  const result = await pacedLatencies({
    url,
    rate: FIXED_RATE,
    durationMs: DURATION_S * 1000,
    request: (index) => ({
      path: UPSERT_PATH,
      headers: { ...JSON_HEADERS, "Idempotency-Key": `${prefix}-${index}` },
      body: JSON.stringify({
        record: { email: `${prefix}${index}@bench.example.com`, first_name: "Jane", last_name: "Doe", tier: "gold", country: "US", last_seen_at: "2026-04-21T15:30:00Z" },
        matchKey: "email",
      }),
    }),
  });
  if (result.failures > 0) {
    failures += 1;
    process.stderr.write(`${prefix}: ${result.failures} paced requests failed\n`);
  }
  const sorted = [...result.latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), rate: result.achievedRate };
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: { data?: Record<string, unknown> } }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as { data?: Record<string, unknown> } };
}

async function batch(server: ServerProcess): Promise<{ acceptMs: number; completedMs: number }> {
  const records = Array.from({ length: BATCH_ROWS }, (_, index) => ({
    email: `batch${index}@bench.example.com`,
    first_name: "Alex",
    tier: "gold",
    phone: `+1212555${String(index).padStart(4, "0")}`,
    last_seen_at: "2026-04-21T15:30:00Z",
    marketing_opt_in: index % 2 === 0,
  }));
  const body = JSON.stringify({ records, matchKey: "email" });
  const started = performance.now();
  const accepted = await json(`${server.url}/public/v1/records/profiles/upsert-batch`, { method: "POST", headers: JSON_HEADERS, body });
  const acceptMs = performance.now() - started;
  if (accepted.status !== 202) {
    failures += 1;
    throw new Error(`upsert-batch answered ${accepted.status}`);
  }
  const statusPath = String(accepted.body.data?.["statusPath"]);
  for (;;) {
    const job = await json(`${server.url}/public/v1${statusPath}`, { headers: JSON_HEADERS });
    const state = job.body.data?.["state"];
    if (state === "completed") return { acceptMs, completedMs: performance.now() - started };
    if (state === "failed" || job.status !== 200) {
      failures += 1;
      throw new Error(`job ${statusPath} ended ${String(state)} (${job.status})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 0;
}

/** Spawn → first 200 from /_emulator/health, polling every 2 ms on a port chosen beforehand. */
async function startup(run: number): Promise<{ ms: number; idleRss: number }> {
  const port = await freePort();
  const started = performance.now();
  const server = spawnServer({
    args: [CLI, "start", "--host", "127.0.0.1", "--port", String(port), "--db", join(dir, `startup-${run}.sqlite`), "--log-level", "silent"],
    pattern: /ready at http:\/\/127\.0\.0\.1:(\d+)/,
  });
  await waitForHealthy(`http://127.0.0.1:${port}`);
  const ms = performance.now() - started;
  const running = await server;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const idleRss = rssMb(running.child.pid ?? 0);
  await running.stop();
  return { ms, idleRss };
}

async function main(): Promise<void> {
  refuseArgs("npm run bench (its settings are BENCH_DURATION and BENCH_CONNECTIONS)");
  process.stdout.write(`cdp-emulator bench: ${cpus().length} cores, Node ${process.version}, ${DURATION_S} s per load\n`);

  // 4 and 5 (idle) first, on a quiet machine.
  const startups: { ms: number; idleRss: number }[] = [];
  for (let run = 0; run < STARTUPS; run++) startups.push(await startup(run));
  const startupMs = median(startups.map((entry) => entry.ms));
  const idleRss = median(startups.map((entry) => entry.idleRss));
  process.stdout.write(`start-up: ${startups.map((entry) => fixed(entry.ms, 0)).join(", ")} ms; idle RSS ${fixed(idleRss)} MB\n`);

  // Baselines.
  const nodeHttp = (await baseline("node-http")).throughput;
  process.stdout.write(`node:http: ${fixed(nodeHttp, 0)} req/s\n`);
  const express = await baseline("express");
  const bareExpress = express.throughput;
  process.stdout.write(`express: ${fixed(bareExpress, 0)} req/s; at ${FIXED_RATE}/s p50 ${fixed(express.latency?.p50 ?? Number.NaN, 2)} ms, p99 ${fixed(express.latency?.p99 ?? Number.NaN, 2)} ms\n`);

  // 1, 2, 3 on one emulator process, its RSS sampled throughout.
  const emulator = await spawnEmulator({ db: join(dir, "bench.sqlite"), extraArgs: UNLIMITED_RATE_ARGS });
  const rss = sampleRss(emulator.child.pid ?? 0);
  let throughput = Number.NaN;
  let latency: Latency = { p50: Number.NaN, p99: Number.NaN, rate: Number.NaN };
  let batchResult = { acceptMs: Number.NaN, completedMs: Number.NaN };
  try {
    await load(`${emulator.url}${UPSERT_PATH}`, { connections: CONNECTIONS, prefix: "warm" });
    const loaded = await load(`${emulator.url}${UPSERT_PATH}`, { connections: CONNECTIONS, prefix: "throughput" });
    checkLoad("throughput", loaded);
    throughput = loaded.requests.average;
    process.stdout.write(`emulator: ${fixed(throughput, 0)} req/s\n`);

    latency = await pacedLoad(emulator.url, "latency");
    process.stdout.write(`latency at ${FIXED_RATE}/s: p50 ${fixed(latency.p50, 2)} ms, p99 ${fixed(latency.p99, 2)} ms\n`);

    const runs = [];
    for (let run = 0; run < 3; run++) {
      await fetch(`${emulator.url}/_emulator/reset`, { method: "POST" });
      runs.push(await batch(emulator));
    }
    batchResult = { acceptMs: median(runs.map((run) => run.acceptMs)), completedMs: median(runs.map((run) => run.completedMs)) };
    process.stdout.write(`batch: ${runs.map((run) => `${fixed(run.acceptMs, 0)}/${fixed(run.completedMs, 0)}`).join(", ")} ms (accept/completed)\n`);
  } finally {
    const code = await emulator.stop();
    if (code !== 0) failures += 1;
  }
  const peakRss = rss.stop();

  const verdict = (ok: boolean): string => (ok ? "met" : "**missed**");
  const rows = [
    ["single-write throughput, emulator", `${fixed(throughput, 0)} req/s`, "", ""],
    ["single-write throughput, bare node:http", `${fixed(nodeHttp, 0)} req/s`, "", ""],
    ["single-write throughput, bare Express 5 + express.json()", `${fixed(bareExpress, 0)} req/s`, "", ""],
    ["emulator / node:http", fixed(throughput / nodeHttp, 2), `≥ ${TARGETS.ratioNodeHttp}`, verdict(throughput / nodeHttp >= TARGETS.ratioNodeHttp)],
    ["emulator / bare Express", fixed(throughput / bareExpress, 2), `≥ ${TARGETS.ratioExpress}`, verdict(throughput / bareExpress >= TARGETS.ratioExpress)],
    [`single-write latency at ${FIXED_RATE} req/s (achieved ${fixed(latency.rate, 0)}), emulator`, `p50 ${fixed(latency.p50, 2)} ms, p99 ${fixed(latency.p99, 2)} ms`, `p99 ≤ ${TARGETS.p99Ms} ms`, verdict(latency.p99 <= TARGETS.p99Ms)],
    [`the same load, bare Express 5 (the harness and machine floor)`, `p50 ${fixed(express.latency?.p50 ?? Number.NaN, 2)} ms, p99 ${fixed(express.latency?.p99 ?? Number.NaN, 2)} ms`, "", ""],
    ["10,000-row upsert-batch: 202", `${fixed(batchResult.acceptMs, 0)} ms`, "", ""],
    ["10,000-row upsert-batch: send → completed", `${fixed(batchResult.completedMs, 0)} ms`, `≤ ${TARGETS.batchCompletedMs} ms`, verdict(batchResult.completedMs <= TARGETS.batchCompletedMs)],
    ["start-up: spawn → healthy (median of 5)", `${fixed(startupMs, 0)} ms`, `≤ ${TARGETS.startupMs} ms`, verdict(startupMs <= TARGETS.startupMs)],
    ["RSS idle", `${fixed(idleRss)} MB`, `≤ ${TARGETS.idleRssMb} MB`, verdict(idleRss <= TARGETS.idleRssMb)],
    ["RSS peak during throughput, latency and batch", `${fixed(peakRss)} MB`, `≤ ${TARGETS.peakRssMb} MB`, verdict(peakRss <= TARGETS.peakRssMb)],
  ];
  const table = markdownTable(["measure", "figure", "target", ""], rows);
  const report = [
    "# Benchmark results",
    "",
    `Written by \`npm run bench\` on ${new Date().toISOString()}: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}, ` +
      `${DURATION_S} s per load, ${CONNECTIONS} connections for throughput.`,
    "",
    table,
    "",
  ].join("\n");
  writeFileSync(RESULTS, report);
  process.stdout.write(`\n${table}\n\nwritten to bench/results.md\n`);
}

main()
  .catch((error: unknown) => {
    failures += 1;
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  })
  .finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exitCode = failures > 0 ? 1 : 0;
  });
