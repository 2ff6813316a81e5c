import { randomInt } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { cliPerTest, exitOf, startCli, type RunningCli } from "../helpers/cli.js";
import { AUTH, call as request, type JsonResponse } from "../helpers/emulator.js";

/*
 * Crash tests for batch jobs against the real command line (`node dist/cli.js start ...`) as a
 * child process, killed with SIGKILL while its worker is busy and restarted on the same SQLite
 * file. DESIGN.md §2: an acknowledged (202) batch is durable; its rows commit in chunks with
 * their progress mark, so a restart resumes without writing any row twice.
 *
 * `npm test` builds dist/ before vitest runs; on its own, run `npm run build --silent` first.
 */

const JOBS_DONE_TIMEOUT_MS = 20_000;
const KILL_WAIT_TIMEOUT_MS = 10_000;
const ROWS_PER_BATCH = 10_000;
/** The worker's chunk size (src/services/job-worker.ts); only used to pick a kill point, never asserted. */
const CHUNK = 1_000;
const NAIVE_DATETIME = "2026-04-21 15:30:00";
const INVALID_CODE = "CDP_ETL.VALIDATION.REQUEST_INVALID";

const { dir: tempDir } = cliPerTest("cdp-emulator-crash-");

/** `node dist/cli.js start --port 0 --db <db> --log-level silent`, resolved once it is ready. */
function startEmulatorCli(dir: string, db: string): Promise<RunningCli> {
  return startCli(["start", "--port", "0", "--db", db, "--log-level", "silent"], { cwd: dir });
}

/** SIGKILL, and wait until the process is really gone (so the db file is no longer written). */
async function crash(cli: RunningCli): Promise<void> {
  expect(cli.child.kill("SIGKILL")).toBe(true);
  expect(await exitOf(cli)).toEqual({ code: null, signal: "SIGKILL" });
}

/** With the dev token; `body` is JSON already (a batch is serialised once, and kept to compare). */
function call<T>(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<JsonResponse<T>> {
  const json: Record<string, string> = init.body === undefined ? {} : { "Content-Type": "application/json" };
  return request<T>(url, { method: init.method, headers: { ...AUTH, ...json, ...init.headers }, rawBody: init.body });
}

interface Metrics {
  totalRows: number;
  processedRows: number;
  insertedRows: number;
  mergedRows: number;
  invalidRows: number;
}

interface RowErrorView {
  index: number | null;
  code: string;
  message: string;
  path: string | null;
  value: unknown;
}

interface JobView {
  jobId: string;
  objectName: string;
  operation: string;
  state: "queued" | "processing" | "completed" | "failed";
  metrics: Metrics;
  errors: RowErrorView[];
  errorsPath: string;
}

interface Accepted {
  success: true;
  data: { operation: string; objectName: string; jobId: string; state: string; acceptedRecords: number; statusPath: string };
}

/** Every item of a paged listing (`data[field]`), following `nextCursor`. */
async function allPages<T>(url: string, field: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: JsonResponse<{ data: { [field: string]: unknown; nextCursor: string | null } }> = await call(
      cursor === null ? url : `${url}&cursor=${encodeURIComponent(cursor)}`,
    );
    expect(page.status, page.text).toBe(200);
    items.push(...(page.body.data[field] as T[]));
    cursor = page.body.data.nextCursor;
  } while (cursor !== null);
  return items;
}

const listJobs = (url: string): Promise<JobView[]> => allPages(`${url}/_emulator/jobs?limit=1000`, "jobs");

async function getJob(url: string, object: string, jobId: string): Promise<JobView> {
  const result = await call<{ data: JobView }>(`${url}/public/v1/records/${object}/jobs/${jobId}`);
  expect(result.status, result.text).toBe(200);
  return result.body.data;
}

const jobErrors = (url: string, object: string, jobId: string): Promise<RowErrorView[]> =>
  allPages(`${url}/public/v1/records/${object}/jobs/${jobId}/errors?limit=100`, "errors");

