import { StringDecoder } from "node:string_decoder";
import { ApiError } from "../domain/errors.js";
import { parseJsonBounded } from "../domain/json-safety.js";

/**
 * A bounded, in-memory ring of the public requests the emulator has seen, so a test can ask
 * "what did my client actually send?" Entries carry the request's and the response's headers,
 * capped, and never the credentials among them (Authorization, Cookie, Proxy-Authorization,
 * Set-Cookie: see `unjournaledHeaders`); large bodies are capped.
 *
 * Bodies are kept as the bytes that came in and went out (at most 16 KB of each), headers as one
 * JSON text per side (at most 64 headers and 8 KB in all), and parsed only when an entry is read:
 * parsed objects cost several times their JSON in heap, and a parse at write time would be spent
 * on entries nobody reads. Reading parses with `parseJsonBounded`, so
 * whatever a client sent (nested 5,000 deep, lone surrogates, not JSON at all) is presented as
 * JSON at most 64 levels deep with well-formed strings, or as a flat text preview: data that
 * JSON.stringify and structuredClone always handle, so no stored entry can make a later read fail.
 *
 * One ring holds every workspace's entries. It evicts oldest first when it holds `capacity`
 * entries or when its entries cost more than `maxBytes` (kept body bytes, the client-chosen
 * strings, and a fixed estimate per entry), whichever comes first.
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
   * The parsed JSON body when its raw size is at most 16 KB and it parses (within the depth
   * limit, as well-formed Unicode); `{ truncated: true, bytes, preview }` when it was larger;
   * `{ unparsed: true, bytes, preview }` when it does not parse; null when there was no body.
   * `bytes` is the body's full size, `preview` its text, at most 16 KB of it.
   */
  requestBody: unknown;
  /** The response body, capped and shaped like `requestBody`; null when nothing was sent. */
  responseBody: unknown;
  /**
   * The request's headers, lower-case name → value (repeated ones joined with ", "), without
   * `unjournaledHeaders`; `{}` when none were given.
   */
  requestHeaders: Record<string, string>;
  /** The headers sent with the response, likewise; null when no response was sent. */
  responseHeaders: Record<string, string> | null;
  /**
   * How many headers of each side were left out for the cap (`maxJournalHeaders`,
   * `maxJournalHeaderBytes`); null when none were. Credentials left out never count here.
   */
  headersDropped: { request: number; response: number } | null;
}

/** Headers as Node hands them over: `req.headers` or `res.getHeaders()`. */
export type JournalHeadersInput = Readonly<Record<string, string | number | readonly string[] | undefined>>;

/**
 * A request body as a caller hands it over: the bytes that came in (a Buffer, or text). The
 * `{ raw, parsed }` form is accepted for callers written before bodies were kept as bytes: `raw`
 * is used when present, and `parsed` (serialized once) only when there are no bytes at all.
 */
export type JournalBodyInput = Buffer | string | { raw: Buffer | undefined; parsed?: unknown };

/** The parts of an entry kept as bytes and presented only on read. */
type KeptParts = "requestBody" | "responseBody" | "requestHeaders" | "responseHeaders" | "headersDropped";

export type NewJournalEntry = Omit<JournalEntry, "seq" | KeptParts> & {
  /** The bytes that came in; absent when the request had no body. */
  requestBody?: JournalBodyInput;
  /** What was sent as the body (a JSON text, usually); absent when nothing was sent. */
  responseBody?: string | Buffer;
  /** The request's headers (`req.headers`); credentials among them are never kept. */
  requestHeaders?: JournalHeadersInput;
  /** The headers sent with the response (`res.getHeaders()`); absent when nothing was sent. */
  responseHeaders?: JournalHeadersInput;
};

/** What `record` returns: the entry's seq and facts. Its bodies and headers are presented only on read. */
export type RecordedJournalEntry = Readonly<Omit<JournalEntry, KeptParts>>;

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
/** At most this many headers per entry, request and response together. */
export const maxJournalHeaders = 64;
/** At most this many bytes of header text (as JSON) per entry, request and response together. */
export const maxJournalHeaderBytes = 8 * 1024;
/**
 * Never kept, whatever the caller passes: the credentials a request or response may carry. The
 * journal is read by tests, dashboards and logs that must never learn a token or a session.
 */
