import { sendAttempt, type Answer, type AttemptContext, type RequestSpec } from "./attempt.js";
import { CdpApiError, CLIENT_ERROR_CODES } from "./errors.js";
import { randomKey } from "./keys.js";
import type { CdpClientOptions, ClientLogger, DeadLetter, DeadLetterHandler, JobErrorsOptions, UpsertOptions, WaitForJobOptions, WriteOptions, Written } from "./options.js";
import { abortableSleep, resolveRetryOptions, retryDelayMs, type RetryOptions, type Sleep } from "./retry.js";
import type { BatchAck, Job, JsonRecord, ObjectMetadata, RowError, WriteAck } from "./types.js";

const TERMINAL_JOB_STATES = new Set(["completed", "failed"]);

/**
 * A production client of the CDP Records API on the platform `fetch`: retries what the guide
 * says to retry with the same Idempotency-Key, honours Retry-After, times out each attempt,
 * backs off voluntarily when the rate-limit budget runs low, and routes what cannot succeed to a
 * dead-letter handler.
 */
class Client<DL extends DeadLetterHandler | undefined> {
  readonly retry: Readonly<RetryOptions>;
  private readonly baseUrl: string;
  private readonly attempts: AttemptContext;
  private readonly logger: ClientLogger | undefined;
  private readonly onDeadLetter: DeadLetterHandler | undefined;
  private readonly random: () => number;
  private readonly sleep: Sleep;
  private readonly now: () => number;
  /** Voluntary backpressure: no request starts before this time (epoch ms). */
  private notBefore = 0;

  constructor(options: CdpClientOptions<DL>) {
    if (!options.baseUrl) throw new TypeError("baseUrl is required, e.g. http://127.0.0.1:4010/public/v1");
    if (!options.token) throw new TypeError("token is required");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.retry = resolveRetryOptions(options.retry);
    this.logger = options.logger;
    this.onDeadLetter = options.onDeadLetter;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? abortableSleep;
    this.now = options.now ?? Date.now;
    this.attempts = {
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      token: options.token,
      timeoutMs: this.retry.attemptTimeoutMs,
      now: this.now,
      onResponse: (headers) => this.noteRateLimit(headers),
    };
  }

  /** Whether non-retryable write failures go to an `onDeadLetter` handler rather than throwing. */
  get deadLettering(): boolean {
    return this.onDeadLetter !== undefined;
  }

  /** `POST /records/{object}/append`: always a new row. */
  append(object: string, record: JsonRecord, options: WriteOptions = {}): Promise<Written<WriteAck, DL>> {
    return this.write<WriteAck>("append", object, [record], { record }, options);
  }

  /** `POST /records/{object}/upsert`: merge into the row `matchKey` finds, or insert. */
  upsert(object: string, record: JsonRecord, options: UpsertOptions = {}): Promise<Written<WriteAck, DL>> {
    const body = options.matchKey === undefined ? { record } : { record, matchKey: options.matchKey };
    return this.write<WriteAck>("upsert", object, [record], body, options);
  }

  /** `POST /records/{object}/append-batch`: a job (202); poll it with `waitForJob`. */
  appendBatch(object: string, records: JsonRecord[], options: WriteOptions = {}): Promise<Written<BatchAck, DL>> {
    return this.write<BatchAck>("append-batch", object, records, { records }, options);
  }

  /** `POST /records/{object}/upsert-batch`: a job (202); poll it with `waitForJob`. */
  upsertBatch(object: string, records: JsonRecord[], options: UpsertOptions = {}): Promise<Written<BatchAck, DL>> {
    const body = options.matchKey === undefined ? { records } : { records, matchKey: options.matchKey };
    return this.write<BatchAck>("upsert-batch", object, records, body, options);
  }

  /** `GET /records/{object}/jobs/{jobId}`. */
  async getJob(object: string, jobId: string, options: { signal?: AbortSignal } = {}): Promise<Job> {
    const answer = await this.request<Job>({ method: "GET", path: `/records/${segment(object)}/jobs/${segment(jobId)}`, signal: options.signal });
    return answer.data;
  }

