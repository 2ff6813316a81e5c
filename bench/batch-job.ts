/**
 * A 10,000-row upsert-batch job, end to end over HTTP on loopback, and single writes while it runs.
 *
 * Acceptance targets:
 *   - a 10k-row POST /public/v1/records/profiles/upsert-batch is `completed` within 250 ms of
 *     sending it (median), both with `Prefer: wait=30` and with 202 + polling the job every 5 ms;
 *   - single upserts sent one after another while that job runs keep a p99 of 50 ms or less.
 *
 *   npm run bench:batch                  # N = 5 measured iterations (each: 2 modes × insert + merge)
 *   npm run bench:batch -- 10            # or --n 10, --n=10, or BENCH_N=10
 *   BENCH_WARMUP=2 npm run bench:batch   # warm-up iterations, not counted (default 1)
 *
 * The emulator runs as the built CLI in its own process (`node dist/cli.js start` on a free
 * 127.0.0.1 port, a SQLite file in a temporary directory, logging silent), as a sidecar would;
 * BENCH_IN_PROCESS=1 runs it in this process instead. The profiles are generated with
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
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Faker, base, en, en_US } from "@faker-js/faker";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createEmulator } from "../src/server.js";

/**
 * By default the server is the built CLI in its own process, as a sidecar would run it, so the
 * load generator here never shares its event loop. BENCH_IN_PROCESS=1 runs createEmulator in
 * this process instead (from source, via tsx), which is handy with --cpu-prof.
 */
const IN_PROCESS = process.env["BENCH_IN_PROCESS"] === "1";
const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

interface RunningServer {
  port: number;
  stop(): Promise<void>;
}

async function startInProcess(dbPath: string): Promise<RunningServer> {
  const emulator = createEmulator({
    port: 0,
    host: "127.0.0.1",
    db: dbPath,
    logLevel: "silent",
    // Should quota enforcement land, a batch plus a tight loop of single writes must still
    // measure the write path, not 429s.
    rateLimits: {
      single: { limit: 1_000_000_000, windowSeconds: 1 },
      batch: { limit: 1_000_000_000, windowSeconds: 1 },
    },
  });
  const { port } = await emulator.start();
  return { port, stop: () => emulator.stop() };
}

async function startServerProcess(dbPath: string): Promise<RunningServer> {
  const child = spawn(process.execPath, [CLI, "start", "--port", "0", "--host", "127.0.0.1", "--db", dbPath, "--log-level", "silent"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match?.[1]) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`the emulator exited (${code}) before it was ready; run npm run build first`)));
  });
  return {
    port,
    stop: async () => {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    },
  };
}

const TARGET_END_TO_END_MS = 250;
const TARGET_SINGLE_P99_MS = 50;
const BATCH_ROWS = 10_000;
const FAKER_SEED = 20260421;
const REFERENCE_DATE = "2026-04-21T12:00:00.000Z";
const OBJECT = "profiles";
const BATCH_PATH = `/public/v1/records/${OBJECT}/upsert-batch`;
const UPSERT_PATH = `/public/v1/records/${OBJECT}/upsert`;
const JOB_PATH = (jobId: string): string => `/public/v1/records/${OBJECT}/jobs/${encodeURIComponent(jobId)}`;
const TOKEN = "dev-token";
const PREFER_WAIT_SECONDS = 30;
const POLL_INTERVAL_MS = 5;
/** A poll-mode job that is not completed by then counts as failed. */
const POLL_GIVE_UP_MS = 60_000;
/** Person templates the single-write loop cycles through; each request gets its own email. */
const SINGLE_TEMPLATES = 500;
/** How many failures are described in full; the rest are only counted. */
const FAILURES_SHOWN = 5;

const TIERS = [
  { weight: 50, value: "free" },
  { weight: 25, value: "silver" },
  { weight: 15, value: "gold" },
  { weight: 10, value: "platinum" },
] as const;
const SIGNUP_SOURCES = ["organic_search", "paid_search", "facebook_ads", "referral", "email_campaign", "partner", "app_store"] as const;

type Mode = "wait" | "poll";
type Kind = "insert" | "merge";