interface StoredRecord {
  rowId: string;
  fields: Record<string, unknown>;
}

const listAllRecords = (url: string, object: string): Promise<StoredRecord[]> => allPages(`${url}/_emulator/records/${object}?limit=1000`, "records");

/** Polls the public job status of every job until each is terminal; bounded. */
async function waitForTerminal(url: string, jobs: readonly SentBatch[]): Promise<Map<string, JobView>> {
  const deadline = performance.now() + JOBS_DONE_TIMEOUT_MS;
  for (;;) {
    const views = new Map<string, JobView>();
    for (const batch of jobs) views.set(batch.jobId, await getJob(url, batch.object, batch.jobId));
    if ([...views.values()].every((job) => job.state === "completed" || job.state === "failed")) return views;
    if (performance.now() > deadline) {
      const states = [...views.values()].map((job) => `${job.jobId} ${job.state} ${job.metrics.processedRows}/${job.metrics.totalRows}`);
      throw new Error(`jobs not terminal after ${JOBS_DONE_TIMEOUT_MS} ms: ${states.join("; ")}`);
    }
    await sleep(25); // another process's worker runs in real time: a poll, with the states in its failure message
  }
}

// ---------------------------------------------------------------------------------------------
// Realistic rows with unique keys; a few deliberately invalid (naive datetime)
// ---------------------------------------------------------------------------------------------

type Row = Record<string, unknown>;

const FIRST_NAMES = ["Jane", "Omar", "Li", "Ana", "Kofi", "Maya", "Lukas", "Priya", "Sven", "Aiko"];
const LAST_NAMES = ["Doe", "Haddad", "Wei", "Silva", "Mensah", "Cohen", "Becker", "Patel", "Lund", "Sato"];
const CITIES: readonly (readonly [string, string])[] = [
  ["Berlin", "DE"],
  ["Lisbon", "PT"],
  ["Austin", "US"],
  ["Osaka", "JP"],
  ["Accra", "GH"],
];
const TIERS = ["bronze", "silver", "gold", "platinum"];
const EVENTS = ["page_view", "product_view", "add_to_cart", "checkout_started", "search"];

const isoAt = (i: number, minutesAgo: number): string =>
  new Date(Date.UTC(2026, 3, 21, 15, 30) - (minutesAgo + (i % 1440)) * 60_000).toISOString();

function profileRow(i: number, invalid: boolean): Row {
  const [city, country] = CITIES[i % CITIES.length]!;
  return {
    email: `user${i}@example.com`,
    customer_id: `cust_${String(i).padStart(6, "0")}`,
    first_name: FIRST_NAMES[i % FIRST_NAMES.length],
    last_name: LAST_NAMES[(i * 7) % LAST_NAMES.length],
    tier: TIERS[i % TIERS.length],
    signup_source: i % 3 === 0 ? "mobile_app" : "web",
    signed_up_at: isoAt(i, 60 * 24 * 90),
    last_seen_at: invalid ? NAIVE_DATETIME : isoAt(i, 5),
    city,
    country,
    marketing_opt_in: i % 2 === 0,
    lifetime_value: Math.round(i * 13.37) / 100,
  };
}

function eventRow(i: number, invalid: boolean): Row {
  return {
    event_id: `evt_${String(i).padStart(8, "0")}`,
    session_id: `sess_${Math.floor(i / 25)}`,
    anonymous_id: `anon_${Math.floor(i / 100)}`,
    email: `user${Math.floor(i / 100)}@example.com`,
    event: EVENTS[i % EVENTS.length],
    url: `https://shop.example.com/products/${1000 + (i % 500)}`,
    referrer: i % 4 === 0 ? "https://www.google.com/" : "https://shop.example.com/",
    occurred_at: invalid ? NAIVE_DATETIME : isoAt(i, 1),
    properties: { product_id: `sku_${i % 500}`, price: (i % 500) + 0.99, currency: "EUR" },
  };
}

