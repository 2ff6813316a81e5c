import { join } from "node:path";
import { rmSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Envelope, ErrorEnvelope } from "../../src/domain/errors.js";
import { startEmulator, type StartedEmulator } from "../../src/index.js";
import { tempDir } from "../helpers/emulator.js";
import { rawPost, rawRequest } from "../helpers/raw-http.js";

/**
 * Property tests: whatever a careless or hostile client sends, the answer is a 2xx or the vendor's
 * 4xx envelope (never a 5xx, a crash or a bare body), and afterwards the journal, the event stream
 * and the stored rows (after a restart too) still read. Each run's seed is printed on failure;
 * `FC_SEED=<seed>` replays it.
 */

const RUNS = Number(process.env["FC_RUNS"] ?? 150);
const seedOf = (): { seed?: number } => (process.env["FC_SEED"] ? { seed: Number(process.env["FC_SEED"]) } : {});
const OBJECTS = ["profiles", "orders", "events", "no_such_object"] as const;
const OPERATIONS = ["append", "upsert", "append-batch", "upsert-batch"] as const;
const PROFILE_FIELDS = ["email", "customer_id", "phone", "first_name", "city", "tier", "created_at"];

/** The contract every answer keeps, success or refusal. */
function expectWellFormed(status: number, text: string, headers: (name: string) => string | null | undefined, options: { quota: boolean }): void {
  expect(status, text.slice(0, 300)).toBeGreaterThanOrEqual(200);
  expect(status, text.slice(0, 300)).toBeLessThan(500);
  expect(headers("x-correlation-id")).toBeTruthy();
  if (options.quota) {
    for (const name of ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]) expect(headers(name)).toMatch(/^\d+$/);
  }
  const body = JSON.parse(text) as Envelope<unknown>;
  if (status >= 400) {
    expect(body.success).toBe(false);
    // Whatever came over the wire: the checks below are what makes it an ErrorEnvelope.
    const { error } = body as Partial<ErrorEnvelope>;
    expect(error?.code).toMatch(/^CDP_ETL\.[A-Z_.]+$/);
    expect(typeof error?.message).toBe("string");
    expect(typeof error?.details).toBe("object");
    // An envelope quotes client data only as a capped preview.
    expect(text.length).toBeLessThan(4_096);
  } else {
    expect(body.success).toBe(true);
  }
}

/** Strings of any code unit, lone surrogates included, and JSON of any shape up to a few levels. */
const anyString = fc.string({ unit: "binary", maxLength: 40 });
const anyJson = fc.jsonValue({ stringUnit: "binary", maxDepth: 4 });
/** Deep nesting of random depth around and far past the limit of 64. */
const deepValue = fc.integer({ min: 1, max: 4_000 }).map((depth) => JSON.parse(`${"[".repeat(depth)}${"]".repeat(depth)}`) as unknown);
/** Records that look like the real thing: real and unknown field names, values of any type. */
const record = fc.dictionary(fc.oneof(fc.constantFrom(...PROFILE_FIELDS), anyString), fc.oneof(anyJson, fc.emailAddress(), deepValue), { maxKeys: 5 });
const envelope = fc.record(
  { record: fc.oneof(record, anyJson), records: fc.oneof(fc.array(record, { maxLength: 4 }), anyJson), matchKey: fc.oneof(fc.constantFrom("email", "customer_id", "nope"), anyJson) },
  { requiredKeys: [] },
);
/** Writes that may well succeed: a real email, and free text (lone surrogates and emoji included) beside it. */
const plausibleRecord = fc.record({ email: fc.emailAddress(), customer_id: anyString, city: anyString, first_name: anyString }, { requiredKeys: ["email"] });
const plausible = fc.oneof(
  fc.record({ record: plausibleRecord, matchKey: fc.constant("email") }, { requiredKeys: ["record"] }),
  fc.record({ records: fc.array(plausibleRecord, { minLength: 1, maxLength: 3 }) }),
);
/** A body as bytes: JSON text of any value, or raw bytes that may be invalid UTF-8 or not JSON at all. */
const body = fc.oneof(
  { weight: 3, arbitrary: plausible.map((value) => Buffer.from(JSON.stringify(value), "utf8")) },
  { weight: 4, arbitrary: envelope.map((value) => Buffer.from(JSON.stringify(value), "utf8")) },
  { weight: 1, arbitrary: fc.oneof(anyJson, deepValue).map((value) => Buffer.from(JSON.stringify(value), "utf8")) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  // A lone surrogate written as an escape: JSON.stringify never produces one.
  { weight: 1, arbitrary: fc.constantFrom('{"record":{"email":"x\\ud800@example.com"}}', '{"record":{"\\udfff":1}}', '{"records":[{"city":"\\ud83d"}]}').map((text) => Buffer.from(text)) },
);
const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "application/vnd.api+json", "text/plain", "application/json; charset=latin1", undefined);
/** Header values of printable ASCII of any length, around the limits (255 and 128) and well past them. */
const headerValue = fc.oneof(fc.string({ unit: "binary-ascii", maxLength: 300 }), fc.integer({ min: 100, max: 400 }).map((n) => "k".repeat(n)));
const printable = (value: string): boolean => /^[\x20-\x7e]*$/.test(value);

