import type { JournalEntry, JournalFilter } from "../domain/control-plane.js";
import { compileFilter } from "./journal-filter.js";
import {
  ByteLog,
  bodySource,
  headerTexts,
  maxJournalBodyBytes,
  presentBody,
  presentHeaders,
  type JournalBodyInput,
  type JournalHeadersInput,
  type Segment,
} from "./journal-storage.js";

export type { JournalEntry, JournalFilter };
export { invalidParam, parseSince, type Since } from "./journal-filter.js";
export {
  maxJournalBodyBytes,
  maxJournalHeaderBytes,
  maxJournalHeaders,
  unjournaledHeaders,
  type JournalBodyInput,
  type JournalHeadersInput,
} from "./journal-storage.js";

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
 * strings, and a fixed estimate per entry), whichever comes first. How the bytes are kept is
 * journal-storage.ts; which entries a query means, journal-filter.ts.
 */

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
 * `wallMs`, added since, is one more number field (at most a 16-byte heap number): still within it.
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
      wallMs: input.wallMs,
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