interface BatchSpec {
  object: "profiles" | "events";
  operation: "upsert-batch" | "append-batch";
  /** Global number of the batch's first row (keys are unique across batches). */
  from: number;
  /** Indexes (within the batch) of the deliberately invalid rows. */
  invalidAt: readonly number[];
  idempotencyKey?: string;
}

interface SentBatch extends BatchSpec {
  key: "email" | "event_id";
  body: string;
  rows: Row[];
  /** The 202's body, byte for byte. */
  responseText: string;
  jobId: string;
}

function buildBatch(spec: BatchSpec): { rows: Row[]; body: string; key: "email" | "event_id" } {
  const invalid = new Set(spec.invalidAt);
  const make = spec.object === "profiles" ? profileRow : eventRow;
  const rows = Array.from({ length: ROWS_PER_BATCH }, (_, index) => make(spec.from + index, invalid.has(index)));
  const body = spec.operation === "upsert-batch" ? { records: rows, matchKey: "email" } : { records: rows };
  return { rows, body: JSON.stringify(body), key: spec.object === "profiles" ? "email" : "event_id" };
}

async function sendBatch(url: string, spec: BatchSpec): Promise<SentBatch> {
  const built = buildBatch(spec);
  const headers: Record<string, string> = spec.idempotencyKey === undefined ? {} : { "Idempotency-Key": spec.idempotencyKey };
  const response = await call<Accepted>(`${url}/public/v1/records/${spec.object}/${spec.operation}`, { body: built.body, headers });
  expect(response.status, response.text).toBe(202);
  expect(response.body.data).toMatchObject({ operation: spec.operation, objectName: spec.object, acceptedRecords: ROWS_PER_BATCH });
  expect(response.body.data.jobId).toMatch(/^rjob_[0-9A-HJKMNP-TV-Z]{26}$/);
  return { ...spec, ...built, responseText: response.text, jobId: response.body.data.jobId };
}

// ---------------------------------------------------------------------------------------------
// Where the kill landed: a read-only look at the db file between the kill and the restart
// ---------------------------------------------------------------------------------------------

interface JobAtKill {
  id: string;
  object: string;
  operation: string;
  state: string;
  total: number;
  processed: number;
  inserted: number;
  merged: number;
  invalid: number;
  errorRows: number;
}

interface Snapshot {
  jobs: JobAtKill[];
  records: Map<string, number>;
}

/**
 * The restarted worker resumes at once, so what the crash left behind can only be seen in the
 * file itself. Reads the (append-only, never edited) migration's `jobs`, `job_errors` and
 * `records` tables read-only, and only to log where the kill landed and to check that each
 * committed chunk and its progress mark went in together.
 */
function snapshotAtKill(db: string): Snapshot {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const jobs = conn
      .prepare<[], JobAtKill>(
        `SELECT j.id, j.object, j.operation, j.state, j.total_rows AS total, j.processed_rows AS processed,
                j.inserted_rows AS inserted, j.merged_rows AS merged, j.invalid_rows AS invalid,
                (SELECT COUNT(*) FROM job_errors e WHERE e.job_seq = j.seq) AS errorRows
           FROM jobs j ORDER BY j.seq`,
      )
      .all();
    const records = new Map<string, number>();
    for (const row of conn.prepare<[], { object: string; n: number }>(`SELECT object, COUNT(*) AS n FROM records GROUP BY object`).all()) {
      records.set(row.object, row.n);
    }
    return { jobs, records };
  } finally {
    conn.close();
  }
}

type Landing = "mid-job" | "job started, no chunk yet" | "all chunks in, not yet completed" | "between jobs" | "before any job" | "after all jobs";

function landingOf(snapshot: Snapshot): Landing {
  const processing = snapshot.jobs.find((job) => job.state === "processing");
  if (processing) {
    if (processing.processed === 0) return "job started, no chunk yet";
    if (processing.processed === processing.total) return "all chunks in, not yet completed";
    return "mid-job";
  }
  if (snapshot.jobs.every((job) => job.state === "queued")) return "before any job";
  if (snapshot.jobs.every((job) => job.state === "completed")) return "after all jobs";
  return "between jobs";
}

