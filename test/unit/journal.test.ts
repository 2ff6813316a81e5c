import { describe, expect, it } from "vitest";
import { EmulatorClock } from "../../src/chaos/clock.js";
import { Journal, parseJournalFilter, type NewJournalEntry } from "../../src/chaos/journal.js";
import { ApiError } from "../../src/domain/errors.js";

const clock = new EmulatorClock();
clock.freeze(Date.UTC(2024, 4, 1, 12, 0, 0));

function entry(change: Partial<NewJournalEntry> = {}): NewJournalEntry {
  return {
    at: new Date(clock.now()).toISOString(),
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
    requestBody: { raw: undefined, parsed: undefined },
    ...change,
  };
}

function body(value: unknown): NewJournalEntry["requestBody"] {
  const raw = Buffer.from(JSON.stringify(value), "utf8");
  return { raw, parsed: value };
}

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected an ApiError");
}

describe("Journal", () => {
  it("gives each entry the next seq and returns it as stored", () => {
    const journal = new Journal({ capacity: 10 });
    const first = journal.record(entry());
    const second = journal.record(entry({ correlationId: "corr-2" }));
    expect([first.seq, second.seq]).toEqual([1, 2]);
    expect(second).toMatchObject({ correlationId: "corr-2", status: 200, requestBody: null });
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

  describe("request bodies", () => {
    // A JSON string body whose raw size is exactly `bytes`.
    const jsonOfSize = (bytes: number) => {
      const value = { text: "x".repeat(bytes - '{"text":""}'.length) };
      const raw = Buffer.from(JSON.stringify(value), "utf8");
      expect(raw.length).toBe(bytes);
      return { raw, parsed: value };
    };

    it("keeps a parsed body of exactly 16384 bytes", () => {
      const requestBody = jsonOfSize(16_384);
      const stored = new Journal({ capacity: 1 }).record(entry({ requestBody }));
      expect(stored.requestBody).toEqual(requestBody.parsed);
    });

    it("truncates a body of 16385 bytes to a 16384-byte preview", () => {
      const requestBody = jsonOfSize(16_385);
      const stored = new Journal({ capacity: 1 }).record(entry({ requestBody }));
      expect(stored.requestBody).toEqual({
        truncated: true,
        bytes: 16_385,
        preview: requestBody.raw.subarray(0, 16_384).toString("utf8"),
      });
      expect((stored.requestBody as { preview: string }).preview).toHaveLength(16_384);
    });

    it("does not split a multi-byte character at the preview cut", () => {
      const raw = Buffer.from(`"${"x".repeat(16_382)}é${"x".repeat(10)}"`, "utf8"); // é straddles the cut: its two bytes are the 16384th and 16385th
      const stored = new Journal({ capacity: 1 }).record(entry({ requestBody: { raw, parsed: "…" } }));
      const preview = (stored.requestBody as { preview: string }).preview;
      expect(preview).toBe(`"${"x".repeat(16_382)}`);
      expect(preview).not.toContain("\uFFFD");
    });

    it("stores null when there is no body", () => {
      const stored = new Journal({ capacity: 1 }).record(entry({ requestBody: { raw: Buffer.alloc(0), parsed: undefined } }));
      expect(stored.requestBody).toBeNull();
    });

    it("keeps a snapshot, unaffected by later changes to the parsed body", () => {
      const requestBody = body({ record: { email: "a@x.io" } });
      const stored = new Journal({ capacity: 1 }).record(entry({ requestBody }));
      (requestBody.parsed as { record: { email: string } }).record.email = "changed@x.io";
      expect(stored.requestBody).toEqual({ record: { email: "a@x.io" } });
    });

    it("keeps a body that did not parse as text", () => {
      const raw = Buffer.from("{not json", "utf8");
      const stored = new Journal({ capacity: 1 }).record(entry({ requestBody: { raw, parsed: undefined } }));
      expect(stored.requestBody).toEqual({ unparsed: true, bytes: 9, preview: "{not json" });
    });

    it("measures a parsed body with no raw bytes by its JSON", () => {
      const small = { a: 1 };
      const big = { text: "x".repeat(20_000) };
      const journal = new Journal({ capacity: 2 });
      expect(journal.record(entry({ requestBody: { raw: undefined, parsed: small } })).requestBody).toEqual(small);
      expect(journal.record(entry({ requestBody: { raw: undefined, parsed: big } })).requestBody).toMatchObject({
        truncated: true,
        bytes: 20_011,
      });
    });
  });

  it("never stores fields beyond its own, such as headers", () => {
    const withHeaders = { ...entry(), headers: { authorization: "Bearer secret" } } as NewJournalEntry;
    const stored = new Journal({ capacity: 1 }).record(withHeaders);
    expect(JSON.stringify(stored)).not.toContain("secret");
    expect(Object.keys(stored)).not.toContain("headers");
  });

  it.each([0, -1, 1.5])("refuses a capacity of %s", (capacity) => {
    expect(() => new Journal({ capacity })).toThrow(RangeError);
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