export const unjournaledHeaders: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);
export const defaultJournalQueryLimit = 100;
export const maxJournalQueryLimit = 10_000;
/**
 * The default byte budget: about 1,800 writes of 16 KB (with their short responses and about
 * 600 bytes of headers), 950 entries with two full 16 KB bodies, and more small writes (about
 * 2 KB each, headers included) than the default 10,000.
 */
export const defaultJournalMaxBytes = 32 * 1024 * 1024;

/**
 * What an entry costs beyond its kept body bytes and client-chosen strings: the slot and entry
 * objects and their short strings (timestamp, method, a server-made correlation id). Measured on
 * Node 20 x64 by recording 100,000 entries shaped like the pipeline's and dividing the growth
 * after a full GC by the count: heapUsed + arrayBuffers grew about 515 bytes per entry beyond the
 * body bytes, with or without bodies; RSS grew about 800 to 850, the heap's own slack included.
 * Rounded up to 1 KB, so the budget bounds RSS, not just the heap.
 */
export const journalEntryOverheadBytes = 1024;

interface Slot {
  entry: RecordedJournalEntry;
  atMs: number;
  /**
   * Where the kept bytes lie, one after another: request body, response body, request headers,
   * response headers (each a JSON object's text); null when none has a byte.
   */
  segment: Segment | null;
  offset: number;
  requestKept: number;
  responseKept: number;
  requestHeadersKept: number;
  responseHeadersKept: number;
  /** False when no response was sent, so there were no response headers at all (null, not {}). */
  responseHeadersGiven: boolean;
  requestHeadersDropped: number;
  responseHeadersDropped: number;
  /** Full sizes in bytes; null when there was no body. */
  requestTotal: number | null;
  responseTotal: number | null;
  /** What this entry counts against the byte budget. */
  cost: number;
  /** Set when it leaves the journal: its segment bytes may then be reused for another entry. */
  gone: boolean;
}

/** One allocation that many entries' bytes are appended to. */
interface Segment {
  readonly buffer: Buffer;
  /** Bytes written so far; the next entry goes here. */
  used: number;
  /** Entries whose bytes are in it. */
  live: number;
}

/** The most one entry keeps: two bodies and its headers (a few bytes over the cap for the braces). */
const maxEntryKeptBytes = 2 * maxJournalBodyBytes + maxJournalHeaderBytes + 8;

/** Spare segments kept for reuse; beyond these an emptied segment is left to the GC. */
const MAX_SPARE_SEGMENTS = 2;

/**
 * Where the journal keeps body bytes: appended to segments of 1 MB (less for a small budget),
 * each one allocation of its own, never a slice of a request's buffer or of Node's shared 8 KB
 * pool. Entries leave oldest first, so segments empty in order, and an emptied segment is reused
 * at once: the memory is the kept bytes plus a few segments (the oldest, partly emptied; the
 * current, partly filled; two spares), until a workspace clear leaves a few entries scattered
 * over older segments, which then stay until those entries are evicted in their turn. One Buffer
 * per entry would instead leave every evicted entry's bytes to the next full GC (an old-generation
 * object is only freed by one, and V8 lets tens of MB of external memory pile up before it forces
 * one): in the 30,000-write soak, external memory swung between 31 and 66 MB that way, against
 * 32 to 40 MB with segments, for the same 32 MB of entries.
 */
class ByteLog {
  readonly #segmentBytes: number;
  #current: Segment | null = null;
  readonly #spares: Segment[] = [];

  constructor(maxBytes: number) {
    // At least two of the largest entries (two 16 KB bodies and 8 KB of headers) per segment;
    // 32 segments per budget.
    this.#segmentBytes = Math.min(1024 * 1024, Math.max(2 * maxEntryKeptBytes, Math.floor(maxBytes / 32)));
  }

  /** Copies up to `keep` bytes of each part into the log, one after another; returns what each kept. */
  append(parts: readonly { source: Buffer | string | undefined; keep: number }[]): { segment: Segment; offset: number; kept: number[] } | null {
    const wanted = parts.reduce((sum, part) => sum + (part.source === undefined ? 0 : part.keep), 0);
    if (wanted === 0) return null;
    let segment = this.#current;
    if (segment === null || segment.buffer.length - segment.used < wanted) {
      // allocUnsafeSlow: its own allocation, never a slice of the shared pool.
      segment = this.#spares.pop() ?? { buffer: Buffer.allocUnsafeSlow(this.#segmentBytes), used: 0, live: 0 };
      this.#current = segment;
    }
    const offset = segment.used;
    const kept = parts.map(({ source, keep }) => {
      const copied = source === undefined ? 0 : copyPrefix(source, segment.buffer, segment.used, keep);
      segment.used += copied;
      return copied;
    });
    segment.live++;
    return { segment, offset, kept };
  }

