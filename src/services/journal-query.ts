import type { JournalEntry, JournalFilter } from "../domain/control-plane.js";
import { ApiError } from "../domain/errors.js";
import { defaultJournalQueryLimit, invalidParam, maxJournalQueryLimit, parseSince, type Journal } from "../runtime/journal.js";

/**
 * The journal as a test reads it: which requests arrived and what they were answered, filtered,
 * counted, or cleared between test cases.
 */

const filterParams = ["operation", "object", "status", "idempotencyKey", "workspace", "since", "limit"] as const;

/** The journal filter from Express's `req.query`, checked strictly. */
export function parseJournalFilter(query: Record<string, unknown>): JournalFilter & { limit: number } {
  const unknown = Object.keys(query).filter((key) => !(filterParams as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new ApiError(
      "REQUEST_INVALID",
      `unknown query parameter${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; accepted: ${filterParams.join(", ")}`,
      { details: { path: unknown[0] ?? "", value: unknown } },
    );
  }

  const out: JournalFilter & { limit: number } = { limit: defaultJournalQueryLimit };
  for (const param of filterParams) {
    const text = single(query, param);
    if (text === undefined) continue;
    switch (param) {
      case "status": {
        const status = /^\d{3}$/.test(text) ? Number(text) : NaN;
        if (!(status >= 100 && status <= 599)) {
          throw invalidParam(param, "must be an HTTP status code from 100 to 599", text);
        }
        out.status = status;
        break;
      }
      case "limit": {
        const limit = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
        if (!(limit >= 1 && limit <= maxJournalQueryLimit)) {
          throw invalidParam(param, `must be a whole number from 1 to ${maxJournalQueryLimit}`, text);
        }
        out.limit = limit;
        break;
      }
      case "since":
        parseSince(text, param);
        out.since = text;
        break;
      default:
        out[param] = text;
    }
  }
  return out;
}

function single(query: Record<string, unknown>, param: string): string | undefined {
  const value = query[param];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw invalidParam(param, "give this parameter once", value);
  if (typeof value !== "string") throw invalidParam(param, "must be a plain string", value);
  if (value === "") throw invalidParam(param, "must not be empty", value);
  return value;
}

export class JournalQueries {
  readonly #journal: Journal;

  constructor(deps: { journal: Journal }) {
    this.#journal = deps.journal;
  }

  /** The most recent `limit` entries the filter keeps. */
  entries(query: JournalFilter & { limit: number }): { entries: JournalEntry[] } {
    const { limit, ...filter } = query;
    return { entries: this.#journal.query(filter, limit) };
  }

  /** How many entries the filter keeps, whatever the limit. */
  count(query: JournalFilter & { limit?: number }): { count: number } {
    const { limit: _limit, ...filter } = query;
    return { count: this.#journal.count(filter) };
  }

  /** Empties the journal; answers how many entries went. */
  clear(): { cleared: number } {
    const cleared = this.#journal.size;
    this.#journal.clear();
    return { cleared };
  }
}