interface Profile {
  email: string;
  first_name: string;
  last_name: string;
  tier: string;
  phone: string;
  customer_id: string;
  signup_source: string;
  signed_up_at: string;
  last_seen_at: string;
  city: string;
  country: string;
  marketing_opt_in: boolean;
  lifetime_value: number;
}

interface Payloads {
  insert: Buffer;
  merge: Buffer;
  singles: Omit<Profile, "email" | "phone" | "customer_id">[];
  emailDomains: string[];
}

interface Exchange {
  status: number;
  body: string;
  reusedSocket: boolean;
  ms: number;
}

/** What the bench reads from a job as GET /records/{object}/jobs/{jobId} describes it. */
interface JobView {
  jobId: string;
  state: string;
  createdAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  metrics: { totalRows: number; processedRows: number; insertedRows: number; mergedRows: number; invalidRows: number };
  firstError: string | null;
}

interface JobRun {
  mode: Mode;
  kind: Kind;
  /** Send → the response that showed the job completed, in ms. */
  endToEndMs: number;
  /** Send → the 202 (poll mode only). */
  acceptMs: number | null;
  /** GET requests it took to see `completed` (poll mode only). */
  polls: number;
  /** startedAt → completedAt on the emulator clock. */
  workerMs: number;
  /** createdAt → startedAt on the emulator clock. */
  queueMs: number;
  /** Wall clock at send → createdAt (the emulator clock is the wall clock here): upload, body parse, checks. */
  toCreatedMs: number;
  singles: number[];
}

interface Failure {
  where: string;
  status: number | null;
  detail: string;
}

interface Connections {
  batch: number;
  singles: number;
}

interface Summary {
  count: number;
  median: number;
  min: number;
  p90: number;
  p99: number;
  max: number;
}

class RequestFailed extends Error {
  constructor(
    readonly where: string,
    readonly status: number | null,
    detail: string,
  ) {
    super(detail);
  }
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

/** Iterations from argv (`5`, `--n 5`, `--n=5`), else BENCH_N, else 5. */
function readIterations(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? "";
    if (arg === "--n" || arg === "-n") return positiveInteger(argv[index + 1] ?? "", "--n");
    if (arg.startsWith("--n=")) return positiveInteger(arg.slice("--n=".length), "--n");
    if (/^\d+$/.test(arg)) return positiveInteger(arg, "the iteration count");
    throw new Error(`unknown argument "${arg}"; usage: npm run bench:batch -- [N | --n N]`);
  }
  const fromEnv = env["BENCH_N"];
  return fromEnv === undefined || fromEnv === "" ? 5 : positiveInteger(fromEnv, "BENCH_N");
}

function readWarmup(env: NodeJS.ProcessEnv): number {
  const fromEnv = env["BENCH_WARMUP"];
  return fromEnv === undefined || fromEnv === "" ? 1 : nonNegativeInteger(fromEnv, "BENCH_WARMUP");
}

/**
 * 10,000 profiles from a fixed seed, then the same people again with fresh activity (the merge
 * batch). Every identity key is unique: email (made unique by a suffix where faker repeats one),
 * customer_id, and phone (+1212555 followed by the row's four-digit number).
 */
