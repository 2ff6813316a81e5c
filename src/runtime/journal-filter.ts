import type { JournalEntry, JournalFilter } from "../domain/control-plane.js";
import { ApiError } from "../domain/errors.js";

/**
 * Which journal entries a query means: its filter compiled once into a test, and `since` read as
 * a seq or a timestamp. Split from journal.ts, which keeps the ring.
 */

/** What a filter looks at: an entry's facts, and when it arrived in epoch ms. */
export interface FilterTarget {
  entry: Pick<JournalEntry, "seq" | "operation" | "object" | "status" | "idempotencyKey" | "workspace">;
  atMs: number;
}

/** The filter as one test per entry; an unreadable `since` throws here, before any entry is looked at. */
export function compileFilter(filter: JournalFilter): (target: FilterTarget) => boolean {
  const since = filter.since === undefined ? undefined : parseSince(filter.since, "since");
  return ({ entry, atMs }) =>
    (filter.operation === undefined || entry.operation === filter.operation) &&
    (filter.object === undefined || entry.object === filter.object) &&
    (filter.status === undefined || entry.status === filter.status) &&
    (filter.idempotencyKey === undefined || entry.idempotencyKey === filter.idempotencyKey) &&
    (filter.workspace === undefined || entry.workspace === filter.workspace) &&
    (since === undefined || (since.kind === "seq" ? entry.seq > since.seq : atMs >= since.atMs));
}

export type Since = { kind: "seq"; seq: number } | { kind: "time"; atMs: number };

const isoTimestamp =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/**
 * A decimal seq, or an ISO 8601 date or date-time. A date-time without an offset is read as
 * UTC, like the emulator clock's own timestamps.
 */
export function parseSince(text: string, param: string): Since {
  if (/^\d+$/.test(text)) {
    const seq = Number(text);
    if (Number.isSafeInteger(seq)) return { kind: "seq", seq };
  }
  const match = isoTimestamp.exec(text);
  if (match !== null) {
    const [, year, month, day, hour, minute, second, zone] = match;
    const normalized = hour !== undefined && zone === undefined ? `${text}Z` : text;
    const atMs = Date.parse(normalized);
    const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
    const realDate =
      date.getUTCFullYear() === Number(year) &&
      date.getUTCMonth() === Number(month) - 1 &&
      date.getUTCDate() === Number(day);
    const realTime = Number(hour ?? 0) < 24 && Number(minute ?? 0) < 60 && Number(second ?? 0) < 60;
    if (!Number.isNaN(atMs) && realDate && realTime) return { kind: "time", atMs };
  }
  throw invalidParam(param, "must be an ISO 8601 timestamp (e.g. 2024-05-01T12:00:00Z) or a seq number", text);
}

export function invalidParam(param: string, problem: string, value: unknown): ApiError {
  return new ApiError("REQUEST_INVALID", `${param}: ${problem}`, { details: { path: param, value } });
}
