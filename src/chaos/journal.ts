import { StringDecoder } from "node:string_decoder";
import { ApiError } from "../domain/errors.js";

/**
 * A bounded, in-memory ring of the public requests the emulator has seen, so a test can ask
 * "what did my client actually send?" Entries carry no headers at all — in particular never
 * the Authorization header — and large bodies are capped.
 */

export interface JournalEntry {
  seq: number;
  /** ISO timestamp from the emulator clock when the request arrived. */
  at: string;
  method: string;
  path: string;
  operation: string | null;
  object: string | null;
  workspace: string | null;
  idempotencyKey: string | null;
  correlationId: string;
  /** null = no response was sent (connection reset or dropped). */
  status: number | null;
  fault: string | null;
  replayed: boolean;
  durationMs: number;
  /**
   * The parsed JSON body when its raw size is at most 16 KB; otherwise
   * `{ truncated: true, bytes, preview }`; null when there was no body.
   */
  requestBody: unknown;
  /** The response body, capped and shaped like `requestBody`; null when nothing was sent. */
  responseBody: unknown;
}

export type NewJournalEntry = Omit<JournalEntry, "seq" | "requestBody" | "responseBody"> & {
  requestBody: { raw: Buffer | undefined; parsed: unknown };
  /** What was sent as the body (a JSON text, usually); parsed only when the entry is made. */
  responseBody?: string | Buffer;
};

/** What a subscriber hears: each entry once it is recorded, and every clear. */
export type JournalEvent = { kind: "entry"; entry: JournalEntry } | { kind: "cleared"; workspace: string | null };
export type JournalListener = (event: JournalEvent) => void;

export interface JournalFilter {
  operation?: string;
  object?: string;
  status?: number;
  idempotencyKey?: string;
  workspace?: string;
  /** An ISO timestamp (entries at or after it) or a seq as a decimal string (entries after it). */
  since?: string;
}

export const maxJournalBodyBytes = 16 * 1024;
export const defaultJournalQueryLimit = 100;
export const maxJournalQueryLimit = 10_000;

interface Slot {
  entry: JournalEntry;
  atMs: number;
}

export class Journal {
  readonly #capacity: number;
  /** A ring: `#slots[(#head + i) % capacity]` is the i-th oldest of `#size` entries. */
  #slots: (Slot | undefined)[];
  #head = 0;
  #size = 0;
  #nextSeq = 1;
  readonly #listeners = new Set<JournalListener>();

