import { describe, expect, it } from "vitest";
import { EmulatorClock } from "../../src/runtime/clock.js";
import {
  Journal,
  journalEntryOverheadBytes,
  maxJournalBodyBytes,
  maxJournalHeaderBytes,
  maxJournalHeaders,
  type JournalEntry,
  type NewJournalEntry,
} from "../../src/runtime/journal.js";
import { parseJournalFilter } from "../../src/services/journal-query.js";
import { resolveConfig } from "../../src/config.js";
import { StartupError } from "../../src/domain/startup-error.js";
import { thrown } from "../helpers/thrown.js";

const clock = new EmulatorClock();
clock.freeze(Date.UTC(2024, 4, 1, 12, 0, 0));

function entry(change: Partial<NewJournalEntry> = {}): NewJournalEntry {
  return {
    at: new Date(clock.now()).toISOString(),
    wallMs: 0,
    method: "POST",
    path: "/public/v1/records/profiles/upsert",
    operation: "upsert",
    object: "profiles",
    workspace: "ws-1",
    idempotencyKey: null,
    correlationId: "corr-1",
    status: 200,
    fault: null,
    replayed: false,
    durationMs: 3,
    ...change,
  };
}

/** The bytes of a value's JSON, as a client would send them. */
function body(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}

/** Records one entry in a fresh journal and reads it back, as GET /_emulator/journal would. */
function readBack(change: Partial<NewJournalEntry>): JournalEntry {
  const journal = new Journal({ capacity: 1 });
  journal.record(entry(change));
  const [stored] = journal.query({}, 1);
  if (stored === undefined) throw new Error("the journal kept nothing");
  return stored;
}

/** `[[[…]]]` nested `depth` levels inside a record, like the hostile body of issue 12. */
function deepBody(depth: number): Buffer {
  return Buffer.from(`{"record":{"email":"a@b.co"},"x":${"[".repeat(depth)}${"]".repeat(depth)}}`, "utf8");
}

