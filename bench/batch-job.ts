/**
 * A 10,000-row upsert-batch job, end to end over HTTP on loopback, and single writes while it runs.
 *
 * Acceptance targets:
 *   - a 10k-row POST /public/v1/records/profiles/upsert-batch is `completed` within 250 ms of
 *     sending it (median), both with `Prefer: wait=30` and with 202 + polling the job every 5 ms;
 *   - single upserts sent one after another while that job runs keep a p99 of 50 ms or less.
 *
 *   npm run bench:batch                  # N = 5 measured iterations (each: 2 modes × insert + merge)
 *   npm run bench:batch -- 10            # or --n 10, --n=10, -n 10, or BENCH_N=10
 *   BENCH_WARMUP=2 npm run bench:batch   # warm-up iterations, not counted (default 1)
 *
 * The emulator runs as the built CLI in its own process (`node <the bin's flags> dist/cli.js start`
 * on a free 127.0.0.1 port, a SQLite file in a temporary directory, logging silent, quotas
 * raised), as a sidecar would; BENCH_IN_PROCESS=1 runs it in this process instead. The profiles are generated with
 * @faker-js/faker from a fixed seed, so every run sends the same 10,000 rows.
 *
 * One iteration = two modes, each on a fresh emulator and database:
 *   wait   POST with `Prefer: wait=30`; the 200 response carries the finished job
 *   poll   POST without it; 202, then GET /public/v1/records/profiles/jobs/{jobId} every 5 ms
 * and in each mode two jobs: `insert` (10,000 new emails), then `merge` (the same 10,000 emails
 * again, with changed tier / last_seen_at / lifetime_value, so every row merges).
 *
 * End to end is timed with process.hrtime.bigint() from just before http.request() of the batch
 * until the last byte of the response that shows the job `completed`. The worker's own time is
 * the job's startedAt → completedAt (emulator clock, ms). A second keep-alive socket sends single
 * upserts (distinct emails) in a sequential loop that starts just before the batch is sent and
 * stops when the job is seen completed.
 *
 * Exit code: 0 whatever the figures (this is a benchmark, not a test); 1 if any request failed
 * or a job did not complete with every row inserted (or merged) as expected.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BATCH_ROWS, FAKER_SEED, generatePayloads } from "./batch-payloads.js";
import { BATCH_PATH, POLL_INTERVAL_MS, PREFER_WAIT_SECONDS, runMode, UPSERT_PATH, type JobRun, type Kind, type Mode, type Tally } from "./batch-runs.js";
import { countFromArgs, machineLine, ms, printTable, runBench, spawnEmulator, startInProcess, summarize, UNLIMITED_RATE_ARGS, warmupFromEnv, type RunningEmulator } from "./lib.js";

/**
 * By default the server is the built CLI in its own process, as a sidecar would run it, so the
 * load generator here never shares its event loop. BENCH_IN_PROCESS=1 runs createEmulator in
 * this process instead (from source, via tsx), which is handy with --cpu-prof.
 */
const IN_PROCESS = process.env["BENCH_IN_PROCESS"] === "1";

const TARGET_END_TO_END_MS = 250;
const TARGET_SINGLE_P99_MS = 50;

const ms1 = (value: number): string => ms(value, 1);

/** The built CLI, started as its bin starts it, its quotas raised as the in-process one's are. */
async function spawnedEmulator(db: string): Promise<RunningEmulator> {
  const server = await spawnEmulator({ db, extraArgs: UNLIMITED_RATE_ARGS });
  return {
    port: server.port,
    stop: async () => {
      await server.stop();
    },
  };
}