function describeSnapshot(snapshot: Snapshot): string {
  const jobs = snapshot.jobs.map((job, n) => `#${n + 1} ${job.operation} ${job.object} ${job.state} ${job.processed}/${job.total}`);
  const records = [...snapshot.records.entries()].map(([object, n]) => `${object}=${n}`);
  return `${jobs.join("; ")} | rows in db: ${records.join(", ") || "none"}`;
}

/** At the instant of the crash, every committed chunk is fully accounted for by its job's progress mark. */
function expectChunksAtomic(snapshot: Snapshot, sent: readonly SentBatch[]): void {
  for (const job of snapshot.jobs) {
    expect(job.processed, `${job.id} processed`).toBeLessThanOrEqual(job.total);
    expect(job.inserted + job.merged + job.invalid, `${job.id} inserted+merged+invalid at the kill`).toBe(job.processed);
    expect(job.errorRows, `${job.id} error rows at the kill`).toBe(job.invalid);
    // Processed rows are a prefix of the batch, so the invalid ones among them are known exactly.
    const batch = sent.find((candidate) => candidate.jobId === job.id);
    expect(batch, `job ${job.id} in the db was never acknowledged`).toBeDefined();
    if (batch) expect(job.invalid).toBe(batch.invalidAt.filter((index) => index < job.processed).length);
    if (job.processed > 0) expect(job.state).not.toBe("queued");
  }
  // Unique keys, so every written row is an insert: rows in the table = inserted rows recorded.
  for (const object of new Set(snapshot.jobs.map((job) => job.object))) {
    const inserted = snapshot.jobs.filter((job) => job.object === object).reduce((sum, job) => sum + job.inserted, 0);
    expect(snapshot.records.get(object) ?? 0, `${object} rows in the db at the kill`).toBe(inserted);
  }
}

// ---------------------------------------------------------------------------------------------
// The invariants after restart
// ---------------------------------------------------------------------------------------------

async function expectJobsFinishedExactly(url: string, sent: readonly SentBatch[]): Promise<void> {
  const views = await waitForTerminal(url, sent);
  for (const batch of sent) {
    const job = views.get(batch.jobId)!;
    const label = `${batch.operation} ${batch.object} ${batch.jobId}`;
    expect(job.state, label).toBe("completed");
    const valid = ROWS_PER_BATCH - batch.invalidAt.length;
    expect(job.metrics, label).toEqual({
      totalRows: ROWS_PER_BATCH,
      processedRows: ROWS_PER_BATCH,
      insertedRows: valid, // unique keys: nothing to merge, and a chunk applied twice would show as merges or extra inserts
      mergedRows: 0,
      invalidRows: batch.invalidAt.length,
    });
    expect(job.metrics.insertedRows + job.metrics.mergedRows + job.metrics.invalidRows).toBe(job.metrics.totalRows);

    const sortedInvalid = [...batch.invalidAt].sort((a, b) => a - b);
    const field = batch.object === "profiles" ? "last_seen_at" : "occurred_at";
    const errors = await jobErrors(url, batch.object, batch.jobId);
    expect(errors.map((error) => error.index), `${label} error indexes`).toEqual(sortedInvalid);
    for (const error of errors) {
      expect(error).toMatchObject({ code: INVALID_CODE, path: `records[${error.index}].${field}`, value: NAIVE_DATETIME });
    }
    // The status shows the first errors, the same ones.
    expect(job.errors.map((error) => error.index)).toEqual(sortedInvalid.slice(0, 10));
  }
}

