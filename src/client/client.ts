import { CdpApiError, CLIENT_ERROR_CODES, type FailureType } from "./errors.js";
import { randomKey } from "./keys.js";
import {
  abortableSleep,
  parseRetryAfterMs,
  resolveRetryOptions,
  retryDelayMs,
  type RetryOptions,
  type Sleep,
} from "./retry.js";
import type { BatchAck, Job, JsonRecord, ObjectMetadata, RowError, WriteAck, WriteResult } from "./types.js";

/** pino's calling convention (`logger.warn(context, message)`), which console also accepts. */
export interface ClientLogger {
  warn(context: Record<string, unknown>, message: string): void;
  debug?(context: Record<string, unknown>, message: string): void;
}

/** What `onDeadLetter` receives: the guide's DLQ message, plus the error itself. */
export interface DeadLetter {
  operation: "append" | "upsert" | "append-batch" | "upsert-batch";
  object: string;
  /** The record (single writes) or records (batches) that were refused. */
  records: JsonRecord[];
  idempotencyKey: string;
  error: CdpApiError;
  failureType: FailureType;
  /** ISO 8601 time the failure was handed over. */
  failedAt: string;
}

export type DeadLetterHandler = (letter: DeadLetter) => void | Promise<void>;

export interface CdpClientOptions<DL extends DeadLetterHandler | undefined = DeadLetterHandler | undefined> {
  /** Up to and including `/public/v1`, e.g. `http://127.0.0.1:4010/public/v1`. */
  baseUrl: string;
  /** Bearer token. */
  token: string;
  retry?: Partial<RetryOptions>;
  /** Defaults to the platform's `fetch`. */
  fetch?: typeof fetch;
  /** Retries, backpressure and dead letters are logged at warn; silent when absent. */
  logger?: ClientLogger;
  /**
   * Where non-retryable write failures go (schema, bad data, auth). With a handler, a refused
   * write resolves to `undefined` after the handler ran; without one, it throws `CdpApiError`.
   * Transient failures that outlast every retry always throw: the caller decides whether to
   * retry later (a webhook handler answers 503, a queue consumer leaves the message).
   */
  onDeadLetter?: DL;
  /** For tests: the jitter source (default Math.random). */
  random?: () => number;
  /** For tests: how the client waits between attempts and polls (default setTimeout). */
  sleep?: Sleep;
  /** For tests: the time source for Retry-After dates, polling deadlines and dead letters. */
  now?: () => number;
}

export interface WriteOptions {
  /**
   * Sent on every attempt of this call. Pass a key tied to the logical event (an upstream event
   * id, or `stableKey(record)`); when absent the client generates a random one per call, which
   * protects the call's own retries but not a re-run of the caller.
   */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface UpsertOptions extends WriteOptions {
  /** One of the object's identity keys; the API defaults to the object's primary key. */
  matchKey?: string;
}

export interface WaitForJobOptions {
  /** Give up after this long (default 120,000 ms, the guide's `timeout=120`). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** First delay between polls (default 2,000 ms), multiplied by `backoffFactor` (1.5) up to `maxDelayMs` (15,000). */
  initialDelayMs?: number;
  backoffFactor?: number;
  maxDelayMs?: number;
}

export interface JobErrorsOptions {
  /** Rows per page (the API allows 1–1000; default 100). */
  pageSize?: number;
  signal?: AbortSignal;
}

/** A write's resolved value: undefined only when a dead-letter handler took the failure. */
export type Written<T, DL> = DL extends DeadLetterHandler ? WriteResult<T> | undefined : WriteResult<T>;

interface RequestSpec {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal | undefined;
}

interface Answer<T> {
  data: T;
  status: number;
  correlationId: string | null;
  attempts: number;
  replayed: boolean;
}

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
  private readonly token: string;
  private readonly fetchImpl: typeof fetch;
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
    this.token = options.token;
    this.retry = resolveRetryOptions(options.retry);
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.logger = options.logger;
    this.onDeadLetter = options.onDeadLetter;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? abortableSleep;
    this.now = options.now ?? Date.now;
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
        const answer = await this.attempt<T>(spec, url, body);
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

  /** One HTTP attempt under its own timeout; every failure becomes a CdpApiError. */
  private async attempt<T>(spec: RequestSpec, url: URL, body: string | undefined): Promise<Omit<Answer<T>, "attempts">> {
    if (spec.signal?.aborted) throw spec.signal.reason;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("attempt timed out")), this.retry.attemptTimeoutMs);
    const onCallerAbort = (): void => controller.abort(spec.signal?.reason);
    spec.signal?.addEventListener("abort", onCallerAbort, { once: true });

    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    if (spec.body !== undefined) headers["Content-Type"] = "application/json";
    if (spec.idempotencyKey !== undefined) headers["Idempotency-Key"] = spec.idempotencyKey;
    const base = { idempotencyKey: spec.idempotencyKey, attempts: 1 };

    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, {
        method: spec.method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: controller.signal,
      });
      text = await response.text();
    } catch (error) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      const timedOut = controller.signal.aborted;
      throw new CdpApiError({
        ...base,
        status: 0,
        code: timedOut ? CLIENT_ERROR_CODES.timeout : CLIENT_ERROR_CODES.network,
        message: timedOut
          ? `${spec.method} ${spec.path}: no complete response within ${this.retry.attemptTimeoutMs} ms`
          : `${spec.method} ${spec.path}: ${describeNetworkError(error)}`,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener("abort", onCallerAbort);
    }

    const correlationId = response.headers.get("x-correlation-id");
    this.noteRateLimit(response.headers);
    const parsed = parseJson(text);

    if (response.ok) {
      const data = isRecord(parsed) && parsed["success"] === true ? parsed["data"] : undefined;
      if (data === undefined) {
        // A 2xx that is not the API's envelope: the write may have happened, so this is a
        // retry with the same key (which replays the real answer), never a success.
        throw new CdpApiError({
          ...base,
          status: response.status,
          code: CLIENT_ERROR_CODES.malformed,
          message: `${spec.method} ${spec.path}: ${response.status} with a body that is not the API's JSON envelope (${preview(text)})`,
          correlationId,
        });
      }
      return {
        data: data as T,
        status: response.status,
        correlationId,
        replayed: response.headers.get("idempotent-replayed") === "true",
      };
    }

    const envelope = isRecord(parsed) && isRecord(parsed["error"]) ? parsed["error"] : undefined;
    const code = typeof envelope?.["code"] === "string" ? envelope["code"] : `HTTP_${response.status}`;
    const message = typeof envelope?.["message"] === "string" ? envelope["message"] : `${response.status} ${response.statusText} (${preview(text)})`;
    const retryAfterMs = parseRetryAfterMs(response.headers.get("retry-after"), this.now());
    throw new CdpApiError({
      ...base,
      status: response.status,
      code,
      message,
      details: envelope?.["details"] ?? null,
      correlationId,
      ...(retryAfterMs === undefined ? {} : { retryAfterSeconds: retryAfterMs / 1000 }),
    });
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat === "") return "empty body";
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

/** undici hides the useful part (ECONNRESET, ECONNREFUSED…) in `cause`. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return `${error.message} (${typeof code === "string" ? `${code}: ` : ""}${cause.message})`;
  }
  return error.message;
}
