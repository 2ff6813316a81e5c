import { Agent, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { BATCH_ROWS, singleBody, type Payloads } from "./batch-payloads.js";
import { timedRequest, type Exchange, type RunningEmulator } from "./lib.js";

/**
 * One mode of batch-job.ts on one emulator: the batch sent and followed to `completed` (with
 * `Prefer: wait` or by polling), single writes alongside it, and what each job took.
 */

const OBJECT = "profiles";
export const BATCH_PATH = `/public/v1/records/${OBJECT}/upsert-batch`;
export const UPSERT_PATH = `/public/v1/records/${OBJECT}/upsert`;
const JOB_PATH = (jobId: string): string => `/public/v1/records/${OBJECT}/jobs/${encodeURIComponent(jobId)}`;
export const PREFER_WAIT_SECONDS = 30;
export const POLL_INTERVAL_MS = 5;
/** A poll-mode job that is not completed by then counts as failed. */
const POLL_GIVE_UP_MS = 60_000;
/** How many failures are described in full; the rest are only counted. */
const FAILURES_SHOWN = 5;

export type Mode = "wait" | "poll";
export type Kind = "insert" | "merge";

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

export interface JobRun {
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

export interface Failure {
  where: string;
  status: number | null;
  detail: string;
}

interface Connections {
  batch: number;
  singles: number;
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
export interface Tally {
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
      exchange = await timedRequest(context.singleAgent, { port: context.port, method: "POST", path: UPSERT_PATH, body });
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
      await timedRequest(context.batchAgent, { port: context.port, method: "POST", path: BATCH_PATH, body, headers: { Prefer: `wait=${PREFER_WAIT_SECONDS}` } }),
    );
    const endToEndMs = sinceStart();
    const job = readJob(envelopeData(exchange, 200, where));
    return { job, endToEndMs, acceptMs: null, polls: 0, sentAt };
  }
  const accepted = track(await timedRequest(context.batchAgent, { port: context.port, method: "POST", path: BATCH_PATH, body }));
  const acceptMs = sinceStart();
  const jobId = stringOrNull(envelopeData(accepted, 202, where)["jobId"]);
  if (jobId === null) throw new RequestFailed(where, accepted.status, `no jobId in ${accepted.body.slice(0, 300)}`);
  let polls = 0;
  for (;;) {
    await sleep(POLL_INTERVAL_MS);
    const exchange = track(await timedRequest(context.batchAgent, { port: context.port, method: "GET", path: JOB_PATH(jobId) }));
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
export async function runMode(server: RunningEmulator, mode: Mode, payloads: Payloads, tally: Tally): Promise<JobRun[]> {
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