function generatePayloads(): Payloads {
  const faker = new Faker({ locale: [en_US, en, base], seed: FAKER_SEED });
  faker.setDefaultRefDate(new Date(REFERENCE_DATE));
  const country = (): string =>
    faker.helpers.weightedArrayElement([
      { weight: 70, value: "US" },
      { weight: 30, value: faker.location.countryCode() },
    ]);
  const person = () => {
    const signedUp = faker.date.past({ years: 4 });
    return {
      first_name: faker.person.firstName(),
      last_name: faker.person.lastName(),
      tier: faker.helpers.weightedArrayElement(TIERS),
      signup_source: faker.helpers.arrayElement(SIGNUP_SOURCES),
      signed_up_at: signedUp.toISOString(),
      last_seen_at: faker.date.between({ from: signedUp, to: REFERENCE_DATE }).toISOString(),
      city: faker.location.city(),
      country: country(),
      marketing_opt_in: faker.datatype.boolean({ probability: 0.4 }),
      lifetime_value: faker.number.float({ min: 0, max: 5000, fractionDigits: 2 }),
    };
  };

  const seenEmails = new Set<string>();
  const seenCustomers = new Set<string>();
  const profiles: Profile[] = [];
  for (let index = 0; index < BATCH_ROWS; index += 1) {
    const base = person();
    let email = faker.internet.email({ firstName: base.first_name, lastName: base.last_name }).toLowerCase();
    if (seenEmails.has(email)) email = email.replace("@", `.${index}@`);
    seenEmails.add(email);
    let customerId = `cus_${faker.string.alphanumeric({ length: 14, casing: "upper" })}`;
    while (seenCustomers.has(customerId)) customerId = `cus_${faker.string.alphanumeric({ length: 14, casing: "upper" })}`;
    seenCustomers.add(customerId);
    profiles.push({
      email,
      ...base,
      phone: `+1212555${String(index).padStart(4, "0")}`,
      customer_id: customerId,
    });
  }
  const later = (iso: string): string =>
    faker.date.between({ from: iso, to: new Date(Date.parse(REFERENCE_DATE) + 86_400_000) }).toISOString();
  const merged = profiles.map((profile) => ({
    ...profile,
    tier: faker.helpers.weightedArrayElement(TIERS),
    last_seen_at: later(profile.last_seen_at),
    marketing_opt_in: faker.datatype.boolean({ probability: 0.4 }),
    lifetime_value: Math.round((profile.lifetime_value + faker.number.float({ min: 0, max: 500 })) * 100) / 100,
  }));
  const body = (records: readonly Profile[]): Buffer => Buffer.from(JSON.stringify({ records, matchKey: "email" }));
  return {
    insert: body(profiles),
    merge: body(merged),
    singles: Array.from({ length: SINGLE_TEMPLATES }, person),
    emailDomains: Array.from({ length: SINGLE_TEMPLATES }, () => faker.internet.domainName()),
  };
}

/** The n-th single write of the whole run: a fresh email every time, so each one inserts. */
function singleBody(payloads: Payloads, sequence: number): Buffer {
  const template = payloads.singles[sequence % SINGLE_TEMPLATES];
  const domain = payloads.emailDomains[sequence % SINGLE_TEMPLATES] ?? "example.com";
  if (!template) throw new Error("no single-write templates");
  const local = `${template.first_name}.${template.last_name}`.toLowerCase().replace(/[^a-z0-9.]/g, "");
  const record = {
    ...template,
    email: `${local}.${sequence}@${domain}`,
    customer_id: `cus_single_${sequence}`,
  };
  return Buffer.from(JSON.stringify({ record, matchKey: "email" }));
}

/** One request on a keep-alive agent, timed from request() to the response's last byte. */
function send(
  agent: Agent,
  port: number,
  method: "GET" | "POST",
  path: string,
  body: Buffer | null,
  extraHeaders: Record<string, string> = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: {
          Authorization: `Bearer ${TOKEN}`,
          ...(body === null ? {} : { "Content-Type": "application/json", "Content-Length": String(body.length) }),
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
            body: Buffer.concat(chunks).toString("utf8"),
            reusedSocket: req.reusedSocket,
            ms,
          });
        });
      },
    );
    req.once("error", reject);
    if (body === null) req.end();
    else req.end(body);
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const stringOrNull = (value: unknown): string | null => (typeof value === "string" ? value : null);
const numberOr0 = (value: unknown): number => (typeof value === "number" ? value : 0);

/** `data` of a success envelope, or a RequestFailed that says what came back instead. */
function envelopeData(exchange: Exchange, expectedStatus: number, where: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(exchange.body);
  } catch {
    parsed = undefined;
  }
  const data = isRecord(parsed) && parsed["success"] === true ? parsed["data"] : undefined;
  if (exchange.status !== expectedStatus || !isRecord(data)) {
    throw new RequestFailed(where, exchange.status, exchange.body.slice(0, 300));
  }
  return data;
}