  /**
   * Polls a job until it is completed or failed, as the batch guide's `wait_for_batch_job` does
   * (2 s, × 1.5, at most 15 s between polls). A failed job is returned, not thrown: its one
   * error says why. Throws `CLIENT.JOB_WAIT_TIMEOUT` when the job outlasts `timeoutMs`.
   */
  async waitForJob(object: string, jobId: string, options: WaitForJobOptions = {}): Promise<Job> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const factor = options.backoffFactor ?? 1.5;
    const maxDelayMs = options.maxDelayMs ?? 15_000;
    let delayMs = options.initialDelayMs ?? 2_000;
    const deadline = this.now() + timeoutMs;
    let polls = 0;
    for (;;) {
      const job = await this.getJob(object, jobId, options.signal ? { signal: options.signal } : {});
      polls += 1;
      if (TERMINAL_JOB_STATES.has(job.state)) return job;
      const remaining = deadline - this.now();
      if (remaining <= 0) {
        throw new CdpApiError({
          status: 0,
          code: CLIENT_ERROR_CODES.jobWaitTimeout,
          message: `${object} job ${jobId} was still ${job.state} after ${timeoutMs} ms (${polls} polls)`,
          details: { jobId, state: job.state, metrics: job.metrics },
          attempts: polls,
        });
      }
      await this.sleep(Math.min(delayMs, remaining), options.signal);
      delayMs = Math.min(delayMs * factor, maxDelayMs);
    }
  }

  /** Every row error of a job, page after page (`GET …/jobs/{jobId}/errors`). */
  async *jobErrors(object: string, jobId: string, options: JobErrorsOptions = {}): AsyncGenerator<RowError, void, undefined> {
    const pageSize = options.pageSize ?? 100;
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: String(pageSize) });
      if (cursor !== null) query.set("cursor", cursor);
      const page: Answer<{ errors: RowError[]; nextCursor: string | null }> = await this.request({
        method: "GET",
        path: `/records/${segment(object)}/jobs/${segment(jobId)}/errors?${query.toString()}`,
        signal: options.signal,
      });
      yield* page.data.errors;
      cursor = page.data.nextCursor;
    } while (cursor !== null);
  }

  /** `GET /metadata/objects/{object}`: fields, identity keys, primary key. */
  async getObject(object: string, options: { signal?: AbortSignal } = {}): Promise<ObjectMetadata> {
    return (await this.request<ObjectMetadata>({ method: "GET", path: `/metadata/objects/${segment(object)}`, signal: options.signal })).data;
  }

  /** `GET /metadata/objects`. */
  async listObjects(options: { signal?: AbortSignal } = {}): Promise<ObjectMetadata[]> {
    return (await this.request<{ objects: ObjectMetadata[] }>({ method: "GET", path: "/metadata/objects", signal: options.signal })).data.objects;
  }

  private async write<T>(
    operation: DeadLetter["operation"],
    object: string,
    records: JsonRecord[],
    body: unknown,
    options: WriteOptions,
  ): Promise<Written<T, DL>> {
    // Generated once per logical call, outside the retry loop: the guide's "CORRECT" way.
    const idempotencyKey = options.idempotencyKey ?? randomKey();
    try {
      const answer = await this.request<T>({
        method: "POST",
        path: `/records/${segment(object)}/${operation}`,
        body,
        idempotencyKey,
        signal: options.signal,
      });
      return { ...answer, idempotencyKey };
    } catch (error) {
      if (!(error instanceof CdpApiError) || error.retryable || !this.onDeadLetter) throw error;
      const letter: DeadLetter = {
        operation,
        object,
        records,
        idempotencyKey,
        error,
        failureType: error.failureType,
        failedAt: new Date(this.now()).toISOString(),
      };
      this.logger?.warn(
        { operation, object, idempotencyKey, status: error.status, code: error.code, failureType: error.failureType, correlationId: error.correlationId },
        "cdp write dead-lettered",
      );
      await this.onDeadLetter(letter);
      // Only reachable when DL is a handler, which is when Written<T, DL> admits undefined.
      return undefined as Written<T, DL>;
    }
  }

  /** The retry loop: one logical call, up to `maxAttempts` HTTP attempts with the same key. */
  private async request<T>(spec: RequestSpec): Promise<Answer<T>> {
    // Serialised once, outside the retry loop: a body that cannot be (a BigInt, a cycle) is the
    // caller's bug, thrown at once, never mistaken for a network failure and retried.
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    if (spec.body !== undefined && body === undefined) throw new TypeError(`${spec.method} ${spec.path}: the body is not JSON`);
    const url = new URL(`${this.baseUrl}${spec.path}`);
    for (let attempt = 1; ; attempt++) {
      await this.waitForBackpressure(spec.signal);
      let failure: CdpApiError;
      try {
        const answer = await sendAttempt<T>(this.attempts, { spec, url, body });
        return { ...answer, attempts: attempt };
      } catch (error) {
        if (!(error instanceof CdpApiError)) throw error; // the caller's abort, or a bug
        failure = error.withAttempts(attempt);
      }
      if (!failure.retryable || attempt >= this.retry.maxAttempts) throw failure;
      const waitMs = retryDelayMs({
        attempt,
        retryAfterMs: failure.retryAfterSeconds === undefined ? undefined : failure.retryAfterSeconds * 1000,
        retry: this.retry,
        random: this.random,
      });
      this.logger?.warn(
        {
          method: spec.method,
          path: spec.path,
          status: failure.status,
          code: failure.code,
          attempt,
          maxAttempts: this.retry.maxAttempts,
          waitMs: Math.round(waitMs),
          idempotencyKey: spec.idempotencyKey,
          correlationId: failure.correlationId,
        },
        "cdp request failed, retrying",
      );
      await this.sleep(waitMs, spec.signal);
    }
  }

  /** The guide's voluntary backpressure: a low remaining budget delays the next request. */
  private noteRateLimit(headers: Headers): void {
    const remaining = Number(headers.get("x-ratelimit-remaining") ?? Number.NaN);
    if (Number.isNaN(remaining) || remaining >= this.retry.backpressureThreshold) return;
    this.notBefore = Math.max(this.notBefore, this.now() + this.retry.backpressureDelayMs);
    this.logger?.warn({ remaining }, "cdp rate limit nearly exhausted; backing off");
  }

  private async waitForBackpressure(signal: AbortSignal | undefined): Promise<void> {
    const waitMs = this.notBefore - this.now();
    if (waitMs > 0) await this.sleep(waitMs, signal);
  }
}

/**
 * The client's type records whether a dead-letter handler was given, so that only then do writes
 * admit `undefined`. Overloaded construct signatures (rather than inference of a class type
 * parameter) keep the handler's argument contextually typed as `DeadLetter`.
 */
export type CdpClient<DL extends DeadLetterHandler | undefined = undefined> = Client<DL>;
export const CdpClient: {
  new (options: CdpClientOptions<DeadLetterHandler> & { onDeadLetter: DeadLetterHandler }): CdpClient<DeadLetterHandler>;
  new (options: CdpClientOptions<undefined>): CdpClient<undefined>;
  new (options: CdpClientOptions): CdpClient<DeadLetterHandler | undefined>;
} = Client;

function segment(value: string): string {
  return encodeURIComponent(value);
}
