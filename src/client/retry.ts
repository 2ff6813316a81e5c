/**
 * Retry timing as the vendor's guide prescribes: exponential backoff with jitter, capped, and
 * never shorter than what `Retry-After` asks for. Pure functions plus an abortable sleep, so the
 * client's loop stays readable and tests can check the arithmetic without waiting.
 */

export interface RetryOptions {
  /** Attempts per call, the first included. Default 5 (the guide's `max_attempts`). */
  maxAttempts: number;
  /** Delay before the second attempt; doubles each time. Default 1000 ms (the guide's 1 s). */
  baseDelayMs: number;
  /** Ceiling of the computed backoff (not of `Retry-After`). Default 30,000 ms. */
  maxDelayMs: number;
  /**
   * Longest one attempt may take, body included, before it is abandoned and retried. Default
   * 35,000 ms: above the API's own 30 s limit (its 504) and `Prefer: wait`'s 30 s cap.
   */
  attemptTimeoutMs: number;
  /** Below this `X-RateLimit-Remaining`, the next request waits voluntarily. Default 10. */
  backpressureThreshold: number;
  /** How long that voluntary wait is. Default 500 ms (the guide's `time.sleep(0.5)`). */
  backpressureDelayMs: number;
}

export const DEFAULT_RETRY_OPTIONS: Readonly<RetryOptions> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  attemptTimeoutMs: 35_000,
  backpressureThreshold: 10,
  backpressureDelayMs: 500,
});

export function resolveRetryOptions(given: Partial<RetryOptions> | undefined): RetryOptions {
  const options = { ...DEFAULT_RETRY_OPTIONS, ...given };
  for (const [name, value] of Object.entries(options)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`retry.${name} must be a finite number ≥ 0 (got ${String(value)})`);
    }
  }
  if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
    throw new RangeError(`retry.maxAttempts must be an integer ≥ 1 (got ${options.maxAttempts})`);
  }
  return options;
}

/**
 * Backoff after the given failed attempt (1 for the first): base × 2^(attempt−1) plus up to one
 * base of random jitter, capped at maxDelayMs. The jitter scales with the base rather than being
 * the guide's fixed second, so a test that sets a 10 ms base is not slowed to seconds.
 */
export function backoffDelayMs(attempt: number, options: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs">, random: () => number): number {
  const exponential = options.baseDelayMs * 2 ** (attempt - 1);
  return Math.min(options.maxDelayMs, exponential + random() * options.baseDelayMs);
}

/**
 * `Retry-After` in milliseconds: delta-seconds, fractions allowed (`2.5`, as the API sends), or
 * an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * What to wait before the next attempt: the larger of the backoff and what the API asked for.
 * Retry-After gets jitter too (up to one base delay on top, never below it): callers refused
 * together are told the same time, and would otherwise come back together and lose together.
 */
export function retryDelayMs(options: {
  attempt: number;
  retryAfterMs: number | undefined;
  retry: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs">;
  random: () => number;
}): number {
  const backoff = backoffDelayMs(options.attempt, options.retry, options.random);
  if (options.retryAfterMs === undefined) return backoff;
  return Math.max(options.retryAfterMs + options.random() * options.retry.baseDelayMs, backoff);
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** setTimeout as a promise that rejects with the signal's reason when the caller aborts. */
export const abortableSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