function readJob(data: Record<string, unknown>): JobView {
  const metrics = isRecord(data["metrics"]) ? data["metrics"] : {};
  const errors = Array.isArray(data["errors"]) ? (data["errors"] as unknown[]) : [];
  return {
    jobId: stringOrNull(data["jobId"]) ?? "",
    state: stringOrNull(data["state"]) ?? "",
    createdAt: stringOrNull(data["createdAt"]),
    startedAt: stringOrNull(data["startedAt"]),
    completedAt: stringOrNull(data["completedAt"]),
    metrics: {
      totalRows: numberOr0(metrics["totalRows"]),
      processedRows: numberOr0(metrics["processedRows"]),
      insertedRows: numberOr0(metrics["insertedRows"]),
      mergedRows: numberOr0(metrics["mergedRows"]),
      invalidRows: numberOr0(metrics["invalidRows"]),
    },
    firstError: errors.length > 0 ? JSON.stringify(errors[0]) : null,
  };
}

const elapsed = (from: string | null, to: string | null): number =>
  from === null || to === null ? Number.NaN : Date.parse(to) - Date.parse(from);

/** Shared by every emulator of the run. */
interface Tally {
  connections: Connections;
  failures: Failure[];
  failureCount: number;
  /** The next single write's sequence number, so no email is sent twice in the whole run. */
  nextSingle: number;
}

interface BenchContext {
  port: number;
  batchAgent: Agent;
  singleAgent: Agent;
  payloads: Payloads;
  tally: Tally;
}

function recordFailure(tally: Tally, failure: Failure): void {
  tally.failureCount += 1;
  if (tally.failures.length < FAILURES_SHOWN) tally.failures.push(failure);
}

/** Sequential single upserts until `stop()` says the job is done; returns the successful ones' times. */
async function singleWriteLoop(context: BenchContext, stop: () => boolean): Promise<number[]> {
  const times: number[] = [];
  while (!stop()) {
    const sequence = context.tally.nextSingle;
    context.tally.nextSingle += 1;
    const body = singleBody(context.payloads, sequence);
    let exchange: Exchange;
    try {
      exchange = await send(context.singleAgent, context.port, "POST", UPSERT_PATH, body);
    } catch (error) {
      recordFailure(context.tally, { where: `single #${sequence}`, status: null, detail: (error as Error).message });
      continue;
    }
    if (!exchange.reusedSocket) context.tally.connections.singles += 1;
    if (exchange.status !== 200) {
      recordFailure(context.tally, { where: `single #${sequence}`, status: exchange.status, detail: exchange.body.slice(0, 300) });
      continue;
    }
    times.push(exchange.ms);
  }
  return times;
}

/** Sends the batch and follows it to `completed`; the clock starts just before the POST. */
async function followBatch(
  context: BenchContext,
  mode: Mode,
  body: Buffer,
): Promise<{ job: JobView; endToEndMs: number; acceptMs: number | null; polls: number; sentAt: number }> {
  const where = `${mode} batch`;
  const track = (exchange: Exchange): Exchange => {
    if (!exchange.reusedSocket) context.tally.connections.batch += 1;
    return exchange;
  };
  const sentAt = Date.now();
  const started = process.hrtime.bigint();
  const sinceStart = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  if (mode === "wait") {
    const exchange = track(
      await send(context.batchAgent, context.port, "POST", BATCH_PATH, body, { Prefer: `wait=${PREFER_WAIT_SECONDS}` }),
    );
    const endToEndMs = sinceStart();
    const job = readJob(envelopeData(exchange, 200, where));
    return { job, endToEndMs, acceptMs: null, polls: 0, sentAt };
  }
  const accepted = track(await send(context.batchAgent, context.port, "POST", BATCH_PATH, body));
  const acceptMs = sinceStart();
  const jobId = stringOrNull(envelopeData(accepted, 202, where)["jobId"]);
  if (jobId === null) throw new RequestFailed(where, accepted.status, `no jobId in ${accepted.body.slice(0, 300)}`);
  let polls = 0;
  for (;;) {
    await sleep(POLL_INTERVAL_MS);
    const exchange = track(await send(context.batchAgent, context.port, "GET", JOB_PATH(jobId), null));
    polls += 1;
    const job = readJob(envelopeData(exchange, 200, `${where} poll`));
    if (job.state === "completed" || job.state === "failed") return { job, endToEndMs: sinceStart(), acceptMs, polls, sentAt };
    if (sinceStart() > POLL_GIVE_UP_MS) {
      throw new RequestFailed(where, null, `job ${jobId} still ${job.state} after ${POLL_GIVE_UP_MS} ms`);
    }
  }
}

