import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEmulator, type StartedEmulator } from "../../src/index.js";
import { rawPost, rawRequest } from "../helpers/raw-http.js";
import type { ErrorEnvelope } from "../../src/domain/errors.js";

const INVALID = "CDP_ETL.VALIDATION.REQUEST_INVALID";

/** `{"record":{"email":…},"x":[[[…]]]}`: an otherwise small body whose `x` is `levels` deep. */
const nested = (levels: number, email = "deep@example.com"): string =>
  `{"record":{"email":"${email}"},"x":${"[".repeat(levels)}${"]".repeat(levels)}}`;

let emu: StartedEmulator;

beforeAll(async () => {
  emu = await startEmulator({ rateLimits: { single: { limit: 100_000, windowSeconds: 1 }, batch: { limit: 100_000, windowSeconds: 1 } } });
});
afterAll(() => emu.stop());
beforeEach(() => emu.control.reset());

async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string; envelope: ErrorEnvelope; headers: Headers }> {
  const response = await fetch(`${emu.apiUrl}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${emu.token}`, "Content-Type": "application/json", ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, envelope: JSON.parse(text) as ErrorEnvelope, headers: response.headers };
}

describe("deep nesting is refused while parsing and poisons nothing", () => {
  it.each<{ name: string; levels: number; headers: Record<string, string> }>([
    { name: "5,000 levels", levels: 5_000, headers: {} },
    { name: "3,000 levels with an Idempotency-Key", levels: 3_000, headers: { "Idempotency-Key": "deep-1" } },
    { name: "65 levels, one past the limit", levels: 64, headers: {} },
  ])("a body nested $name gets 400 naming the limit of 64", async ({ levels, headers }) => {
    const response = await post("/records/profiles/upsert", nested(levels), headers);
    expect(response.status).toBe(400);
    expect(response.envelope.error.code).toBe(INVALID);
    expect(response.envelope.error.message).toMatch(/nested deeper than the limit of 64 levels/);
    expect(response.envelope.error.details["limit"]).toBe(64);
  });

  it("a body exactly 64 levels deep is not refused for its depth", async () => {
    // `{"record":{…}}` is 2 levels; a field holding 62 nested arrays makes 64.
    const body = `{"record":{"email":"ok@example.com","first_name":${"[".repeat(62)}${"]".repeat(62)}}}`;
    const response = await post("/records/profiles/upsert", body);
    expect(response.status).toBe(400);
    expect(response.envelope.error.message).not.toMatch(/limit of 64/);
    expect(response.envelope.error.details["path"]).toBe("record.first_name");
  });

  it("leaves the journal, the event stream and later writes working after a deep body", async () => {
    await post("/records/profiles/upsert", nested(5_000), { "Idempotency-Key": "deep-2" });
    const journal = await emu.control.journal.list();
    expect(journal.map((entry) => entry.status)).toContain(400);

    const events = await fetch(`${emu.url}/_emulator/events?since=0`);
    expect(events.status).toBe(200);
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("event: entry")) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();

    const ok = await post("/records/profiles/upsert", JSON.stringify({ record: { email: "after@example.com" } }));
    expect(ok.status).toBe(200);
  });

  it.each([
    { path: "/faults", method: "POST" },
    { path: "/jobs", method: "POST" },
    { path: "/clock", method: "POST" },
    { path: "/workspaces", method: "POST" },
    { path: "/records/profiles", method: "POST" },
    { path: "/seed", method: "POST" },
    { path: "/rate-limits", method: "PUT" },
  ])("the control plane's $method $path refuses a deep body with the same 400", async ({ path, method }) => {
    const response = await fetch(`${emu.url}/_emulator${path}`, {
      method,
      headers: { "Content-Type": "application/json" },
      body: `{"x":${"[".repeat(5_000)}${"]".repeat(5_000)}}`,
    });
    expect(response.status).toBe(400);
    const envelope = (await response.json()) as ErrorEnvelope;
    expect(envelope.error.message).toMatch(/limit of 64 levels/);
  });
});

