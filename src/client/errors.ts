import type { DeadLetter } from "./options.js";

/**
 * One error type for every failure the client reports, classified the way the vendor's
 * "Error Handling & Retries" guide does, so callers can route it (retry later, DLQ, alert).
 */

export type FailureType = "transient" | "schema" | "bad_data" | "auth";

/** Statuses the guide says to retry: conflicts, rate limits and server errors. */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([409, 429, 500, 502, 503, 504]);

/**
 * Codes the client itself raises when there is no API error to report. `status` is 0 when no
 * HTTP response arrived (network, timeout, job wait); a malformed response keeps its status.
 */
export const CLIENT_ERROR_CODES = {
  /** The connection failed or was reset before a response arrived. Retryable. */
  network: "CLIENT.NETWORK_ERROR",
  /** An attempt took longer than `retry.attemptTimeoutMs`. Retryable. */
  timeout: "CLIENT.TIMEOUT",
  /** A response arrived that is not the API's JSON; the write may have committed. Retryable. */
  malformed: "CLIENT.MALFORMED_RESPONSE",
  /** `waitForJob` gave up before the job reached a terminal state. */
  jobWaitTimeout: "CLIENT.JOB_WAIT_TIMEOUT",
} as const;

const TRANSIENT_CLIENT_CODES: ReadonlySet<string> = new Set([
  CLIENT_ERROR_CODES.network,
  CLIENT_ERROR_CODES.timeout,
  CLIENT_ERROR_CODES.malformed,
  CLIENT_ERROR_CODES.jobWaitTimeout,
]);

/** The guide's `classify_error`, extended to the client's own transport failures. */
export function classifyFailure(status: number, code: string): FailureType {
  if (RETRYABLE_STATUS.has(status) || TRANSIENT_CLIENT_CODES.has(code)) return "transient";
  if (code === "CDP_ETL.VALIDATION.REQUEST_SCHEMA") return "schema";
  if (code === "CDP_ETL.VALIDATION.REQUEST_INVALID") return "bad_data";
  if (status === 401 || status === 403) return "auth";
  return "bad_data";
}

export interface CdpApiErrorInit {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  correlationId?: string | null;
  attempts?: number;
  idempotencyKey?: string;
  /** Seconds the API asked us to wait (`Retry-After`), when it did. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class CdpApiError extends Error {
  override readonly name = "CdpApiError";
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly correlationId: string | null;
  /** How many HTTP attempts the call made before giving up. */
  readonly attempts: number;
  readonly failureType: FailureType;
  readonly idempotencyKey: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(init: CdpApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? null;
    this.correlationId = init.correlationId ?? null;
    this.attempts = init.attempts ?? 1;
    this.failureType = classifyFailure(init.status, init.code);
    this.idempotencyKey = init.idempotencyKey;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }

  /** Whether another attempt with the same Idempotency-Key could succeed. */
  get retryable(): boolean {
    return this.failureType === "transient";
  }

  /** The same error, counting the attempts the whole call made. */
  withAttempts(attempts: number): CdpApiError {
    return new CdpApiError({
      status: this.status,
      code: this.code,
      message: this.message,
      details: this.details,
      correlationId: this.correlationId,
      attempts,
      ...(this.idempotencyKey === undefined ? {} : { idempotencyKey: this.idempotencyKey }),
      ...(this.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: this.retryAfterSeconds }),
      ...(this.cause === undefined ? {} : { cause: this.cause }),
    });
  }
}

/**
 * A batch the API refused for good, thrown by `RecordBuffer.flush()`/`close()` when neither the
 * buffer nor its client has a dead-letter route. It carries the dead letter (records, key, the
 * API's error), so the caller can still route the records; the buffer has let go of them.
 */
export class BatchRefusedError extends Error {
  override readonly name = "BatchRefusedError";
  constructor(readonly letter: DeadLetter) {
    super(`${letter.object} ${letter.operation} of ${letter.records.length} records refused for good: ${letter.error.code}: ${letter.error.message}`, {
      cause: letter.error,
    });
  }

  get records(): DeadLetter["records"] {
    return this.letter.records;
  }
}