/** One job with the single-write loop running alongside; undefined if it failed (recorded). */
async function runJob(context: BenchContext, mode: Mode, kind: Kind): Promise<JobRun | undefined> {
  let done = false;
  const singles = singleWriteLoop(context, () => done);
  let followed: Awaited<ReturnType<typeof followBatch>> | undefined;
  try {
    followed = await followBatch(context, mode, kind === "insert" ? context.payloads.insert : context.payloads.merge);
  } catch (error) {
    if (error instanceof RequestFailed) {
      recordFailure(context.tally, { where: error.where, status: error.status, detail: error.message });
    } else {
      recordFailure(context.tally, { where: `${mode} batch`, status: null, detail: (error as Error).message });
    }
  } finally {
    done = true;
  }
  const singleTimes = await singles;
  if (!followed) return undefined;

  const { job } = followed;
  const expected = kind === "insert" ? job.metrics.insertedRows : job.metrics.mergedRows;
  if (job.state !== "completed" || expected !== BATCH_ROWS || job.metrics.invalidRows > 0) {
    recordFailure(context.tally, {
      where: `${mode}/${kind} job ${job.jobId}`,
      status: null,
      detail:
        `state ${job.state}, ${JSON.stringify(job.metrics)} (expected ${BATCH_ROWS} ${kind === "insert" ? "inserted" : "merged"})` +
        (job.firstError === null ? "" : `; first error ${job.firstError}`),
    });
    return undefined;
  }
  return {
    mode,
    kind,
    endToEndMs: followed.endToEndMs,
    acceptMs: followed.acceptMs,
    polls: followed.polls,
    workerMs: elapsed(job.startedAt, job.completedAt),
    queueMs: elapsed(job.createdAt, job.startedAt),
    toCreatedMs: job.createdAt === null ? Number.NaN : Date.parse(job.createdAt) - followed.sentAt,
    singles: singleTimes,
  };
}

/** From an empty emulator (reset): the insert job, then the same emails again (the merge job). */
async function runMode(server: RunningServer, mode: Mode, payloads: Payloads, tally: Tally): Promise<JobRun[]> {
  const { port } = server;
  await resetEmulator(port);
  const context: BenchContext = {
    port,
    batchAgent: new Agent({ keepAlive: true, maxSockets: 1 }),
    singleAgent: new Agent({ keepAlive: true, maxSockets: 1 }),
    payloads,
    tally,
  };
  const runs: JobRun[] = [];
  try {
    for (const kind of ["insert", "merge"] as const) {
      const run = await runJob(context, mode, kind);
      if (run) runs.push(run);
    }
  } finally {
    context.batchAgent.destroy();
    context.singleAgent.destroy();
  }
  return runs;
}