/** Every valid row of every accepted batch is stored exactly once, as sent; nothing else is stored. */
async function expectRowsExactlyOnce(url: string, sent: readonly SentBatch[]): Promise<void> {
  for (const object of new Set(sent.map((batch) => batch.object))) {
    const expected = new Map<string, Row>();
    for (const batch of sent.filter((candidate) => candidate.object === object)) {
      const invalid = new Set(batch.invalidAt);
      batch.rows.forEach((row, index) => {
        if (!invalid.has(index)) expected.set(String(row[batch.key]), row);
      });
    }
    const key = object === "profiles" ? "email" : "event_id";
    const stored = await listAllRecords(url, object);
    const seen = new Set<string>();
    const duplicates: string[] = [];
    const unexpected: string[] = [];
    const altered: string[] = [];
    for (const row of stored) {
      const id = String(row.fields[key]);
      if (seen.has(id)) duplicates.push(id);
      seen.add(id);
      const sentRow = expected.get(id);
      if (!sentRow) unexpected.push(id);
      else if (!isDeepStrictEqual(row.fields, sentRow)) altered.push(id);
    }
    const missing = [...expected.keys()].filter((id) => !seen.has(id));
    expect({ object, duplicates: duplicates.slice(0, 5), unexpected: unexpected.slice(0, 5), missing: missing.slice(0, 5), altered: altered.slice(0, 5) }).toEqual({
      object,
      duplicates: [],
      unexpected: [],
      missing: [],
      altered: [],
    });
    expect(stored.length, `${object} row count`).toBe(expected.size);
  }
}

// ---------------------------------------------------------------------------------------------

const log = (message: string): void => console.log(`[batch-crash] ${message}`);

