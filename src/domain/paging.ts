import { ApiError } from "./errors.js";

/**
 * Query-string paging shared by the public job-errors listing and the control plane's lists:
 * `limit` (1–1000, default 100) and an opaque `cursor` that wraps a position number.
 */
export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

/** A query parameter given at most once, as text. */
export function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw new ApiError("REQUEST_INVALID", `${name}: give it once, as a single value`, { details: { path: name } });
  }
  return value;
}

export function pageLimit(raw: unknown): number {
  const text = optionalString(raw, "limit");
  if (text === undefined) return DEFAULT_PAGE;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > MAX_PAGE) {
    throw new ApiError("REQUEST_INVALID", `limit: must be a whole number from 1 to ${MAX_PAGE}`, {
      details: { path: "limit", value: text },
    });
  }
  return limit;
}

export const encodeCursor = (position: number): string => Buffer.from(`p:${position}`).toString("base64url");

/** The position a cursor wraps; 0 when there is none. */
export function decodeCursor(raw: unknown): number {
  const text = optionalString(raw, "cursor");
  if (text === undefined) return 0;
  const match = /^p:(\d+)$/.exec(Buffer.from(text, "base64url").toString("utf8"));
  if (!match?.[1]) {
    throw new ApiError("REQUEST_INVALID", "cursor: not a cursor this endpoint returned; pass nextCursor as given", {
      details: { path: "cursor", value: text },
    });
  }
  return Number(match[1]);
}

/** One page of a keyset listing and the cursor of the next; null when this page is the last. */
export interface KeysetPage<T> {
  items: T[];
  nextCursor: string | null;
}

/** `limit` and `cursor` from a query string, checked: where a keyset listing resumes. */
export interface PageRequest {
  limit: number;
  /** The position of the previous page's last item; 0 for the first page. */
  after: number;
}

export function parsePageRequest(query: { limit?: unknown; cursor?: unknown }): PageRequest {
  return { limit: pageLimit(query.limit), after: decodeCursor(query.cursor) };
}

/**
 * Pages a keyset listing: `fetch` is asked for one item more than the page holds, so whether a
 * next page exists is known without a count, and the cursor wraps the page's last position.
 */
export function keysetPage<T>(options: {
  request: PageRequest;
  fetch: (window: { after: number; limit: number }) => readonly T[];
  position: (item: T) => number;
}): KeysetPage<T> {
  const { request, fetch, position } = options;
  const rows = fetch({ after: request.after, limit: request.limit + 1 });
  const items = rows.slice(0, request.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > request.limit && last !== undefined ? encodeCursor(position(last)) : null };
}