  /** An entry has left: once its segment holds no entry, the segment is written over again. */
  release(segment: Segment): void {
    segment.live--;
    if (segment.live > 0) return;
    segment.used = 0;
    if (segment !== this.#current && this.#spares.length < MAX_SPARE_SEGMENTS) this.#spares.push(segment);
  }

  /** Every entry has left: the memory goes back too. */
  clear(): void {
    this.#current = null;
    this.#spares.length = 0;
  }
}

export class Journal {
  readonly #capacity: number;
  readonly #maxBytes: number;
  /** A ring: `#slots[(#head + i) % capacity]` is the i-th oldest of `#size` entries. */
  #slots: (Slot | undefined)[];
  #head = 0;
  #size = 0;
  #bytes = 0;
  #nextSeq = 1;
  readonly #log: ByteLog;
  readonly #listeners = new Set<JournalListener>();

  constructor(options: { capacity: number; maxBytes?: number }) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`journal capacity must be a whole number ≥ 1, got ${options.capacity}`);
    }
    const maxBytes = options.maxBytes ?? defaultJournalMaxBytes;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError(`journal maxBytes must be a whole number ≥ 1, got ${maxBytes}`);
    }
    this.#capacity = options.capacity;
    this.#maxBytes = maxBytes;
    this.#slots = new Array<Slot | undefined>(options.capacity);
    this.#log = new ByteLog(maxBytes);
  }

  /** How many entries it holds. */
  get size(): number {
    return this.#size;
  }

  /** What its entries cost against the byte budget (see `journalEntryOverheadBytes`). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Store an entry, giving it the next seq; then the oldest entries go while there are more than
   * `capacity` or they cost more than `maxBytes`. The newest entry always stays.
   */
  record(input: NewJournalEntry): RecordedJournalEntry {
    // Field by field, not a spread: whatever else a caller's object carries (headers, say)
    // never reaches the journal. Frozen, because the caller gets this very object back.
    const entry: RecordedJournalEntry = Object.freeze({
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
    });
    const request = bodySource(input.requestBody);
    const response = bodySource(input.responseBody);
    const headers = headerTexts(input.requestHeaders, input.responseHeaders);
    const kept = this.#log.append([
      { source: request?.body, keep: Math.min(request?.total ?? 0, maxJournalBodyBytes) },
      { source: response?.body, keep: Math.min(response?.total ?? 0, maxJournalBodyBytes) },
      { source: headers.request.text, keep: headers.request.bytes },
      { source: headers.response?.text, keep: headers.response?.bytes ?? 0 },
    ]);
    const [requestKept = 0, responseKept = 0, requestHeadersKept = 0, responseHeadersKept = 0] = kept?.kept ?? [];
    const slot: Slot = {
      entry,
      atMs: Date.parse(entry.at),
      segment: kept?.segment ?? null,
      offset: kept?.offset ?? 0,
      requestKept,
      responseKept,
      requestHeadersKept,
      responseHeadersKept,
      responseHeadersGiven: headers.response !== null,
      requestHeadersDropped: headers.request.dropped,
      responseHeadersDropped: headers.response?.dropped ?? 0,
      requestTotal: request?.total ?? null,
      responseTotal: response?.total ?? null,
      cost: journalEntryOverheadBytes + requestKept + responseKept + requestHeadersKept + responseHeadersKept + clientStringLength(entry),
      gone: false,
    };
    if (this.#size === this.#capacity) this.#evictOldest();
    this.#slots[(this.#head + this.#size) % this.#capacity] = slot;
    this.#size++;
    this.#bytes += slot.cost;
    while (this.#bytes > this.#maxBytes && this.#size > 1) this.#evictOldest();
    if (this.#listeners.size > 0) this.#emit({ kind: "entry", entry: present(slot) });
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

  /** The most recent `limit` entries that match, oldest first, their bodies parsed now. */
  query(filter: JournalFilter, limit: number): JournalEntry[] {
    const matches = compileFilter(filter);
    const found: Slot[] = [];
    for (let i = this.#size - 1; i >= 0 && found.length < limit; i--) {
      const slot = this.#at(i);
      if (matches(slot)) found.push(slot);
    }
    return found.reverse().map(present);
  }

  /**
   * The most recent `limit` entries after `seq`, oldest first, each presented only when the
   * iteration reaches it, so a long backlog never holds every parsed body at once. The entries
   * are the ones held when it was called, less any evicted before the iteration reaches them.
   */
  *after(seq: number, limit: number = maxJournalQueryLimit): Generator<JournalEntry> {
    const slots: Slot[] = [];
    for (let i = this.#size - 1; i >= 0 && slots.length < limit; i--) {
      const slot = this.#at(i);
      // Seqs grow along the ring, so the first one at or below `seq` ends the search.
      if (slot.entry.seq <= seq) break;
      slots.push(slot);
    }
    for (let i = slots.length - 1; i >= 0; i--) {
      const slot = slots[i] as Slot;
      // Recorded past it meanwhile: its bytes may already hold another entry's.
      if (!slot.gone) yield present(slot);
    }
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
    for (let i = 0; i < this.#size; i++) {
      const slot = this.#at(i);
      if (workspace !== undefined && slot.entry.workspace !== workspace) kept.push(slot);
      else this.#forget(slot);
    }
    if (workspace === undefined) this.#log.clear();
    this.#slots = new Array<Slot | undefined>(this.#capacity);
    kept.forEach((slot, i) => (this.#slots[i] = slot));
    this.#head = 0;
    this.#size = kept.length;
    this.#bytes = kept.reduce((sum, slot) => sum + slot.cost, 0);
    if (this.#listeners.size > 0) this.#emit({ kind: "cleared", workspace: workspace ?? null });
  }

  #evictOldest(): void {
    const slot = this.#at(0);
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
    this.#bytes -= slot.cost;
    this.#forget(slot);
  }

  #forget(slot: Slot): void {
    slot.gone = true;
    if (slot.segment !== null) this.#log.release(slot.segment);
    slot.segment = null;
  }

  #at(i: number): Slot {
    const slot = this.#slots[(this.#head + i) % this.#capacity];
    if (slot === undefined) throw new Error(`journal ring has no entry at ${i}`);
    return slot;
  }
}

/** A body's bytes (or text) and its full size in bytes; undefined when there is no body. */
function bodySource(input: JournalBodyInput | undefined): { body: Buffer | string; total: number } | undefined {
  if (input === undefined) return undefined;
  let body: Buffer | string;
  if (typeof input === "string" || Buffer.isBuffer(input)) body = input;
  else if (input.raw !== undefined && input.raw.length > 0) body = input.raw;
  else if (input.parsed === undefined) return undefined;
  else {
    // Only an in-process caller with no bytes gets here. A value JSON cannot express (a cycle,
    // a BigInt, nesting too deep to serialize) is no body rather than a failed request.
    try {
      const text: unknown = JSON.stringify(input.parsed);
      if (typeof text !== "string") return undefined;
      body = text;
    } catch {
      return undefined;
    }
  }
  const total = typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.length;
  return total === 0 ? undefined : { body, total };
}

/**
 * Copies at most `length` bytes of `body` into `target` at `offset`; returns how many it copied.
 * Text is encoded straight into the target (Buffer#write never writes half a character), so a
 * large response string is never encoded whole just to keep its first 16 KB.
 */
function copyPrefix(body: Buffer | string, target: Buffer, offset: number, length: number): number {
  if (typeof body === "string") return target.write(body, offset, length, "utf8");
  return body.copy(target, offset, 0, length);
}

/** The strings a client chooses the length of; counted against the byte budget as they are. */
function clientStringLength(entry: RecordedJournalEntry): number {
  return entry.path.length + entry.correlationId.length + (entry.idempotencyKey?.length ?? 0) + (entry.workspace?.length ?? 0) + (entry.fault?.length ?? 0);
}

/** The entry as a reader sees it: its facts, its bodies and its headers, parsed now. */
function present(slot: Slot): JournalEntry {
  const { segment, offset, requestKept, responseKept, requestHeadersKept, responseHeadersKept } = slot;
  const bytes = segment?.buffer;
  const responseStart = offset + requestKept;
  const headersStart = responseStart + responseKept;
  const responseHeadersStart = headersStart + requestHeadersKept;
  const dropped = slot.requestHeadersDropped + slot.responseHeadersDropped > 0;
  return {
    ...slot.entry,
    requestBody: presentBody(bytes?.subarray(offset, responseStart), slot.requestTotal),
    responseBody: presentBody(bytes?.subarray(responseStart, headersStart), slot.responseTotal),
    requestHeaders: presentHeaders(bytes?.subarray(headersStart, responseHeadersStart)),
    responseHeaders: slot.responseHeadersGiven ? presentHeaders(bytes?.subarray(responseHeadersStart, responseHeadersStart + responseHeadersKept)) : null,
    headersDropped: dropped ? { request: slot.requestHeadersDropped, response: slot.responseHeadersDropped } : null,
  };
}

/** Kept header text back to an object; {} when none was kept. */
function presentHeaders(kept: Buffer | undefined): Record<string, string> {
  // The text is the journal's own JSON.stringify output, written whole, so it always parses.
  return kept === undefined || kept.length === 0 ? {} : (JSON.parse(kept.toString("utf8")) as Record<string, string>);
}

interface HeaderText {
  /** A JSON object's text, name → value. */
  text: string;
  bytes: number;
  /** Headers left out for the cap. */
  dropped: number;
}

/**
 * Both sides' headers as JSON texts, within one cap per entry (`maxJournalHeaders` headers,
 * `maxJournalHeaderBytes` of text). The response's go first: they are the emulator's own, few
 * and small, and what a reader looks for (Retry-After, X-Emulator-*), so a client that sends a
 * flood of headers only crowds out its own. Credentials are left out before anything is counted.
 */
function headerTexts(request: JournalHeadersInput | undefined, response: JournalHeadersInput | undefined): { request: HeaderText; response: HeaderText | null } {
  const budget = { headers: maxJournalHeaders, bytes: maxJournalHeaderBytes };
  const responseText = response === undefined ? null : headerText(response, budget);
  return { request: headerText(request ?? {}, budget), response: responseText };
}

function headerText(input: JournalHeadersInput, budget: { headers: number; bytes: number }): HeaderText {
  const kept = new Map<string, string>();
  for (const [rawName, rawValue] of Object.entries(input)) {
    if (rawValue === undefined) continue;
    const name = rawName.toLowerCase();
    if (unjournaledHeaders.has(name)) continue;
    kept.set(name, typeof rawValue === "string" ? rawValue : typeof rawValue === "number" ? String(rawValue) : rawValue.join(", "));
  }
  const parts: string[] = [];
  let bytes = 2; // the braces
  let dropped = 0;
  for (const [name, value] of kept) {
    const part = `${JSON.stringify(name)}:${JSON.stringify(value)}`;
    // Its bytes and a comma: a header too large for what is left is dropped whole, never cut,
    // so what is kept is always a header as it was sent.
    const cost = Buffer.byteLength(part, "utf8") + 1;
    if (budget.headers === 0 || cost > budget.bytes) {
      dropped++;
      continue;
    }
    budget.headers--;
    budget.bytes -= cost;
    parts.push(part);
    bytes += cost;
  }
  // None kept: no bytes at all, and the reader is shown {}.
  if (parts.length === 0) return { text: "", bytes: 0, dropped };
  return { text: `{${parts.join(",")}}`, bytes: bytes - 1, dropped }; // n parts have n - 1 commas
}

// ignoreBOM: the text is exactly the bytes that came in; a BOM is not JSON, as for the emulator.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A kept body as a reader sees it. Never throws, and what it returns is safe to serialize:
 * a value from `parseJsonBounded` (at most 64 deep, well-formed strings) or a flat object
 * whose preview is well-formed text (invalid UTF-8 shows as U+FFFD).
 */
function presentBody(kept: Buffer | undefined, total: number | null): unknown {
  if (total === null || kept === undefined) return null;
  if (total > maxJournalBodyBytes) return { truncated: true, bytes: total, preview: utf8Prefix(kept) };
  let text: string;
  try {
    text = strictUtf8.decode(kept);
  } catch {
    return { unparsed: true, bytes: total, preview: kept.toString("utf8") };
  }
  const parsed = parseJsonBounded(text);
  return parsed.ok ? parsed.value : { unparsed: true, bytes: total, preview: text };
}

/** The bytes as text, without a broken character at the cut. */
function utf8Prefix(raw: Buffer): string {
  return new StringDecoder("utf8").write(raw);
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
