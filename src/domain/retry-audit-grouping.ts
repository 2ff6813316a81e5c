import type { AuditAttempt, AuditOperation, JournalEntry } from "./control-plane.js";
import { canonicalJson } from "./fingerprint.js";
import { operationNames, type OperationName } from "./vocabulary.js";

/**
 * How the retry audit reads a journal: entries cut down to attempts, and write attempts grouped
 * into the logical operations the guides' retry rules talk about. Split from retry-audit.ts,
 * which holds the rules themselves.
 */

/** The public writes: the operations an Idempotency-Key exists for. */
export const writeOperations: ReadonlySet<string> = new Set<OperationName>(["append", "upsert", "append-batch", "upsert-batch"]);
/** Failures the guides retry (RETRYABLE_STATUS of error-handling-and-retries.txt). */
export const retryableStatuses: ReadonlySet<number> = new Set([409, 429, 500, 502, 503, 504]);
/** Failures the guides never retry: the data or the credentials are wrong. */
export const clientErrorStatuses: ReadonlySet<number> = new Set([400, 401, 403, 404, 413, 422]);

/** A journal entry as the rules read it: the attempt the report shows, and what only the rules need. */
export interface Sent {
  attempt: AuditAttempt;
  /** Seconds; null when the response carried none (or no response was sent). */
  retryAfter: number | null;
  /** X-RateLimit-Remaining of the response; null when absent. */
  remaining: number | null;
  /** The request body as canonical JSON; null when there was none. */
  body: string | null;
  object: string | null;
  /** A job status read's answer: whether the job had finished (completed or failed); null when not one, or unreadable. */
  jobFinished: boolean | null;
}

/** A logical write: the attempts of one operation, in the order they arrived. */
export interface Logical {
  operation: OperationName;
  object: string | null;
  key: string | null;
  keyChanged: boolean;
  sent: Sent[];
}

function operationOf(name: string | null): OperationName | null {
  return (operationNames as readonly (string | null)[]).includes(name) ? (name as OperationName) : null;
}

function header(entry: JournalEntry, name: string): string | null {
  return entry.responseHeaders?.[name] ?? null;
}

/** Delay-seconds, fractions allowed (what the emulator and the guides' `float(...)` read); an HTTP date is not judged. */
function retryAfterSeconds(value: string | null): number | null {
  if (value === null || !/^\s*\d+(\.\d+)?\s*$/.test(value)) return null;
  return Number(value);
}

function remainingOf(value: string | null): number | null {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return null;
  return Number(value);
}

export function toSent(entry: JournalEntry): Sent {
  return {
    attempt: {
      seq: entry.seq,
      at: entry.at,
      wallMs: entry.wallMs,
      durationMs: entry.durationMs,
      method: entry.method,
      path: entry.path,
      operation: operationOf(entry.operation),
      status: entry.status,
      idempotencyKey: entry.idempotencyKey,
      fault: entry.fault,
      replayed: entry.replayed,
    },
    retryAfter: retryAfterSeconds(header(entry, "retry-after")),
    remaining: remainingOf(header(entry, "x-ratelimit-remaining")),
    body: entry.requestBody === null || entry.requestBody === undefined ? null : canonicalJson(entry.requestBody),
    object: entry.object,
    jobFinished: jobFinished(entry),
  };
}

/** Whether a job status response showed the job at its end, so a read after it is no longer a poll. */
function jobFinished(entry: JournalEntry): boolean | null {
  if (entry.operation !== "job-status") return null;
  const body = entry.responseBody;
  const data = body !== null && typeof body === "object" && "data" in body ? body.data : undefined;
  const state = data !== null && typeof data === "object" && "state" in data ? data.state : undefined;
  return typeof state === "string" ? state === "completed" || state === "failed" : null;
}

/** Arrival order: real time first, then seq (the journal numbers exchanges as they end, not as they start). */
export function byArrival(a: Sent, b: Sent): number {
  return a.attempt.wallMs - b.attempt.wallMs || a.attempt.seq - b.attempt.seq;
}

/** Whether an attempt ended in a failure a client may retry: a retryable status, or no response. */
export function failedRetryably(sent: Sent): boolean {
  return sent.attempt.status === null || retryableStatuses.has(sent.attempt.status);
}

/**
 * When an attempt ended as the client saw it. With no response (reset, dropped, timed out) the
 * server's end may come long after the client gave up, so the start stands in: a wait is then
 * measured generously, never failing a client for the server's own hold.
 */
export function endOf(sent: Sent): number {
  return sent.attempt.status === null ? sent.attempt.wallMs : sent.attempt.wallMs + sent.attempt.durationMs;
}

/**
 * Write attempts grouped into logical operations. Attempts sharing an Idempotency-Key are one
 * operation. An attempt under a new key (or none) joins an earlier operation when it sends the
 * same canonical body to the same operation and object right after that operation's latest
 * attempt failed retryably: the same write re-sent, with its key changed (`keyChanged`).
 */
export function groupWrites(sent: readonly Sent[]): Logical[] {
  const logicals: Logical[] = [];
  const byKey = new Map<string, Logical>();
  // operation, object and body → the operation whose latest attempt sent it and failed retryably.
  const awaitingRetry = new Map<string, Logical>();
  const bodyKey = (operation: string, object: string | null, body: string): string => `${operation}\n${object ?? ""}\n${body}`;

  for (const one of [...sent].sort(byArrival)) {
    const operation = one.attempt.operation;
    if (operation === null || !writeOperations.has(operation)) continue;
    const key = one.attempt.idempotencyKey;
    let logical = key === null ? undefined : byKey.get(key);
    if (logical === undefined && one.body !== null) {
      const candidate = awaitingRetry.get(bodyKey(operation, one.object, one.body));
      if (candidate !== undefined) {
        logical = candidate;
        logical.keyChanged = true;
      }
    }
    if (logical === undefined) {
      logical = { operation, object: one.object, key, keyChanged: false, sent: [] };
      logicals.push(logical);
    } else if (key !== logical.key) {
      logical.keyChanged = true;
    }
    // Only the latest attempt's failure invites a retry: once it is re-sent, its body no longer does.
    const previous = logical.sent.at(-1);
    if (previous !== undefined && previous.body !== null) {
      const earlier = bodyKey(previous.attempt.operation ?? operation, previous.object, previous.body);
      if (awaitingRetry.get(earlier) === logical) awaitingRetry.delete(earlier);
    }
    logical.sent.push(one);
    if (key !== null && !byKey.has(key)) byKey.set(key, logical);
    if (one.body !== null && failedRetryably(one)) awaitingRetry.set(bodyKey(operation, one.object, one.body), logical);
  }
  return logicals;
}

export function presentOperation(logical: Logical): AuditOperation {
  return {
    operation: logical.operation,
    object: logical.object,
    idempotencyKey: logical.key,
    keyChanged: logical.keyChanged,
    attempts: logical.sent.map((one) => one.attempt),
  };
}

/** Real milliseconds as a report shows them: whole, or one decimal under 10. */
export function ms(value: number): string {
  const rounded = Math.abs(value) < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${rounded} ms`;
}