async function rowsOf(emu: StartedEmulator): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const object of OBJECTS.slice(0, 3)) out[object] = await emu.control.records.list(object, { limit: 500 });
  return out;
}

async function expectEventStreamReplaysTheJournal(emu: StartedEmulator): Promise<void> {
  const response = await fetch(`${emu.url}/_emulator/events?since=0`);
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  // The backlog is written at once: read until a frame of the last entry has arrived.
  const last = (await emu.control.journal.list({ limit: 1 }))[0]?.seq;
  // Until the last entry's frame has arrived whole (its id line comes before its data line).
  const complete = (): boolean => {
    const at = text.indexOf(`id: ${last}\n`);
    return at !== -1 && text.indexOf("\n\n", at) !== -1;
  };
  while (!complete()) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value);
  }
  await reader.cancel();
  expect(text).toContain(`id: ${last}\n`);
  for (const frame of text.split("\n\n").filter((part) => part.startsWith("event: entry"))) {
    const data = frame.split("\n").find((line) => line.startsWith("data: "));
    expect(() => JSON.parse((data ?? "").slice(6))).not.toThrow();
  }
}

describe("the public API answers any body with a 2xx or the vendor's 4xx envelope", () => {
  let emu: StartedEmulator;
  const dir = tempDir();
  const db = join(dir, "cdp.sqlite");
  const limits = { single: { limit: 1_000_000, windowSeconds: 1 }, batch: { limit: 1_000_000, windowSeconds: 1 } };

  beforeAll(async () => {
    emu = await startEmulator({ db, rateLimits: limits });
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("never answers 5xx, and the journal, events and stored rows stay readable, across a restart too", async () => {
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // Anything at all, anywhere...
          { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...OBJECTS), fc.constantFrom(...OPERATIONS), body, contentType) },
          // ...and writes aimed to be accepted (free text with emoji and lone surrogates beside a real
          // email), so every run stores rows for the restart check to compare.
          {
            weight: 1,
            arbitrary: fc.tuple(
              fc.constant("profiles"),
              fc.constant("upsert"),
              fc
                .record({ email: fc.emailAddress(), customer_id: anyString.filter((text) => text !== ""), city: anyString })
                .map((record) => Buffer.from(JSON.stringify({ record, matchKey: "email" }), "utf8")),
              fc.constant("application/json"),
            ),
          },
        ),
        fc.option(fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 40 }).filter((key) => /^[\x21-\x7e]+$/.test(key))),
        async ([object, operation, bytes, type], key) => {
          const headers: Record<string, string> = { Authorization: `Bearer ${emu.token}` };
          if (type !== undefined) headers["Content-Type"] = type;
          if (key !== null) headers["Idempotency-Key"] = key;
          const response = await fetch(`${emu.apiUrl}/records/${object}/${operation}`, { method: "POST", headers, body: bytes });
          expectWellFormed(response.status, await response.text(), (name) => response.headers.get(name), { quota: true });
          if (response.status < 300) stored += 1;
        },
      ),
      { numRuns: RUNS, ...seedOf() },
    );

    // Not only refusals: some writes went through, so the restart check below compares real rows.
    expect(stored).toBeGreaterThan(0);
    expect((await emu.control.journal.list({ limit: 10_000 })).length).toBeGreaterThan(0);
    await expectEventStreamReplaysTheJournal(emu);
    const before = await rowsOf(emu);
    await emu.stop();
    emu = await startEmulator({ db, rateLimits: limits });
    // What was stored reads back the same from disk as it was served from memory.
    expect(await rowsOf(emu)).toEqual(before);
  }, 120_000);

  it("never answers 5xx to any Idempotency-Key or X-Correlation-Id, and echoes only a valid id", async () => {
    await fc.assert(
      fc.asyncProperty(headerValue, headerValue, async (key, correlation) => {
        const lines = ["Content-Type: application/json", `Authorization: Bearer ${emu.token}`];
        // Only what a client can put in a header line at all: CR and LF end it.
        if (printable(key)) lines.push(`Idempotency-Key: ${key}`);
        if (printable(correlation)) lines.push(`X-Correlation-Id: ${correlation}`);
        const response = await rawRequest(
          emu.url,
          rawPost(emu.url, { path: "/public/v1/records/profiles/upsert", headers: lines, body: JSON.stringify({ record: { email: "p@example.com" } }) }),
        );
        expectWellFormed(response.status, response.body, (name) => response.headers[name], { quota: true });
        const echoed = response.headers["x-correlation-id"] ?? "";
        expect(echoed.length).toBeLessThanOrEqual(128);
      }),
      { numRuns: RUNS, ...seedOf() },
    );
  }, 120_000);

  it("never answers 5xx to raw header lines of any bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.integer({ min: 0, max: 20_000 }), async (bytes, padding) => {
        const request = Buffer.concat([
          Buffer.from(`POST /public/v1/records/profiles/upsert HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${emu.token}\r\nX-Padding: ${"p".repeat(padding)}\r\nX-Any: `, "latin1"),
          Buffer.from(bytes),
          Buffer.from("\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", "latin1"),
        ]);
        const response = await rawRequest(emu.url, request);
        expectWellFormed(response.status, response.body, (name) => response.headers[name], { quota: true });
      }),
      { numRuns: RUNS, ...seedOf() },
    );
  }, 120_000);
});