  constructor(options: { capacity: number }) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`journal capacity must be a whole number ≥ 1, got ${options.capacity}`);
    }
    this.#capacity = options.capacity;
    this.#slots = new Array<Slot | undefined>(options.capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Store an entry, giving it the next seq; beyond capacity the oldest entry goes. */
  record(input: NewJournalEntry): JournalEntry {
    // Field by field, not a spread: whatever else a caller's object carries (headers, say)
    // never reaches the journal.
    const entry: JournalEntry = {
      seq: this.#nextSeq++,
      at: input.at,
      method: input.method,
      path: input.path,
      operation: input.operation,
      object: input.object,
      workspace: input.workspace,
      idempotencyKey: input.idempotencyKey,
      correlationId: input.correlationId,
      status: input.status,
      fault: input.fault,
      replayed: input.replayed,
      durationMs: input.durationMs,
      requestBody: capBody(input.requestBody),
      responseBody: capResponseBody(input.responseBody),
    };
    const slot: Slot = { entry, atMs: Date.parse(entry.at) };
    if (this.#size < this.#capacity) {
      this.#slots[(this.#head + this.#size) % this.#capacity] = slot;
      this.#size++;
    } else {
      this.#slots[this.#head] = slot;
      this.#head = (this.#head + 1) % this.#capacity;
    }
    if (this.#listeners.size > 0) this.#emit({ kind: "entry", entry });
    return entry;
  }

  /**
   * Calls `listener` synchronously for every entry recorded and every clear from now on; returns
   * the unsubscribe function. A listener that throws is dropped, so it cannot break recording.
   */
  subscribe(listener: JournalListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #emit(event: JournalEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        this.#listeners.delete(listener);
      }
    }
  }

  /** The most recent `limit` entries that match, oldest first. */
  query(filter: JournalFilter, limit: number): JournalEntry[] {
    const matches = compileFilter(filter);
    const found: JournalEntry[] = [];
    for (let i = this.#size - 1; i >= 0 && found.length < limit; i--) {
      const slot = this.#at(i);
      if (matches(slot)) found.push(slot.entry);
    }
    return found.reverse();
  }

  count(filter: JournalFilter): number {
    const matches = compileFilter(filter);
    let n = 0;
    for (let i = 0; i < this.#size; i++) if (matches(this.#at(i))) n++;
    return n;
  }

  /** Forget every entry, or only one workspace's. Seqs are never reused. */
  clear(workspace?: string): void {
    const kept: Slot[] = [];
    if (workspace !== undefined) {
      for (let i = 0; i < this.#size; i++) {
        const slot = this.#at(i);
        if (slot.entry.workspace !== workspace) kept.push(slot);
      }
    }
    this.#slots = new Array<Slot | undefined>(this.#capacity);
    kept.forEach((slot, i) => (this.#slots[i] = slot));
    this.#head = 0;
    this.#size = kept.length;
    if (this.#listeners.size > 0) this.#emit({ kind: "cleared", workspace: workspace ?? null });
  }

  #at(i: number): Slot {
    const slot = this.#slots[(this.#head + i) % this.#capacity];
    if (slot === undefined) throw new Error(`journal ring has no entry at ${i}`);
    return slot;
  }
}

/**
 * The body as the journal keeps it. Parsed bodies are copied so later changes to `req.body`
 * cannot rewrite history. A body that has raw bytes but did not parse (malformed JSON, another
 * content type) is kept as text: `{ unparsed: true, bytes, preview }`.
 */
function capBody(body: { raw: Buffer | undefined; parsed: unknown }): unknown {
  const { raw, parsed } = body;
  if (raw === undefined || raw.length === 0) {
    if (parsed === undefined) return null;
    // No raw bytes to measure (a caller that only has the parsed value): measure its JSON.
    const text = JSON.stringify(parsed);
    if (text === undefined) return null;
    return capBody({ raw: Buffer.from(text, "utf8"), parsed });
  }
  if (raw.length > maxJournalBodyBytes) {
    return { truncated: true, bytes: raw.length, preview: utf8Prefix(raw, maxJournalBodyBytes) };
  }
  if (parsed === undefined) return { unparsed: true, bytes: raw.length, preview: raw.toString("utf8") };
  try {
    return structuredClone(parsed);
  } catch {
    return parsed; // not plain data (never the case for parsed JSON); keep it as given
  }
}

/** The response as the journal keeps it: parsed JSON when it is, else as capped text, like a request body. */
function capResponseBody(body: string | Buffer | undefined): unknown {
  if (body === undefined) return null;
  const bytes = typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.length;
  if (bytes === 0) return null;
  if (bytes <= maxJournalBodyBytes) {
    try {
      return JSON.parse(typeof body === "string" ? body : body.toString("utf8")) as unknown;
    } catch {
      // not JSON (a malformed fault's half body): kept as text below
    }
  }
  return capBody({ raw: typeof body === "string" ? Buffer.from(body, "utf8") : body, parsed: undefined });
}

/** The first `bytes` bytes as text, without a broken character at the cut. */
function utf8Prefix(raw: Buffer, bytes: number): string {
  return new StringDecoder("utf8").write(raw.subarray(0, bytes));
}

function compileFilter(filter: JournalFilter): (slot: Slot) => boolean {
  const since = filter.since === undefined ? undefined : parseSince(filter.since, "since");
  return ({ entry, atMs }) =>
    (filter.operation === undefined || entry.operation === filter.operation) &&
    (filter.object === undefined || entry.object === filter.object) &&
    (filter.status === undefined || entry.status === filter.status) &&
    (filter.idempotencyKey === undefined || entry.idempotencyKey === filter.idempotencyKey) &&
    (filter.workspace === undefined || entry.workspace === filter.workspace) &&
    (since === undefined || (since.kind === "seq" ? entry.seq > since.seq : atMs >= since.atMs));
}

type Since = { kind: "seq"; seq: number } | { kind: "time"; atMs: number };

const isoTimestamp =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/**
 * A decimal seq, or an ISO 8601 date or date-time. A date-time without an offset is read as
 * UTC, like the emulator clock's own timestamps.
 */
function parseSince(text: string, param: string): Since {
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

function invalidParam(param: string, problem: string, value: unknown): ApiError {
  return new ApiError("REQUEST_INVALID", `${param}: ${problem}`, { details: { path: param, value } });
}