async function main(): Promise<number> {
  const iterations = countFromArgs({ usage: "npm run bench:batch -- [N | --n N]", fallback: 5 });
  const warmup = warmupFromEnv(1);
  const modes: Mode[] = ["wait", "poll"];
  console.log(
    `batch job: POST ${BATCH_PATH} with ${BATCH_ROWS.toLocaleString("en-US")} profiles, ` +
      `${warmup} warm-up + ${iterations} measured iteration(s) × {Prefer: wait=${PREFER_WAIT_SECONDS}, 202 + poll every ${POLL_INTERVAL_MS} ms} × {insert, merge}`,
  );
  console.log(`single writes: POST ${UPSERT_PATH}, sequential on a second keep-alive socket while each job runs`);
  console.log(machineLine());

  const generating = process.hrtime.bigint();
  const payloads = generatePayloads();
  console.log(
    `payloads: faker seed ${FAKER_SEED}, insert body ${(payloads.insert.length / 1e6).toFixed(2)} MB, ` +
      `merge body ${(payloads.merge.length / 1e6).toFixed(2)} MB (generated in ${ms1(Number(process.hrtime.bigint() - generating) / 1e6)} ms)`,
  );
  console.log("");

  const tally: Tally = { connections: { batch: 0, singles: 0 }, failures: [], failureCount: 0, nextSingle: 0 };
  const measured: JobRun[] = [];
  const warm: JobRun[] = [];
  const dir = mkdtempSync(join(tmpdir(), "cdp-emulator-bench-"));
  // One long-lived server, as a sidecar is; every mode starts from a reset (empty) database.
  const dbPath = join(dir, "bench.sqlite");
  const server = IN_PROCESS ? await startInProcess(dbPath) : await spawnedEmulator(dbPath);
  console.log(`server: ${IN_PROCESS ? "in this process (BENCH_IN_PROCESS=1)" : "the built CLI as its bin runs it, its own process"}, db ${dbPath}`);
  console.log("");
  try {
    for (let iteration = 0; iteration < warmup + iterations; iteration += 1) {
      const isWarmup = iteration < warmup;
      // Alternate which mode goes first, so neither always runs right after the other's merge.
      const order = iteration % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of order) {
        (isWarmup ? warm : measured).push(...(await runMode(server, mode, payloads, tally)));
      }
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  if (warm.length > 0) {
    const parts = warm.map((run) => `${run.mode}/${run.kind} ${ms1(run.endToEndMs)}`);
    console.log(`warm-up (not counted), end to end ms: ${parts.join(", ")}`);
    console.log("");
  }

  const phases = modes.flatMap((mode) => (["insert", "merge"] as const).map((kind) => ({ mode, kind })));
  const byPhase = phases.map(({ mode, kind }) => ({
    name: `${mode}/${kind}`,
    mode,
    kind,
    runs: measured.filter((run) => run.mode === mode && run.kind === kind),
  }));

  printTable(
    ["phase", "runs", "e2e median", "e2e min", "e2e max", "202 after", "polls", "send→created", "queue ms", "worker median", "worker min", "worker max", "rows/s (worker)"],
    byPhase.map(({ name, runs }) => {
      const e2e = summarize(runs.map((run) => run.endToEndMs));
      const worker = summarize(runs.map((run) => run.workerMs));
      const accept = summarize(runs.flatMap((run) => (run.acceptMs === null ? [] : [run.acceptMs])));
      const polls = summarize(runs.flatMap((run) => (run.acceptMs === null ? [] : [run.polls])));
      return [
        name,
        String(runs.length),
        ms1(e2e.median),
        ms1(e2e.min),
        ms1(e2e.max),
        ms1(accept.median),
        Number.isNaN(polls.median) ? "-" : String(polls.median),
        ms1(summarize(runs.map((run) => run.toCreatedMs)).median),
        ms1(summarize(runs.map((run) => run.queueMs)).median),
        ms1(worker.median),
        ms1(worker.min),
        ms1(worker.max),
        worker.median > 0 ? ((BATCH_ROWS / worker.median) * 1000).toFixed(0) : "-",
      ];
    }),
  );
  console.log("");

  const allSingles = measured.flatMap((run) => run.singles);
  printTable(
    ["single writes during", "count", "median ms", "p90 ms", "p99 ms", "max ms"],
    [
      ...byPhase.map(({ name, runs }) => {
        const summary = summarize(runs.flatMap((run) => run.singles));
        return [name, String(summary.count), ms(summary.median), ms(summary.p90), ms(summary.p99), ms(summary.max)];
      }),
      (() => {
        const summary = summarize(allSingles);
        return ["all jobs", String(summary.count), ms(summary.median), ms(summary.p90), ms(summary.p99), ms(summary.max)];
      })(),
    ],
  );
  console.log("");
  console.log(
    `e2e: send → response showing "completed" (wait: the 200; poll: the GET that saw it). ` +
      `worker: startedAt → completedAt (emulator clock, ms). queue: createdAt → startedAt.`,
  );
  console.log(
    `send→created: wall clock at send → the job's createdAt (upload, body parse, batch checks; ms resolution). ` +
      `Columns other than e2e are medians.`,
  );
  console.log(
    `connections opened: ${tally.connections.batch} batch/poll, ${tally.connections.singles} single-write ` +
      `(one of each per emulator: ${(warmup + iterations) * modes.length})`,
  );

  if (tally.failureCount > 0) {
    console.error(`${tally.failureCount} failure(s) (warm-up included); first ones:`);
    for (const failure of tally.failures) {
      const status = failure.status === null ? "" : ` HTTP ${failure.status}:`;
      console.error(`  ${failure.where}:${status} ${failure.detail}`);
    }
  }
  console.log("");

  const verdict = (value: number, target: number): string => (value <= target ? "PASS" : "FAIL");
  const medianOf = (mode: Mode, kind: Kind): number =>
    summarize(measured.filter((run) => run.mode === mode && run.kind === kind).map((run) => run.endToEndMs)).median;
  const merge = summarize(measured.filter((run) => run.kind === "merge").map((run) => run.endToEndMs)).median;
  const wait = medianOf("wait", "insert");
  const poll = medianOf("poll", "insert");
  console.log(`Prefer: wait=${PREFER_WAIT_SECONDS}, insert: median ${ms1(wait)} ms (target ≤ ${TARGET_END_TO_END_MS} ms): ${verdict(wait, TARGET_END_TO_END_MS)}`);
  console.log(`202 + poll every ${POLL_INTERVAL_MS} ms, insert: median ${ms1(poll)} ms (target ≤ ${TARGET_END_TO_END_MS} ms): ${verdict(poll, TARGET_END_TO_END_MS)}`);
  console.log(`merge runs (both modes): median ${ms1(merge)} ms (target ≤ ${TARGET_END_TO_END_MS} ms): ${verdict(merge, TARGET_END_TO_END_MS)}`);
  // The headline is the worst of the per-phase medians, so PASS means every way of asking passes.
  const headline = Math.max(...byPhase.map(({ runs }) => summarize(runs.map((run) => run.endToEndMs)).median));
  const singleP99 = summarize(allSingles).p99;
  console.log(
    `10k upsert-batch end-to-end median ${ms1(headline)} ms (target ≤ ${TARGET_END_TO_END_MS} ms): ${verdict(headline, TARGET_END_TO_END_MS)}`,
  );
  console.log(
    `single writes during job p99 ${ms1(singleP99)} ms (target ≤ ${TARGET_SINGLE_P99_MS} ms): ${verdict(singleP99, TARGET_SINGLE_P99_MS)}`,
  );
  return tally.failureCount > 0 ? 1 : 0;
}

runBench(main);