describe("the control plane answers any body with a 2xx or the vendor's 4xx envelope", () => {
  let emu: StartedEmulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.stop());

  // Every control route that reads a body; /jobs/hold is left out: it would hold the worker.
  const routes = [
    { method: "POST", path: "/faults" },
    { method: "POST", path: "/clock" },
    { method: "POST", path: "/workspaces" },
    { method: "POST", path: "/tokens" },
    { method: "POST", path: "/records/profiles" },
    { method: "POST", path: "/jobs" },
    { method: "POST", path: "/seed" },
    { method: "PUT", path: "/rate-limits" },
  ];

  it("never answers 5xx, and the journal and events still read afterwards", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, contentType, async (route, bytes, type) => {
        const response = await fetch(`${emu.url}/_emulator${route.path}`, {
          method: route.method,
          headers: type === undefined ? {} : { "Content-Type": type },
          body: bytes,
        });
        expectWellFormed(response.status, await response.text(), (name) => response.headers.get(name), { quota: false });
      }),
      { numRuns: RUNS, ...seedOf() },
    );
    // The public API still works and is journaled, and the journal still reads.
    const write = await fetch(`${emu.apiUrl}/records/profiles/upsert`, {
      method: "POST",
      headers: { Authorization: `Bearer ${emu.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ record: { email: "after@example.com" } }),
    });
    expect([200, 401, 429]).toContain(write.status);
    expect((await emu.control.journal.list()).length).toBeGreaterThan(0);
    await expectEventStreamReplaysTheJournal(emu);
  }, 120_000);
});