describe("Journal", () => {
  it("gives each entry the next seq and returns it as stored", () => {
    const journal = new Journal({ capacity: 10 });
    const first = journal.record(entry());
    const second = journal.record(entry({ correlationId: "corr-2" }));
    expect([first.seq, second.seq]).toEqual([1, 2]);
    expect(second).toMatchObject({ correlationId: "corr-2", status: 200 });
    expect(journal.query({}, 1)[0]).toMatchObject({ seq: 2, correlationId: "corr-2", status: 200, requestBody: null });
    expect(journal.size).toBe(2);
  });

  it("evicts the oldest entries beyond capacity", () => {
    const journal = new Journal({ capacity: 3 });
    for (let i = 1; i <= 5; i++) journal.record(entry({ correlationId: `c${i}` }));
    expect(journal.size).toBe(3);
    expect(journal.query({}, 100).map((e) => e.correlationId)).toEqual(["c3", "c4", "c5"]);
    expect(journal.query({}, 100).map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  it("keeps seq monotonic after clear", () => {
    const journal = new Journal({ capacity: 3 });
    journal.record(entry());
    journal.record(entry());
    journal.clear();
    expect(journal.size).toBe(0);
    expect(journal.bytes).toBe(0);
    expect(journal.record(entry()).seq).toBe(3);
  });

  it("clears only one workspace's entries when asked, keeping order", () => {
    const journal = new Journal({ capacity: 4 });
    for (const [i, ws] of ["a", "b", "a", "b", "a", "c"].entries()) {
      journal.record(entry({ workspace: ws, correlationId: `c${i + 1}` }));
    }
    journal.clear("a");
    expect(journal.query({}, 100).map((e) => e.correlationId)).toEqual(["c4", "c6"]);
    journal.record(entry({ correlationId: "c7" }));
    journal.record(entry({ correlationId: "c8" }));
    journal.record(entry({ correlationId: "c9" }));
    expect(journal.query({}, 100).map((e) => [e.seq, e.correlationId])).toEqual([
      [6, "c6"],
      [7, "c7"],
      [8, "c8"],
      [9, "c9"],
    ]);
  });

  it("returns the most recent `limit` matches, oldest first", () => {
    const journal = new Journal({ capacity: 100 });
    for (let i = 1; i <= 10; i++) journal.record(entry({ status: i % 2 === 0 ? 200 : 500 }));
    expect(journal.query({}, 3).map((e) => e.seq)).toEqual([8, 9, 10]);
    expect(journal.query({ status: 500 }, 2).map((e) => e.seq)).toEqual([7, 9]);
    expect(journal.count({ status: 500 })).toBe(5);
    expect(journal.count({})).toBe(10);
  });

  it("reads the entries after a seq lazily, the most recent `limit` of them, oldest first", () => {
    const journal = new Journal({ capacity: 100 });
    for (let i = 1; i <= 10; i++) journal.record(entry({ requestBody: body({ i }) }));
    expect([...journal.after(7)].map((e) => [e.seq, e.requestBody])).toEqual([
      [8, { i: 8 }],
      [9, { i: 9 }],
      [10, { i: 10 }],
    ]);
    expect([...journal.after(0, 2)].map((e) => e.seq)).toEqual([9, 10]);
    expect([...journal.after(10)]).toEqual([]);
  });

  describe("filters", () => {
    const journal = new Journal({ capacity: 100 });
    const base = Date.UTC(2024, 4, 1, 12, 0, 0);
    const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();
    journal.record(entry({ at: at(0), operation: "upsert", object: "profiles", status: 200, workspace: "ws-1", idempotencyKey: "k1" }));
    journal.record(entry({ at: at(1), operation: "append", object: "events", status: 422, workspace: "ws-1", idempotencyKey: null }));
    journal.record(entry({ at: at(2), operation: "upsert", object: "events", status: null, workspace: "ws-2", idempotencyKey: "k2", fault: "reset" }));
    journal.record(entry({ at: at(3), operation: "batch", object: "profiles", status: 200, workspace: null, idempotencyKey: "k1" }));

    it.each([
      { name: "operation", filter: { operation: "upsert" }, seqs: [1, 3] },
      { name: "object", filter: { object: "events" }, seqs: [2, 3] },
      { name: "status", filter: { status: 200 }, seqs: [1, 4] },
      { name: "idempotencyKey", filter: { idempotencyKey: "k1" }, seqs: [1, 4] },
      { name: "workspace", filter: { workspace: "ws-1" }, seqs: [1, 2] },
      { name: "since a timestamp, inclusive", filter: { since: at(1) }, seqs: [2, 3, 4] },
      { name: "since a timestamp between entries", filter: { since: new Date(base + 1500).toISOString() }, seqs: [3, 4] },
      { name: "since a timestamp with an offset", filter: { since: "2024-05-01T14:00:02+02:00" }, seqs: [3, 4] },
      { name: "since a seq, exclusive", filter: { since: "2" }, seqs: [3, 4] },
      { name: "since seq 0", filter: { since: "0" }, seqs: [1, 2, 3, 4] },
      { name: "several at once", filter: { object: "profiles", status: 200, since: "1" }, seqs: [4] },
      { name: "nothing", filter: { operation: "delete" }, seqs: [] },
    ])("filters by $name", ({ filter, seqs }) => {
      expect(journal.query(filter, 100).map((e) => e.seq)).toEqual(seqs);
      expect(journal.count(filter)).toBe(seqs.length);
    });
  });

  describe("byte budget", () => {
    // Each entry costs the overhead estimate, its kept body bytes and its client-chosen strings.
    const strings = "/public/v1/records/profiles/upsert".length + "corr-1".length + "ws-1".length;
    const costOf = (bodyBytes: number) => journalEntryOverheadBytes + bodyBytes + strings;

    it("counts an entry's kept body bytes, its strings and a fixed overhead", () => {
      const journal = new Journal({ capacity: 10 });
      journal.record(entry());
      expect(journal.bytes).toBe(costOf(0));
      journal.record(entry({ requestBody: Buffer.alloc(100, 0x20), responseBody: "x".repeat(50) }));
      expect(journal.bytes).toBe(costOf(0) + costOf(150));
    });

    it("counts at most 16 KB of each body, however large it was", () => {
      const journal = new Journal({ capacity: 10 });
      journal.record(entry({ requestBody: Buffer.alloc(10 * 1024 * 1024, 0x20), responseBody: "x".repeat(100_000) }));
      expect(journal.bytes).toBe(costOf(2 * maxJournalBodyBytes));
    });

    it("evicts the oldest entries once their bytes pass the budget, however few they are", () => {
      const perEntry = costOf(10_000);
      const journal = new Journal({ capacity: 1000, maxBytes: perEntry * 3 });
      for (let i = 1; i <= 5; i++) journal.record(entry({ correlationId: `c${i}`.padEnd(6, "-"), requestBody: Buffer.alloc(10_000, 0x20) }));
      expect(journal.size).toBe(3);
      expect(journal.bytes).toBe(perEntry * 3);
      expect(journal.query({}, 100).map((e) => [e.seq, e.correlationId])).toEqual([
        [3, "c3----"],
        [4, "c4----"],
        [5, "c5----"],
      ]);
      // Small entries push out only as many big ones as they need: the bytes are bounded, not the count.
      for (let i = 0; i < 20; i++) journal.record(entry());
      expect(journal.size).toBe(21);
      expect(journal.query({}, 100).map((e) => e.seq)[0]).toBe(5);
      expect(journal.bytes).toBe(perEntry + 20 * costOf(0));
      expect(journal.bytes).toBeLessThanOrEqual(perEntry * 3);
    });

    it("keeps the newest entry even when it alone is over the budget", () => {
      const journal = new Journal({ capacity: 10, maxBytes: 1000 });
      journal.record(entry());
      journal.record(entry({ correlationId: "newest", requestBody: body({ a: 1 }) }));
      expect(journal.query({}, 10).map((e) => [e.correlationId, e.requestBody])).toEqual([["newest", { a: 1 }]]);
    });

    it("keeps seqs and since queries working across byte eviction", () => {
      const journal = new Journal({ capacity: 100, maxBytes: costOf(0) * 4 });
      for (let i = 0; i < 10; i++) journal.record(entry());
      expect(journal.query({}, 100).map((e) => e.seq)).toEqual([7, 8, 9, 10]);
      expect(journal.query({ since: "8" }, 100).map((e) => e.seq)).toEqual([9, 10]);
      expect(journal.query({ since: "2" }, 100).map((e) => e.seq)).toEqual([7, 8, 9, 10]);
      expect(journal.record(entry()).seq).toBe(11);
    });

    it("gives back the bytes of the entries a workspace clear removes", () => {
      const journal = new Journal({ capacity: 10 });
      journal.record(entry({ workspace: "ws-1", requestBody: Buffer.alloc(1000, 0x20) }));
      journal.record(entry({ workspace: "ws-2" }));
      journal.clear("ws-1");
      expect(journal.bytes).toBe(journalEntryOverheadBytes + "/public/v1/records/profiles/upsert".length + "corr-1".length + "ws-2".length);
    });

    it("reads back every entry's own bytes while evictions and clears reuse the space of the ones gone", () => {
      // A small budget, so its segments fill and are written over many times in 3,000 entries.
      const journal = new Journal({ capacity: 60, maxBytes: 1024 * 1024 });
      const expected = new Map<number, { request: unknown; response: unknown }>();
      let random = 42;
      const next = (n: number): number => {
        random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
        return random % n;
      };
      for (let i = 0; i < 3_000; i++) {
        const value = { i, pad: "y".repeat(next(3) === 0 ? next(20_000) : next(500)) };
        const raw = body(value);
        const response = next(2) === 0 ? undefined : JSON.stringify({ i });
        const { seq } = journal.record(entry({ workspace: `ws-${next(3)}`, requestBody: raw, responseBody: response }));
        expected.set(seq, {
          request: raw.length > maxJournalBodyBytes ? { truncated: true, bytes: raw.length, preview: raw.subarray(0, maxJournalBodyBytes).toString() } : value,
          response: response === undefined ? null : { i },
        });
        if (next(100) === 0) journal.clear(`ws-${next(3)}`);
        if (i % 97 === 0 || i === 2_999) {
          const held = journal.query({}, 100);
          expect(held.length).toBe(journal.size);
          for (const shown of held) {
            expect({ request: shown.requestBody, response: shown.responseBody }).toEqual(expected.get(shown.seq));
          }
        }
      }
      expect(journal.bytes).toBeLessThanOrEqual(1024 * 1024);
    });

    it("skips, in a lazy read, the entries evicted before the read reaches them", () => {
      const journal = new Journal({ capacity: 3 });
      for (let i = 1; i <= 3; i++) journal.record(entry({ requestBody: body({ i }) }));
      const read = journal.after(0);
      expect(read.next().value).toMatchObject({ seq: 1, requestBody: { i: 1 } });
      journal.record(entry({ requestBody: body({ i: 4 }) })); // evicts seq 1 only
      journal.record(entry({ requestBody: body({ i: 5 }) })); // evicts seq 2
      expect([...read].map((e) => [e.seq, e.requestBody])).toEqual([[3, { i: 3 }]]);
    });

    it.each([0, -1, 1.5])("refuses a byte budget of %s", (maxBytes) => {
      expect(() => new Journal({ capacity: 1, maxBytes })).toThrow(RangeError);
    });
  });

  describe("request bodies", () => {
    // A JSON string body whose raw size is exactly `bytes`.
    const jsonOfSize = (bytes: number) => {
      const value = { text: "x".repeat(bytes - '{"text":""}'.length) };
      const raw = Buffer.from(JSON.stringify(value), "utf8");
      expect(raw.length).toBe(bytes);
      return { raw, value };
    };

    it("keeps a parsed body of exactly 16384 bytes", () => {
      const { raw, value } = jsonOfSize(16_384);
      expect(readBack({ requestBody: raw }).requestBody).toEqual(value);
    });

    it("truncates a body of 16385 bytes to a 16384-byte preview", () => {
      const { raw } = jsonOfSize(16_385);
      const stored = readBack({ requestBody: raw });
      expect(stored.requestBody).toEqual({
        truncated: true,
        bytes: 16_385,
        preview: raw.subarray(0, 16_384).toString("utf8"),
      });
      expect((stored.requestBody as { preview: string }).preview).toHaveLength(16_384);
    });

    it("does not split a multi-byte character at the preview cut", () => {
      const raw = Buffer.from(`"${"x".repeat(16_382)}é${"x".repeat(10)}"`, "utf8"); // é straddles the cut: its two bytes are the 16384th and 16385th
      const preview = (readBack({ requestBody: raw }).requestBody as { preview: string }).preview;
      expect(preview).toBe(`"${"x".repeat(16_382)}`);
      expect(preview).not.toContain("\uFFFD");
    });

    it.each([
      { what: "no body", requestBody: undefined },
      { what: "an empty body", requestBody: Buffer.alloc(0) },
      { what: "an empty text", requestBody: "" },
    ])("stores null when there is $what", ({ requestBody }) => {
      expect(readBack({ requestBody }).requestBody).toBeNull();
    });

    it("keeps a copy of the bytes, unaffected by later changes to the request's buffer", () => {
      const raw = body({ record: { email: "a@x.io" } });
      const journal = new Journal({ capacity: 1 });
      journal.record(entry({ requestBody: raw }));
      raw.write("{}      ", 0, "utf8");
      expect(journal.query({}, 1)[0]?.requestBody).toEqual({ record: { email: "a@x.io" } });
    });

    it("presents each read as a fresh value, so a reader's changes do not reach the next reader", () => {
      const journal = new Journal({ capacity: 1 });
      journal.record(entry({ requestBody: body({ record: { email: "a@x.io" } }) }));
      (journal.query({}, 1)[0]?.requestBody as { record: { email: string } }).record.email = "changed@x.io";
      expect(journal.query({}, 1)[0]?.requestBody).toEqual({ record: { email: "a@x.io" } });
    });

    it("parses what it reads from the bytes that were sent", () => {
      const stored = readBack({ requestBody: body({ sent: true }) });
      expect(stored.requestBody).toEqual({ sent: true });
    });

    it("takes a body as text as well as bytes, and stores nothing when there are none", () => {
      expect(readBack({ requestBody: JSON.stringify({ a: 1 }) }).requestBody).toEqual({ a: 1 });
      expect(readBack({ requestBody: JSON.stringify({ text: "x".repeat(20_000) }) }).requestBody).toMatchObject({
        truncated: true,
        bytes: 20_011,
      });
      expect(readBack({ requestBody: undefined }).requestBody).toBeNull();
    });

    it("keeps only the first 16 KB of a large body, never the request's own buffer", () => {
      const big = Buffer.alloc(10 * 1024 * 1024, 0x78);
      const journal = new Journal({ capacity: 1 });
      journal.record(entry({ requestBody: big }));
      // 16 KB kept, however large the request: the 10 MB buffer can be collected.
      expect(journal.bytes).toBeLessThan(maxJournalBodyBytes + 2 * journalEntryOverheadBytes);
      expect(journal.query({}, 1)[0]?.requestBody).toMatchObject({ truncated: true, bytes: 10 * 1024 * 1024 });
    });

    it.each([
      { what: "malformed JSON", raw: Buffer.from("{not json", "utf8"), preview: "{not json" },
      { what: "JSON with trailing bytes", raw: Buffer.from('{"a":1} x', "utf8"), preview: '{"a":1} x' },
      { what: "invalid UTF-8", raw: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), preview: '{"a":"\uFFFD"}' },
      { what: "a lone surrogate", raw: Buffer.from('{"a":"\\ud800"}', "utf8"), preview: '{"a":"\\ud800"}' },
      { what: "a byte-order mark", raw: Buffer.from("\uFEFF{}", "utf8"), preview: "\uFEFF{}" },
    ])("keeps a body that does not parse ($what) as text", ({ raw, preview }) => {
      expect(readBack({ requestBody: raw }).requestBody).toEqual({ unparsed: true, bytes: raw.length, preview });
    });

    it.each([
      { what: "the depth limit", depth: 63, parses: true },
      { what: "one level past the depth limit", depth: 64, parses: false },
      { what: "5,000 levels", depth: 5_000, parses: false },
      { what: "9,000 levels, past the 16 KB cap as well", depth: 9_000, parses: false },
    ])("presents a body nested to $what as plain data any reader can serialize", ({ depth, parses }) => {
      const raw = deepBody(depth);
      const journal = new Journal({ capacity: 1 });
      const heard: string[] = [];
      journal.subscribe((event) => heard.push(JSON.stringify(event)));
      journal.record(entry({ requestBody: raw }));
      const [stored] = journal.query({}, 1);
      // The record is at depth 1, its "x" array at depth 2: 63 more brackets reach 64 levels.
      if (parses) expect(stored?.requestBody).toMatchObject({ record: { email: "a@b.co" } });
      else expect(stored?.requestBody).toMatchObject({ bytes: raw.length, preview: expect.any(String) as unknown });
      expect(() => JSON.stringify(stored)).not.toThrow();
      expect(() => structuredClone(stored)).not.toThrow();
      expect(heard).toHaveLength(1);
    });
  });

  describe("response bodies", () => {
    it.each([
      { what: "a JSON text", sent: '{"success":true}', shown: { success: true } },
      { what: "JSON bytes", sent: Buffer.from('{"success":true}'), shown: { success: true } },
      { what: "a malformed half body", sent: '{"success":tr', shown: { unparsed: true, bytes: 13, preview: '{"success":tr' } },
      { what: "nothing (a reset connection)", sent: undefined, shown: null },
      { what: "an empty body", sent: "", shown: null },
    ])("presents $what as it would a request body", ({ sent, shown }) => {
      expect(readBack({ responseBody: sent }).responseBody).toEqual(shown);
    });

    it("keeps the first 16 KB of a long response text without encoding all of it", () => {
      const text = `"${"é".repeat(20_000)}"`;
      const shown = readBack({ responseBody: text }).responseBody as { truncated: boolean; bytes: number; preview: string };
      expect(shown).toMatchObject({ truncated: true, bytes: Buffer.byteLength(text) });
      // é is two bytes: the 16 KB cut falls inside one, which is left out rather than broken.
      expect(shown.preview).toBe(`"${"é".repeat(8191)}`);
    });
  });

  it("never stores fields beyond its own, such as headers", () => {
    const withHeaders = { ...entry(), headers: { authorization: "Bearer secret" } } as NewJournalEntry;
    const journal = new Journal({ capacity: 1 });
    const recorded = journal.record(withHeaders);
    const [stored] = journal.query({}, 1);
    for (const shown of [recorded, stored]) {
      expect(JSON.stringify(shown)).not.toContain("secret");
      expect(Object.keys(shown ?? {})).not.toContain("headers");
    }
  });

  describe("headers", () => {
    const strings = "/public/v1/records/profiles/upsert".length + "corr-1".length + "ws-1".length;
    /** Headers as Node hands them over: lower-case names, a repeated one as an array. */
    const requestHeaders = {
      host: "127.0.0.1:4010",
      "content-type": "application/json",
      "idempotency-key": "order-77",
      "x-tags": ["a", "b"],
      authorization: "Bearer secret-token",
      cookie: "session=secret-cookie",
      "proxy-authorization": "Basic secret-proxy",
    };
    const responseHeaders = { "content-type": "application/json; charset=utf-8", "content-length": 42, "retry-after": "2", "set-cookie": ["a=secret-set"] };

    it("keeps the request's and the response's headers, lower-case names, repeated values joined", () => {
      const shown = readBack({ requestHeaders, responseHeaders });
      expect(shown.requestHeaders).toEqual({
        host: "127.0.0.1:4010",
        "content-type": "application/json",
        "idempotency-key": "order-77",
        "x-tags": "a, b",
      });
      expect(shown.responseHeaders).toEqual({ "content-type": "application/json; charset=utf-8", "content-length": "42", "retry-after": "2" });
      expect(shown.headersDropped).toBeNull();
    });

    it("never keeps Authorization, Cookie, Proxy-Authorization or Set-Cookie, in any case of the name", () => {
      const journal = new Journal({ capacity: 5 });
      const heard: string[] = [];
      journal.subscribe((event) => heard.push(JSON.stringify(event)));
      const recorded = journal.record(
        entry({ requestHeaders: { ...requestHeaders, Authorization: "Bearer secret-upper" }, responseHeaders: { ...responseHeaders, "Set-Cookie": "b=secret-upper" } }),
      );
      const read = JSON.stringify([recorded, journal.query({}, 5), [...journal.after(0)], heard]);
      expect(read).not.toMatch(/secret/);
      expect(read).not.toMatch(/authorization|cookie/i);
    });

    it("shows {} for a request without headers, and null response headers when no response was sent", () => {
      expect(readBack({})).toMatchObject({ requestHeaders: {}, responseHeaders: null, headersDropped: null });
      expect(readBack({ status: null, requestHeaders: { host: "h" } })).toMatchObject({ requestHeaders: { host: "h" }, responseHeaders: null });
    });

    it("counts the kept header text against the byte budget", () => {
      const journal = new Journal({ capacity: 10 });
      journal.record(entry({ requestHeaders: { "x-a": "1" }, responseHeaders: { "x-b": "22" } }));
      expect(journal.bytes).toBe(journalEntryOverheadBytes + strings + '{"x-a":"1"}'.length + '{"x-b":"22"}'.length);
    });

    it(`keeps at most ${maxJournalHeaders} headers per entry, the response's first, and says how many of each side it dropped`, () => {
      const many = (prefix: string, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}-${i}`, "v"]));
      const shown = readBack({ requestHeaders: many("x-req", 60), responseHeaders: many("x-res", 10) });
      expect(Object.keys(shown.responseHeaders ?? {})).toHaveLength(10);
      expect(Object.keys(shown.requestHeaders)).toEqual(Array.from({ length: 54 }, (_, i) => `x-req-${i}`));
      expect(shown.headersDropped).toEqual({ request: 6, response: 0 });
    });

    it(`keeps at most ${maxJournalHeaderBytes / 1024} KB of header text per entry, dropping whole headers, never cutting one`, () => {
      const big = "x".repeat(3000);
      const shown = readBack({ requestHeaders: { "x-1": big, "x-2": big, "x-3": big, "x-small": "s" }, responseHeaders: { "x-emulator-fault": "503" } });
      expect(shown.requestHeaders).toEqual({ "x-1": big, "x-2": big, "x-small": "s" });
      expect(shown.responseHeaders).toEqual({ "x-emulator-fault": "503" });
      expect(shown.headersDropped).toEqual({ request: 1, response: 0 });
      const journal = new Journal({ capacity: 1 });
      journal.record(entry({ requestHeaders: { "x-1": big.repeat(4) } }));
      expect(journal.query({}, 1)[0]).toMatchObject({ requestHeaders: {}, headersDropped: { request: 1, response: 0 } });
      expect(journal.bytes).toBe(journalEntryOverheadBytes + strings);
    });

    it("reads back every entry's own headers while evictions reuse the space of the ones gone", () => {
      const journal = new Journal({ capacity: 50, maxBytes: 256 * 1024 });
      for (let i = 0; i < 500; i++) {
        journal.record(entry({ requestBody: body({ i }), requestHeaders: { "x-i": String(i), "x-pad": "p".repeat(i * 13) }, responseHeaders: { "x-o": String(-i) } }));
      }
      for (const shown of journal.query({}, 50)) {
        const { i } = shown.requestBody as { i: number };
        expect(shown.requestHeaders["x-i"]).toBe(String(i));
        expect(shown.responseHeaders).toEqual({ "x-o": String(-i) });
      }
    });
  });

  it("tells subscribers about each entry with its bodies parsed, and about clears", () => {
    const journal = new Journal({ capacity: 5 });
    const heard: unknown[] = [];
    journal.subscribe((event) => heard.push(event.kind === "entry" ? [event.entry.seq, event.entry.requestBody] : event));
    journal.record(entry({ requestBody: body({ a: 1 }) }));
    journal.clear("ws-1");
    expect(heard).toEqual([[1, { a: 1 }], { kind: "cleared", workspace: "ws-1" }]);
  });

  it.each([0, -1, 1.5])("refuses a capacity of %s", (capacity) => {
    expect(() => new Journal({ capacity })).toThrow(RangeError);
  });
});

describe("journal settings", () => {
  it("defaults to 10,000 entries and 32 MB", () => {
    expect(resolveConfig({}, {})).toMatchObject({ journalSize: 10_000, journalMaxBytes: 32 * 1024 * 1024 });
  });

  it.each([
    { given: "33554432", bytes: 33_554_432 },
    { given: "1048576", bytes: 1_048_576 },
    { given: "64mb", bytes: 64 * 1024 * 1024 },
    { given: "2048KiB", bytes: 2048 * 1024 },
    { given: " 1.5 MB ", bytes: 1.5 * 1024 * 1024 },
    { given: "1g", bytes: 1024 * 1024 * 1024 },
  ])("reads --journal-max-bytes $given as $bytes bytes", ({ given, bytes }) => {
    expect(resolveConfig({ journalMaxBytes: given }, {}).journalMaxBytes).toBe(bytes);
  });

  it("takes the byte budget from CDP_EMULATOR_JOURNAL_MAX_BYTES, and the flag wins over it", () => {
    const env = { CDP_EMULATOR_JOURNAL_MAX_BYTES: "8mb" };
    expect(resolveConfig({}, env).journalMaxBytes).toBe(8 * 1024 * 1024);
    expect(resolveConfig({ journalMaxBytes: "2mb" }, env).journalMaxBytes).toBe(2 * 1024 * 1024);
  });

  it.each(["1048575", "2gb", "0", "-5mb", "lots", "32 furlongs", ""])("refuses --journal-max-bytes %j, saying what it takes", (given) => {
    expect(() => resolveConfig({ journalMaxBytes: given }, {})).toThrowError(StartupError);
    expect(() => resolveConfig({ journalMaxBytes: given }, {})).toThrowError(
      `--journal-max-bytes must be a size from 1mb to 1gb: a number of bytes, or with a unit such as 64mb or 512kb (got "${given}")`,
    );
  });

  it.each([
    { given: "100000", ok: true },
    { given: "100001", ok: false },
    { given: "1000000", ok: false },
  ])("bounds --journal-size at 100,000 ($given)", ({ given, ok }) => {
    if (ok) expect(resolveConfig({ journalSize: given }, {}).journalSize).toBe(Number(given));
    else expect(() => resolveConfig({ journalSize: given }, {})).toThrowError(`--journal-size must be a whole number from 1 to 100000 (got "${given}")`);
  });
});

describe("parseJournalFilter", () => {
  it("defaults the limit to 100 and copies the filters", () => {
    expect(parseJournalFilter({})).toEqual({ limit: 100 });
    expect(
      parseJournalFilter({
        operation: "upsert",
        object: "profiles",
        status: "422",
        idempotencyKey: "k1",
        workspace: "ws-1",
        since: "2024-05-01T12:00:00.000Z",
        limit: "10000",
      }),
    ).toEqual({
      operation: "upsert",
      object: "profiles",
      status: 422,
      idempotencyKey: "k1",
      workspace: "ws-1",
      since: "2024-05-01T12:00:00.000Z",
      limit: 10_000,
    });
  });

  it.each(["42", "0", "2024-05-01", "2024-05-01T12:00Z", "2024-05-01T12:00:00", "2024-05-01T12:00:00.123456+05:30"])(
    "accepts since=%s",
    (since) => {
      expect(parseJournalFilter({ since }).since).toBe(since);
    },
  );

  it.each([
    { query: { status: "99" }, message: "status: must be an HTTP status code from 100 to 599" },
    { query: { status: "600" }, message: "status: must be an HTTP status code from 100 to 599" },
    { query: { status: "2xx" }, message: "status: must be an HTTP status code from 100 to 599" },
    { query: { status: "200.0" }, message: "status: must be an HTTP status code from 100 to 599" },
    { query: { limit: "0" }, message: "limit: must be a whole number from 1 to 10000" },
    { query: { limit: "10001" }, message: "limit: must be a whole number from 1 to 10000" },
    { query: { limit: "-5" }, message: "limit: must be a whole number from 1 to 10000" },
    { query: { limit: "ten" }, message: "limit: must be a whole number from 1 to 10000" },
    { query: { since: "yesterday" }, message: "since: must be an ISO 8601 timestamp (e.g. 2024-05-01T12:00:00Z) or a seq number" },
    { query: { since: "2024-02-30T00:00:00Z" }, message: "since: must be an ISO 8601 timestamp (e.g. 2024-05-01T12:00:00Z) or a seq number" },
    { query: { since: "2024-05-01T25:00:00Z" }, message: "since: must be an ISO 8601 timestamp (e.g. 2024-05-01T12:00:00Z) or a seq number" },
    { query: { since: "-3" }, message: "since: must be an ISO 8601 timestamp (e.g. 2024-05-01T12:00:00Z) or a seq number" },
    { query: { operation: ["upsert", "append"] }, message: "operation: give this parameter once" },
    { query: { workspace: { a: "b" } }, message: "workspace: must be a plain string" },
    { query: { object: "" }, message: "object: must not be empty" },
    { query: { verb: "POST" }, message: "unknown query parameter verb; accepted: operation, object, status, idempotencyKey, workspace, since, limit" },
    {
      query: { verb: "POST", headers: "x" },
      message: "unknown query parameters verb, headers; accepted: operation, object, status, idempotencyKey, workspace, since, limit",
    },
  ])("refuses $query", ({ query, message }) => {
    const error = thrown(() => parseJournalFilter(query));
    expect(error.kind).toBe("REQUEST_INVALID");
    expect(error.message).toBe(message);
  });
});
