import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  batchKey,
  buildProfileRecord,
  canonicalJson,
  CdpApiError,
  classifyFailure,
  normalizeEmail,
  normalizePhone,
  parseRetryAfterMs,
  retryDelayMs,
  stableKey,
} from "../../src/client/index.js";

// Values computed with the guides' own Python:
//   str(uuid.UUID(hashlib.md5(json.dumps(r, sort_keys=True, ensure_ascii=True).encode()).hexdigest()))
const PYTHON_RECORD = { email: "jané@example.com", tier: "gold", n: 3, z: [1, null, { b: 1, a: "x\u007f" }], t: 'a"b\n' };

describe("idempotency keys", () => {
  it("writes the same canonical JSON as Python's json.dumps(sort_keys=True, ensure_ascii=True)", () => {
    expect(canonicalJson(PYTHON_RECORD)).toBe(
      '{"email": "jan\\u00e9@example.com", "n": 3, "t": "a\\"b\\n", "tier": "gold", "z": [1, null, {"a": "x\\u007f", "b": 1}]}',
    );
  });

  it("derives the same stable key from a record as the guide's Python stable_key", () => {
    expect(stableKey(PYTHON_RECORD)).toBe("79b2712f-048b-d668-2c76-e43623813296");
  });

  it("derives the same batch key from message ids as the guide's queue_batch_key, whatever their order", () => {
    expect(batchKey(["m2", "m1", "m3"])).toBe("e0caddf3-f0f6-05e5-e9a7-051eaa2de54e");
    expect(batchKey(["m3", "m2", "m1"])).toBe("e0caddf3-f0f6-05e5-e9a7-051eaa2de54e");
  });

  it("keys a Date by the text the request body carries, so two different dates never share a key", () => {
    expect(stableKey({ at: new Date(0) })).not.toBe(stableKey({ at: new Date(1e12) }));
    expect(stableKey({ at: new Date(0) })).toBe(stableKey({ at: "1970-01-01T00:00:00.000Z" }));
  });

  it("refuses to key what JSON cannot carry", () => {
    expect(() => stableKey({ n: 10n })).toThrow(TypeError);
  });

  it("gives a record the same key whatever the order of its fields, and a different key when a value changes", () => {
    expect(stableKey({ a: 1, b: 2 })).toBe(stableKey({ b: 2, a: 1 }));
    expect(stableKey({ a: 1, b: 2 })).not.toBe(stableKey({ a: 1, b: 3 }));
  });
});

describe("identifier normalisation", () => {
  it.each([
    ["  Jane@Example.COM ", "jane@example.com"],
    ["bob@example.com", "bob@example.com"],
  ])("normalises the email %j to %j", (raw, expected) => {
    expect(normalizeEmail(raw)).toBe(expected);
  });

  it.each([
    ["(212) 555-1234", "+12125551234"],
    ["212.555.1234", "+12125551234"],
    ["+44 20 7946 0958", "+442079460958"],
    ["555-1234", undefined],
    ["not a phone", undefined],
    ["", undefined],
  ])("normalises the phone %j to %j", (raw, expected) => {
    expect(normalizePhone(raw)).toBe(expected);
  });

  it("builds a profile record with a normalised email and phone, trimmed names and ids, and no empty fields", () => {
    expect(
      buildProfileRecord({
        email: " Jane@Example.com",
        phone: "(212) 555-1234",
        first_name: " McDonald ",
        last_name: "",
        customer_id: "C-42 ",
        source: "ignored",
      }),
    ).toEqual({ email: "jane@example.com", phone: "+12125551234", first_name: "McDonald", customer_id: "C-42" });
  });

  it("leaves out a phone that cannot be normalised rather than writing it malformed", () => {
    expect(buildProfileRecord({ email: "a@example.com", phone: "12" })).toEqual({ email: "a@example.com" });
  });
});

describe("retry timing", () => {
  const retry = { baseDelayMs: 100, maxDelayMs: 1000 };

  it.each([
    [1, 0, 100],
    [2, 0, 200],
    [3, 0, 400],
    [3, 1, 500],
    [5, 0, 1000],
    [9, 1, 1000],
  ])("backs off after attempt %i with jitter %d by %d ms", (attempt, jitter, expected) => {
    expect(backoffDelayMs(attempt, retry, () => jitter)).toBe(expected);
  });

  it("waits for Retry-After when it is longer than the backoff, and for the backoff otherwise", () => {
    expect(retryDelayMs({ attempt: 1, retryAfterMs: 2500, retry, random: () => 0 })).toBe(2500);
    expect(retryDelayMs({ attempt: 3, retryAfterMs: 50, retry, random: () => 0 })).toBe(400);
  });

  it("spreads callers told the same Retry-After by up to one base delay, never below it", () => {
    expect(retryDelayMs({ attempt: 1, retryAfterMs: 2500, retry, random: () => 0.5 })).toBe(2550);
    expect(retryDelayMs({ attempt: 1, retryAfterMs: 2500, retry, random: () => 0.999 })).toBeLessThan(2600);
  });

  it.each([
    ["2", 2000],
    ["2.5", 2500],
    ["0", 0],
    ["Thu, 01 Jan 1970 00:00:05 GMT", 4000],
    ["soon", undefined],
    [null, undefined],
  ])("reads Retry-After %j as %j ms", (header, expected) => {
    expect(parseRetryAfterMs(header, 1000)).toBe(expected);
  });
});

describe("failure classification", () => {
  it.each([
    [409, "CDP_ETL.CONFLICT.WRITE_RACE", "transient"],
    [429, "CDP_ETL.RATE_LIMIT.EXCEEDED", "transient"],
    [500, "CDP_ETL.INTERNAL.UNHANDLED_EXCEPTION", "transient"],
    [502, "CDP_ETL.UPSTREAM.UNAVAILABLE", "transient"],
    [503, "CDP_ETL.SERVICE.UNAVAILABLE", "transient"],
    [504, "CDP_ETL.UPSTREAM.TIMEOUT", "transient"],
    [0, "CLIENT.NETWORK_ERROR", "transient"],
    [0, "CLIENT.TIMEOUT", "transient"],
    [0, "CLIENT.JOB_WAIT_TIMEOUT", "transient"],
    [200, "CLIENT.MALFORMED_RESPONSE", "transient"],
    [422, "CDP_ETL.VALIDATION.REQUEST_SCHEMA", "schema"],
    [400, "CDP_ETL.VALIDATION.REQUEST_INVALID", "bad_data"],
    [413, "CDP_ETL.VALIDATION.REQUEST_INVALID", "bad_data"],
    [401, "CDP_ETL.AUTH.TOKEN_EXPIRED", "auth"],
    [403, "CDP_ETL.AUTH.FORBIDDEN", "auth"],
    [404, "CDP_ETL.NOT_FOUND", "bad_data"],
    [422, "CDP_ETL.IDEMPOTENCY.KEY_REUSED", "bad_data"],
  ])("classifies %i %s as %s", (status, code, expected) => {
    expect(classifyFailure(status, code)).toBe(expected);
    expect(new CdpApiError({ status, code, message: "m" }).retryable).toBe(expected === "transient");
  });
});