describe("what an envelope echoes of a client's value is a capped preview", () => {
  it("a 5 MB field comes back as a short preview with its size", async () => {
    const email = `${"x".repeat(5_000_000)}@example.com`;
    const response = await post("/records/profiles/upsert", JSON.stringify({ record: { email } }));
    expect(response.status).toBe(400);
    expect(response.text.length).toBeLessThan(2_000);
    const details = response.envelope.error.details;
    expect(details["path"]).toBe("record.email");
    expect(details["value"]).toMatch(/^x{64}…$/);
    expect(details["valueTruncated"]).toBe(true);
    expect(details["valueBytes"]).toBe(Buffer.byteLength(JSON.stringify(email)));
  });

  it("a value nested 30 deep comes back at most 3 deep", async () => {
    const body = `{"record":{"email":"a@example.com","first_name":${"[".repeat(30)}1${"]".repeat(30)}}}`;
    const response = await post("/records/profiles/upsert", body);
    expect(response.status).toBe(400);
    expect(response.envelope.error.details["value"]).toEqual([[["…"]]]);
    expect(response.envelope.error.details["valueTruncated"]).toBe(true);
  });

  it("a small value comes back exactly as sent, with no truncation marks", async () => {
    const response = await post("/records/profiles/upsert", JSON.stringify({ record: { email: "not-an-email" } }));
    expect(response.envelope.error.details).toEqual({ path: "record.email", value: "not-an-email" });
  });

  it("a batch row's error in the job report quotes a capped preview too", async () => {
    const big = "y".repeat(100_000);
    const accepted = await post("/records/profiles/append-batch", JSON.stringify({ records: [{ email: big }] }), { Prefer: "wait=10" });
    expect(accepted.status).toBe(200);
    const job = (accepted.envelope as unknown as { data: { errorsPath: string } }).data;
    const errors = await fetch(`${emu.apiUrl}${job.errorsPath}`, { headers: { Authorization: `Bearer ${emu.token}` } });
    const text = await errors.text();
    expect(text.length).toBeLessThan(2_000);
    expect(text).toContain(`${"y".repeat(64)}…`);
  });
});

describe("text that memory and disk would store differently is refused", () => {
  it("invalid UTF-8 in a body gets 400, and nothing is stored", async () => {
    const body = Buffer.concat([Buffer.from('{"record":{"email":"bad'), Buffer.from([0xff, 0xfe]), Buffer.from('@example.com"}}')]);
    const response = await post("/records/profiles/upsert", body);
    expect(response.status).toBe(400);
    expect(response.envelope.error.message).toMatch(/not valid UTF-8/);
    expect(await emu.control.records.list("profiles")).toHaveLength(0);
  });

  it.each([
    { name: "an identity value", body: '{"record":{"email":"a\\ud800@example.com"}}', path: "record.email" },
    { name: "a low surrogate alone", body: '{"record":{"email":"a@example.com","city":"\\udc00"}}', path: "record.city" },
    { name: "a field name", body: '{"record":{"email":"a@example.com","\\ud800":1}}', path: "record.\ud800" },
    { name: "a batch row", body: '{"records":[{"email":"a@example.com"},{"email":"b\\ud83d@example.com"}]}', path: "records[1].email", op: "append-batch" },
  ])("a lone surrogate in $name gets 400 with its path", async ({ body, path, op }) => {
    const response = await post(`/records/profiles/${op ?? "upsert"}`, body);
    expect(response.status).toBe(400);
    expect(response.envelope.error.message).toMatch(/lone UTF-16 surrogate/);
    expect(response.envelope.error.details["path"]).toBe(path);
    expect(await emu.control.records.list("profiles")).toHaveLength(0);
  });

  it("a well-formed surrogate pair (an emoji) is stored and found again by the same upsert", async () => {
    const body = '{"record":{"customer_id":"a\\ud83d\\ude00","city":"x"},"matchKey":"customer_id"}';
    expect((await post("/records/profiles/upsert", body)).status).toBe(200);
    expect((await post("/records/profiles/upsert", body)).status).toBe(200);
    const rows = await emu.control.records.list("profiles");
    expect(rows).toHaveLength(1);
    expect((rows[0]?.["fields"] as Record<string, unknown>)["customer_id"]).toBe("a😀");
  });
});

