import { StringDecoder } from "node:string_decoder";
import { parseJsonBounded } from "../domain/json-safety.js";

/**
 * How the journal keeps an entry's bodies and headers: as bytes, in reusable segments, within
 * fixed caps, and how it presents them again on read. Split from journal.ts, which keeps the ring,
 * its budget and its queries.
 */

/** Headers as Node hands them over: `req.headers` or `res.getHeaders()`. */
export type JournalHeadersInput = Readonly<Record<string, string | number | readonly string[] | undefined>>;

/** A request body as a caller hands it over: the bytes that came in (a Buffer, or text). */
export type JournalBodyInput = Buffer | string;

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
/** One allocation that many entries' bytes are appended to. */
export interface Segment {
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
export class ByteLog {
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

/** A body's bytes (or text) and its full size in bytes; undefined when there is no body. */
export function bodySource(body: JournalBodyInput | undefined): { body: Buffer | string; total: number } | undefined {
  if (body === undefined) return undefined;
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

/** Kept header text back to an object; {} when none was kept. */
export function presentHeaders(kept: Buffer | undefined): Record<string, string> {
  // The text is the journal's own JSON.stringify output, written whole, so it always parses.
  return kept === undefined || kept.length === 0 ? {} : (JSON.parse(kept.toString("utf8")) as Record<string, string>);
}

export interface HeaderText {
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
export function headerTexts(request: JournalHeadersInput | undefined, response: JournalHeadersInput | undefined): { request: HeaderText; response: HeaderText | null } {
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
export function presentBody(kept: Buffer | undefined, total: number | null): unknown {
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