async function resetEmulator(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/_emulator/reset" }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`reset answered ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Nearest-rank percentile of an ascending array: the smallest value with at least q of the data at or below it. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

function summarize(values: readonly number[]): Summary {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  return {
    count: sorted.length,
    median: percentile(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

const ms = (value: number): string => (Number.isNaN(value) ? "-" : value.toFixed(1));
const ms3 = (value: number): string => (Number.isNaN(value) ? "-" : value.toFixed(3));

function printTable(header: readonly string[], lines: readonly (readonly string[])[]): void {
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
  const iterations = readIterations(process.argv.slice(2), process.env);
  const warmup = readWarmup(process.env);
  const modes: Mode[] = ["wait", "poll"];
  const [load1, load5] = loadavg();
  console.log(
    `batch job: POST ${BATCH_PATH} with ${BATCH_ROWS.toLocaleString("en-US")} profiles, ` +
      `${warmup} warm-up + ${iterations} measured iteration(s) × {Prefer: wait=${PREFER_WAIT_SECONDS}, 202 + poll every ${POLL_INTERVAL_MS} ms} × {insert, merge}`,
  );
  console.log(`single writes: POST ${UPSERT_PATH}, sequential on a second keep-alive socket while each job runs`);
  console.log(
    `node ${process.version}, ${cpus().length} CPU(s), ` +
      `load average ${ms3(load1 ?? Number.NaN)} / ${ms3(load5 ?? Number.NaN)} (1 / 5 min)`,
  );

  const generating = process.hrtime.bigint();
  const payloads = generatePayloads();
  console.log(
    `payloads: faker seed ${FAKER_SEED}, insert body ${(payloads.insert.length / 1e6).toFixed(2)} MB, ` +
      `merge body ${(payloads.merge.length / 1e6).toFixed(2)} MB (generated in ${ms(Number(process.hrtime.bigint() - generating) / 1e6)} ms)`,
  );
  console.log("");

  const tally: Tally = { connections: { batch: 0, singles: 0 }, failures: [], failureCount: 0, nextSingle: 0 };
  const measured: JobRun[] = [];
  const warm: JobRun[] = [];
  const dir = mkdtempSync(join(tmpdir(), "cdp-emulator-bench-"));
  // One long-lived server, as a sidecar is; every mode starts from a reset (empty) database.
  const dbPath = join(dir, "bench.sqlite");
  const server = IN_PROCESS ? await startInProcess(dbPath) : await startServerProcess(dbPath);
  console.log(`server: ${IN_PROCESS ? "in this process (BENCH_IN_PROCESS=1)" : "node dist/cli.js start, its own process"}, db ${dbPath}`);
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
    const parts = warm.map((run) => `${run.mode}/${run.kind} ${ms(run.endToEndMs)}`);
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
        ms(e2e.median),
        ms(e2e.min),
        ms(e2e.max),
        ms(accept.median),
        Number.isNaN(polls.median) ? "-" : String(polls.median),
        ms(summarize(runs.map((run) => run.toCreatedMs)).median),
        ms(summarize(runs.map((run) => run.queueMs)).median),
        ms(worker.median),
        ms(worker.min),
        ms(worker.max),
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
        return [name, String(summary.count), ms3(summary.median), ms3(summary.p90), ms3(summary.p99), ms3(summary.max)];
      }),
      (() => {
        const summary = summarize(allSingles);
        return ["all jobs", String(summary.count), ms3(summary.median), ms3(summary.p90), ms3(summary.p99), ms3(summary.max)];
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
  console.log(`Prefer: wait=${PREFER_WAIT_SECONDS}, insert: median ${ms(wait)} ms (target ≤ ${TARGET_END_TO_END_MS} ms): ${verdict(wait, TARGET_END_TO_END_MS)}`);
  console.log(`202 + poll every ${POLL_INTERVAL_MS} ms, insert: median ${ms(poll)} ms (target ≤ ${TARGET_END_TO_END_MS} ms): ${verdict(poll, TARGET_END_TO_END_MS)}`);
  console.log(`merge runs (both modes): median ${ms(merge)} ms (target ≤ ${TARGET_END_TO_END_MS} ms): ${verdict(merge, TARGET_END_TO_END_MS)}`);
  // The headline is the worst of the per-phase medians, so PASS means every way of asking passes.
  const headline = Math.max(...byPhase.map(({ runs }) => summarize(runs.map((run) => run.endToEndMs)).median));
  const singleP99 = summarize(allSingles).p99;
  console.log(
    `10k upsert-batch end-to-end median ${ms(headline)} ms (target ≤ ${TARGET_END_TO_END_MS} ms): ${verdict(headline, TARGET_END_TO_END_MS)}`,
  );
  console.log(
    `single writes during job p99 ${ms(singleP99)} ms (target ≤ ${TARGET_SINGLE_P99_MS} ms): ${verdict(singleP99, TARGET_SINGLE_P99_MS)}`,
  );
  return tally.failureCount > 0 ? 1 : 0;
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