describe("top-level fields of the wrong type are refused, null included", () => {
  it.each([
    { path: "/records/profiles/upsert", body: { record: { email: "a@example.com" }, matchKey: null }, message: /matchKey must be a string naming an identity key/ },
    { path: "/records/profiles/upsert", body: { record: { email: "a@example.com" }, matchKey: 5 }, message: /matchKey must be a string/ },
    { path: "/records/profiles/upsert-batch", body: { records: [{ email: "a@example.com" }], matchKey: null }, message: /matchKey must be a string naming an identity key/ },
    { path: "/records/profiles/upsert", body: { record: null }, message: /record: must be a JSON object/ },
    { path: "/records/profiles/append-batch", body: { records: null }, message: /records: must be an array/ },
    { path: "/records/profiles/append-batch", body: { records: "x" }, message: /records: must be an array/ },
  ])("$path with $body gets 400", async ({ path, body, message }) => {
    const response = await post(path, JSON.stringify(body));
    expect(response.status).toBe(400);
    expect(response.envelope.error.code).toBe(INVALID);
    expect(response.envelope.error.message).toMatch(message);
  });
});

describe("oversized headers and malformed HTTP get the vendor's envelope", () => {
  const upsert = "/public/v1/records/profiles/upsert";
  const json = '{"record":{"email":"raw@example.com"}}';
  const auth = () => `Authorization: Bearer ${emu.token}`;

  it.each([
    { name: "a 20 KB Idempotency-Key", headers: () => [auth(), "Content-Type: application/json", `Idempotency-Key: ${"k".repeat(20_000)}`], path: upsert, status: 431, message: /exceed the limit of 16384 bytes/ },
    { name: "a 20 KB X-Correlation-Id", headers: () => [auth(), "Content-Type: application/json", `X-Correlation-Id: ${"c".repeat(20_000)}`], path: upsert, status: 431, message: /exceed the limit/ },
    { name: "5,000 query parameters", headers: () => [auth(), "Content-Type: application/json"], path: `${upsert}?${Array.from({ length: 5_000 }, (_, i) => `p${i}=1`).join("&")}`, status: 431, message: /exceed the limit/ },
    { name: "a CR inside a header value", headers: () => [auth(), "Content-Type: application/json", "X-Custom: a\rInjected: b"], path: upsert, status: 400, message: /not valid HTTP/ },
    { name: "two different Content-Lengths", headers: () => [auth(), "Content-Type: application/json", "Content-Length: 5", `Content-Length: ${json.length}`], path: upsert, status: 400, message: /not valid HTTP/ },
  ])("$name gets $status with the envelope, a correlation id and quota headers", async ({ headers, path, status, message }) => {
    const response = await rawRequest(emu.url, rawPost(emu.url, { path, headers: headers(), body: json }));
    expect(response.status).toBe(status);
    const envelope = JSON.parse(response.body) as ErrorEnvelope;
    expect(envelope.success).toBe(false);
    expect(envelope.error.code).toBe(INVALID);
    expect(envelope.error.message).toMatch(message);
    expect(response.headers["x-correlation-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers["x-ratelimit-limit"]).toBe("100000");
    expect(response.headers["x-ratelimit-remaining"]).toMatch(/^\d+$/);
    expect(response.headers["x-ratelimit-reset"]).toMatch(/^\d+$/);
  });

  it.each([
    { name: "an Idempotency-Key over 255 characters", header: `Idempotency-Key: ${"k".repeat(256)}`, message: /Idempotency-Key is 256 characters; the limit is 255/ },
    { name: "an Idempotency-Key with a space", header: "Idempotency-Key: two words", message: /Idempotency-Key must be 1 to 255 visible ASCII/ },
    { name: "an X-Correlation-Id over 128 characters", header: `X-Correlation-Id: ${"c".repeat(129)}`, message: /X-Correlation-Id is 129 characters; the limit is 128/ },
    { name: "an X-Correlation-Id with a non-ASCII byte", header: "X-Correlation-Id: caf\xe9", message: /X-Correlation-Id must be printable ASCII/ },
  ])("$name gets 400 before auth runs, with a minted correlation id", async ({ header, message }) => {
    // No Authorization: the header check comes first, so this is a 400, not a 401.
    const response = await rawRequest(emu.url, rawPost(emu.url, { path: upsert, headers: ["Content-Type: application/json", header], body: json }));
    expect(response.status).toBe(400);
    expect((JSON.parse(response.body) as ErrorEnvelope).error.message).toMatch(message);
    expect(response.headers["x-correlation-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers["x-ratelimit-limit"]).toBe("100000");
  });

  it("a refused header leaves nothing stored and no key claimed", async () => {
    const key = "k".repeat(256);
    await rawRequest(emu.url, rawPost(emu.url, { path: upsert, headers: [auth(), "Content-Type: application/json", `Idempotency-Key: ${key}`], body: json }));
    expect(await emu.control.records.list("profiles")).toHaveLength(0);
  });
});
