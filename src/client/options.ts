import type { CdpApiError, FailureType } from "./errors.js";
import type { RetryOptions, Sleep } from "./retry.js";
import type { JsonRecord, WriteResult } from "./types.js";

/** What `CdpClient` and its calls take, and what a refused write hands to a dead-letter handler. */

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