describe("batch jobs survive SIGKILL and restart", () => {
  it(
    "killed mid-job: every accepted job completes after restart, each valid row exactly once, metrics add up, keys replay",
    async () => {
      const started = performance.now();
      const dir = tempDir();
      const db = join(dir, "cdp.sqlite");
      const first = await startEmulatorCli(dir, db);

      // Hold the worker so that all batches are accepted before it starts, then release it and
      // kill once it has committed some chunks of a job, but not all of them.
      expect((await call(`${first.url}/_emulator/jobs/hold`, { method: "POST" })).status).toBe(200);
      const specs: BatchSpec[] = [
        { object: "events", operation: "append-batch", from: 0, invalidAt: [0, 999, 1000, 5555, 9999] },
        { object: "profiles", operation: "upsert-batch", from: 0, invalidAt: [3, 2500, 7777], idempotencyKey: "batch-1" },
        { object: "events", operation: "append-batch", from: ROWS_PER_BATCH, invalidAt: [1, 6001] },
        { object: "profiles", operation: "upsert-batch", from: ROWS_PER_BATCH, invalidAt: [9000] },
      ];
      const sent: SentBatch[] = [];
      for (const spec of specs) sent.push(await sendBatch(first.url, spec));
      const acceptedAt = performance.now();

      // Kill once a job has committed at least `killAt` rows but is not done (random, so runs
      // cover different chunks; the invariants must hold wherever it lands).
      const killAt = CHUNK * randomInt(1, ROWS_PER_BATCH / CHUNK);
      expect((await call(`${first.url}/_emulator/jobs/release`, { method: "POST" })).status).toBe(200);
      const killDeadline = performance.now() + KILL_WAIT_TIMEOUT_MS;
      let observed = "";
      for (;;) {
        const jobs = await listJobs(first.url);
        observed = jobs.map((job) => `${job.state} ${job.metrics.processedRows}/${job.metrics.totalRows}`).join("; ");
        const firstDone = jobs[0]?.state === "completed";
        const midJob = jobs.some(
          (job) =>
            job.state === "processing" &&
            job.metrics.processedRows > 0 &&
            job.metrics.processedRows < job.metrics.totalRows &&
            (job.metrics.processedRows >= killAt || firstDone),
        );
        const allDone = jobs.every((job) => job.state === "completed" || job.state === "failed");
        if (midJob || allDone || performance.now() > killDeadline) break;
      }
      // A little jitter, shorter than a chunk, so the kill falls anywhere in the worker's cycle
      // (inside a chunk's transaction, between two chunks) rather than always just after a poll.
      // Wall time on purpose: a crash test kills at a random instant of the real worker.
      const jitterMs = randomInt(0, 40);
      await sleep(jitterMs);
      await crash(first);
      const killedAt = performance.now();

      const snapshot = snapshotAtKill(db);
      const landing = landingOf(snapshot);
      log(`kill target >= ${killAt} rows, then ${jitterMs} ms; last poll: ${observed}`);
      log(`kill landed ${landing}: ${describeSnapshot(snapshot)}`);
      expect(snapshot.jobs.map((job) => job.id)).toEqual(sent.map((batch) => batch.jobId));
      expectChunksAtomic(snapshot, sent);

      const second = await startEmulatorCli(dir, db);
      const restartedAt = performance.now();

      // A client that never saw its 202 retries at once, while the jobs are still resuming.
      const keyed = sent[1]!;
      const replay = await call<Accepted>(`${second.url}/public/v1/records/${keyed.object}/${keyed.operation}`, {
        body: keyed.body,
        headers: { "Idempotency-Key": "batch-1" },
      });
      expect(replay.status, replay.text).toBe(202);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.text).toBe(keyed.responseText);
      expect(replay.body.data.jobId).toBe(keyed.jobId);

      await expectJobsFinishedExactly(second.url, sent);
      const completedAt = performance.now();
      await expectRowsExactlyOnce(second.url, sent);

      // No job was created by the replay, and none was lost or duplicated by the crash.
      expect((await listJobs(second.url)).map((job) => job.jobId)).toEqual(sent.map((batch) => batch.jobId));
      const collisions = await call<{ data: { collisions: unknown[] } }>(`${second.url}/_emulator/identity/collisions`);
      expect(collisions.body.data.collisions).toEqual([]);

      const ms = (from: number, to: number): string => `${Math.round(to - from)} ms`;
      log(
        `timing: accept 4 batches ${ms(started, acceptedAt)}, release→kill ${ms(acceptedAt, killedAt)}, ` +
          `restart ${ms(killedAt, restartedAt)}, resume→all completed ${ms(restartedAt, completedAt)}, ` +
          `checks ${ms(completedAt, performance.now())}, total ${ms(started, performance.now())}`,
      );
    },
    45_000,
  );

  it.each([
    { held: true, note: "worker held, so the job is still queued" },
    { held: false, note: "worker free, wherever it got to" },
  ])(
    "killed right after the 202 ($note): the job completes after restart",
    async ({ held }) => {
      const started = performance.now();
      const dir = tempDir();
      const db = join(dir, "cdp.sqlite");
      const first = await startEmulatorCli(dir, db);
      if (held) expect((await call(`${first.url}/_emulator/jobs/hold`, { method: "POST" })).status).toBe(200);

      const spec: BatchSpec = { object: "events", operation: "append-batch", from: 0, invalidAt: [2, 4999, 5000] };
      const built = buildBatch(spec);
      const posted = performance.now();
      const response = await call<Accepted>(`${first.url}/public/v1/records/events/append-batch`, { body: built.body });
      const answeredIn = performance.now() - posted;
      await crash(first);

      expect(response.status, response.text).toBe(202);
      const sent: SentBatch = { ...spec, ...built, responseText: response.text, jobId: response.body.data.jobId };
      const snapshot = snapshotAtKill(db);
      log(`held=${held}: 202 after ${Math.round(answeredIn)} ms; kill landed ${landingOf(snapshot)}: ${describeSnapshot(snapshot)}`);
      expect(snapshot.jobs.map((job) => job.id)).toEqual([sent.jobId]);
      if (held) expect(snapshot.jobs[0]).toMatchObject({ state: "queued", processed: 0 });
      expectChunksAtomic(snapshot, [sent]);

      const second = await startEmulatorCli(dir, db);
      await expectJobsFinishedExactly(second.url, [sent]);
      await expectRowsExactlyOnce(second.url, [sent]);
      expect((await listJobs(second.url)).map((job) => job.jobId)).toEqual([sent.jobId]);
      log(`held=${held}: total ${Math.round(performance.now() - started)} ms`);
    },
    30_000,
  );
});
