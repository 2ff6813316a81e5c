import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CdpApiError, CdpClient, type CdpClientOptions, type DeadLetter, type RetryOptions } from "../../src/client/index.js";
import { ControlClient, type FaultRuleInput, type JournalEntry } from "../../src/testing/control-client.js";
import { AUTH, startEmulatorOnDisk as startEmulator, TOKEN, type EmulatorOnDisk as TestEmulator } from "../helpers/emulator.js";

let emu: TestEmulator;
const FAST: Partial<RetryOptions> = { baseDelayMs: 5, maxDelayMs: 50 };

beforeAll(async () => {
  emu = await startEmulator();
  control = new ControlClient(emu.url);
});
afterAll(async () => {
  await emu.dispose();
});
afterEach(async () => {
  await control.reset();
  await control.setRateLimits({ single: { limit: 1000, windowSeconds: 1 }, batch: { limit: 100, windowSeconds: 1 } });
  await control.jobs.release();
});

let control: ControlClient;
const addFault = (rule: FaultRuleInput): Promise<unknown> => control.faults.add(rule);
const journal = (operation: string): Promise<JournalEntry[]> => control.journal.list({ operation, limit: 1000 });
const rows = (object: string): Promise<Record<string, unknown>[]> => control.records.list(object, { limit: 1000 });

function client(options: Partial<CdpClientOptions<undefined>> = {}): CdpClient {
  return new CdpClient({ baseUrl: `${emu.url}/public/v1`, token: TOKEN, retry: FAST, ...options });
}

describe("CdpClient against the emulator", () => {
  it("writes with append and upsert and reports the correlation id, key, attempts and replay", async () => {
    const cdp = client();
    const appended = await cdp.append("orders", { order_id: "o1", customer_email: "jane@example.com", total: 10, currency: "USD", placed_at: "2026-04-21T15:30:00Z" });
    expect(appended.data).toMatchObject({ operation: "append", objectName: "orders", accepted: true, acceptedRecords: 1 });
    expect(appended.status).toBe(200);
    expect(appended.correlationId).toBeTruthy();
    expect(appended.attempts).toBe(1);
    expect(appended.replayed).toBe(false);

    const upserted = await cdp.upsert("profiles", { email: "jane@example.com", tier: "gold" }, { matchKey: "email", idempotencyKey: "k-1" });
    expect(upserted.data).toMatchObject({ operation: "upsert", matchKey: "email" });
    expect(upserted.idempotencyKey).toBe("k-1");
    const again = await cdp.upsert("profiles", { email: "jane@example.com", tier: "gold" }, { matchKey: "email", idempotencyKey: "k-1" });
    expect(again.replayed).toBe(true);
    expect(await rows("profiles")).toHaveLength(1);
  });

  it("generates one idempotency key per logical call when the caller gives none", async () => {
    const cdp = client();
    const first = await cdp.upsert("profiles", { email: "a@example.com" });
    const second = await cdp.upsert("profiles", { email: "a@example.com" });
    expect(first.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.idempotencyKey).not.toBe(first.idempotencyKey);
  });

  it.each([409, 429, 500, 502, 503, 504])("retries a %i with the same Idempotency-Key and writes one row", async (status) => {
    // A short Retry-After keeps the 429 case quick; the client honours it (tested below).
    const action = status === 429 ? { status, retryAfter: 0.01 } : { status };
    await addFault({ match: { operation: "upsert" }, action, schedule: { times: 2 } });
    const result = await client().upsert("profiles", { email: "retry@example.com", tier: "gold" });
    expect(result.attempts).toBe(3);
    const entries = await journal("upsert");
    expect(entries.map((entry) => entry.status)).toEqual([status, status, 200]);
    expect(new Set(entries.map((entry) => entry.idempotencyKey))).toEqual(new Set([result.idempotencyKey]));
    expect(await rows("profiles")).toHaveLength(1);
  });

  it.each([
    ["an unknown field", { email: "a@example.com", favourite_colour: "red" }, 422, "CDP_ETL.VALIDATION.REQUEST_SCHEMA", "schema"],
    ["a malformed email", { email: "not-an-email" }, 400, "CDP_ETL.VALIDATION.REQUEST_INVALID", "bad_data"],
  ])("does not retry %s and classifies it", async (_label, record, status, code, failureType) => {
    const error = await client().upsert("profiles", record).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CdpApiError);
    expect(error).toMatchObject({ status, code, failureType, attempts: 1, retryable: false });
    expect((error as CdpApiError).correlationId).toBeTruthy();
    expect(await journal("upsert")).toHaveLength(1);
  });

  it("classifies an unknown token as auth and a token without the write scope as auth, without retrying", async () => {
    const unknown = await client({ token: "no-such-token" }).upsert("profiles", { email: "a@example.com" }).catch((caught: unknown) => caught);
    expect(unknown).toMatchObject({ status: 401, code: "CDP_ETL.AUTH.TOKEN_INVALID", failureType: "auth", attempts: 1 });
    const minted = await control.workspaces.mintToken({ workspace: "default", scopes: ["records:read"] });
    const readOnly = await client({ token: minted.token }).upsert("profiles", { email: "a@example.com" }).catch((caught: unknown) => caught);
    expect(readOnly).toMatchObject({ status: 403, code: "CDP_ETL.AUTH.FORBIDDEN", failureType: "auth", attempts: 1 });
  });

  it("hands a non-retryable write to onDeadLetter and resolves undefined instead of throwing", async () => {
    const letters: DeadLetter[] = [];
    const cdp = new CdpClient({
      baseUrl: `${emu.url}/public/v1`,
      token: TOKEN,
      retry: FAST,
      onDeadLetter: (letter) => {
        letters.push(letter);
      },
    });
    const result = await cdp.upsert("profiles", { email: "a@example.com", shoe_size: 42 }, { idempotencyKey: "dlq-1" });
    expect(result).toBeUndefined();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      operation: "upsert",
      object: "profiles",
      records: [{ email: "a@example.com", shoe_size: 42 }],
      idempotencyKey: "dlq-1",
      failureType: "schema",
    });
    expect(letters[0]!.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_SCHEMA");
    expect(Date.parse(letters[0]!.failedAt)).not.toBeNaN();
  });

  it("still throws a transient failure that outlasts every attempt, even with a dead-letter handler", async () => {
    await addFault({ match: { operation: "upsert" }, action: { status: 503 } });
    const letters: DeadLetter[] = [];
    const cdp = new CdpClient({ baseUrl: `${emu.url}/public/v1`, token: TOKEN, retry: { ...FAST, maxAttempts: 3 }, onDeadLetter: (letter) => void letters.push(letter) });
    const error = await cdp.upsert("profiles", { email: "a@example.com" }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 503, code: "CDP_ETL.SERVICE.UNAVAILABLE", attempts: 3, failureType: "transient" });
    expect(letters).toEqual([]);
    expect(await journal("upsert")).toHaveLength(3);
  });

  it("waits at least Retry-After before retrying a 429, even when its own backoff is shorter", async () => {
    await addFault({ match: { operation: "upsert" }, action: { status: 429, retryAfter: 0.4 }, schedule: { times: 1 } });
    const waits: number[] = [];
    // Threshold 0: the 429's X-RateLimit-Remaining 0 would otherwise add a backpressure pause.
    const cdp = client({ sleep: async (ms) => void waits.push(ms), retry: { baseDelayMs: 5, maxDelayMs: 50, backpressureThreshold: 0 } });
    const result = await cdp.upsert("profiles", { email: "a@example.com" });
    expect(result.attempts).toBe(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(400);
  });

  it("retries a lost acknowledgement with the same key and gets the stored answer, leaving one row", async () => {
    await addFault({ match: { operation: "append" }, action: { afterCommit: true, reset: true }, schedule: { times: 1 } });
    const result = await client().append("events", { event: "page_view", occurred_at: "2026-04-21T15:00:00Z" });
    expect(result.attempts).toBe(2);
    expect(result.replayed).toBe(true);
    expect(await rows("events")).toHaveLength(1);
  });

  it("retries a 200 whose body is not JSON, since the write may have committed", async () => {
    await addFault({ match: { operation: "append" }, action: { afterCommit: true, malformed: true }, schedule: { times: 1 } });
    const result = await client().append("events", { event: "page_view", occurred_at: "2026-04-21T15:00:00Z" });
    expect(result).toMatchObject({ attempts: 2, replayed: true });
    expect(await rows("events")).toHaveLength(1);
  });

  it("abandons an attempt after attemptTimeoutMs and retries it", async () => {
    await addFault({ match: { operation: "upsert" }, action: { timeout: { holdMs: 2000, then: "drop" } }, schedule: { times: 1 } });
    const result = await client({ retry: { ...FAST, attemptTimeoutMs: 300 } }).upsert("profiles", { email: "slow@example.com" });
    expect(result.attempts).toBe(2);
    expect(await rows("profiles")).toHaveLength(1);
  });

  it("reports CLIENT.TIMEOUT when every attempt times out", async () => {
    await addFault({ match: { operation: "upsert" }, action: { timeout: { holdMs: 2000, then: "drop" } } });
    const error = await client({ retry: { ...FAST, attemptTimeoutMs: 150, maxAttempts: 2 } })
      .upsert("profiles", { email: "slow@example.com" })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 0, code: "CLIENT.TIMEOUT", attempts: 2, failureType: "transient" });
  });

  it("reports CLIENT.NETWORK_ERROR when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const cdp = new CdpClient({ baseUrl: `http://127.0.0.1:${port}/public/v1`, token: TOKEN, retry: { ...FAST, maxAttempts: 2 } });
    const error = await cdp.upsert("profiles", { email: "a@example.com" }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 0, code: "CLIENT.NETWORK_ERROR", attempts: 2 });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it("stops at once when the caller aborts, without another attempt", async () => {
    await addFault({ match: { operation: "upsert" }, action: { status: 503 } });
    const controller = new AbortController();
    const cdp = client({ retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 } });
    const pending = cdp.upsert("profiles", { email: "a@example.com" }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    expect(await journal("upsert")).toHaveLength(1);
  });

  it("backs off voluntarily before the next request when X-RateLimit-Remaining runs low", async () => {
    await control.setRateLimits({ single: { limit: 20, windowSeconds: 60 } });
    const waits: number[] = [];
    const cdp = client({ sleep: async (ms) => void waits.push(ms), retry: { ...FAST, backpressureThreshold: 20, backpressureDelayMs: 500 } });
    await cdp.upsert("profiles", { email: "a@example.com" });
    expect(waits).toEqual([]);
    await cdp.upsert("profiles", { email: "b@example.com" });
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(0);
    expect(waits[0]).toBeLessThanOrEqual(500);
  });

  it("runs a batch to completion, then pages through every invalid row", async () => {
    const cdp = client();
    const records = [
      { email: "ok1@example.com" },
      { email: "bad1" },
      { email: "ok2@example.com" },
      { email: "bad2" },
      { email: "bad3" },
    ];
    const accepted = await cdp.upsertBatch("profiles", records, { matchKey: "email" });
    expect(accepted.status).toBe(202);
    expect(accepted.data).toMatchObject({ operation: "upsert-batch", state: "queued", acceptedRecords: 5, matchKey: "email" });
    const job = await cdp.waitForJob("profiles", accepted.data.jobId, { initialDelayMs: 10, timeoutMs: 10_000 });
    expect(job.state).toBe("completed");
    expect(job.metrics).toMatchObject({ totalRows: 5, insertedRows: 2, invalidRows: 3 });
    const errors = [];
    for await (const row of cdp.jobErrors("profiles", job.jobId, { pageSize: 2 })) errors.push(row);
    expect(errors.map((row) => row.index)).toEqual([1, 3, 4]);
    expect(errors[0]).toMatchObject({ code: "CDP_ETL.VALIDATION.REQUEST_INVALID", path: "records[1].email", value: "bad1" });
  });

  it("appends a batch", async () => {
    const cdp = client();
    const accepted = await cdp.appendBatch("events", [
      { event: "page_view", occurred_at: "2026-04-21T15:00:00Z" },
      { event: "cta_click", occurred_at: "2026-04-21T15:01:12Z" },
    ]);
    const job = await cdp.waitForJob("events", accepted!.data.jobId, { initialDelayMs: 10 });
    expect(job.metrics).toMatchObject({ insertedRows: 2, invalidRows: 0 });
  });

  it("gives up waiting for a job after timeoutMs with CLIENT.JOB_WAIT_TIMEOUT", async () => {
    await control.jobs.hold();
    const cdp = client();
    const accepted = await cdp.upsertBatch("profiles", [{ email: "a@example.com" }]);
    const error = await cdp.waitForJob("profiles", accepted.data.jobId, { initialDelayMs: 20, timeoutMs: 150 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "CLIENT.JOB_WAIT_TIMEOUT", status: 0 });
    expect((error as CdpApiError).details).toMatchObject({ state: "queued" });
  });

  it("polls with the guide's backoff: 2 s, × 1.5, at most 15 s", async () => {
    await control.jobs.hold();
    const waits: number[] = [];
    const cdp = client({ sleep: async (ms) => void waits.push(ms) });
    const accepted = await cdp.upsertBatch("profiles", [{ email: "a@example.com" }]);
    const pending = cdp.waitForJob("profiles", accepted.data.jobId, { timeoutMs: 60_000 });
    await expect.poll(() => waits.length).toBeGreaterThanOrEqual(8);
    await control.jobs.release();
    await pending;
    expect(waits.slice(0, 8)).toEqual([2000, 3000, 4500, 6750, 10125, 15000, 15000, 15000]);
  });

  it("reads object metadata", async () => {
    const cdp = client();
    const profiles = await cdp.getObject("profiles");
    expect(profiles).toMatchObject({ objectName: "profiles", primaryKey: "email" });
    expect(profiles.identityKeys).toContain("phone");
    const all = await cdp.listObjects();
    expect(all.map((object) => object.objectName).sort()).toEqual(["events", "orders", "profiles"]);
  });

  it("does not retry a 404 for an unknown object", async () => {
    const error = await client().getObject("unicorns").catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 404, code: "CDP_ETL.NOT_FOUND", attempts: 1 });
  });

  it("throws a body JSON cannot carry at once, without sending or retrying it", async () => {
    let sent = 0;
    const counting: typeof fetch = async (input, init) => {
      sent += 1;
      return fetch(input, init);
    };
    await expect(client({ fetch: counting }).upsert("profiles", { email: "a@example.com", n: 10n })).rejects.toThrow(TypeError);
    expect(sent).toBe(0);
  });

  it("sends the bearer token and JSON the API expects", async () => {
    const seen: { headers: Headers; body: string | undefined }[] = [];
    const spy: typeof fetch = async (input, init) => {
      seen.push({ headers: new Headers(init?.headers), body: typeof init?.body === "string" ? init.body : undefined });
      return fetch(input, init);
    };
    await client({ fetch: spy }).upsert("profiles", { email: "a@example.com" }, { matchKey: "email", idempotencyKey: "k" });
    expect(seen[0]!.headers.get("authorization")).toBe(AUTH.Authorization);
    expect(seen[0]!.headers.get("content-type")).toBe("application/json");
    expect(seen[0]!.headers.get("idempotency-key")).toBe("k");
    expect(JSON.parse(seen[0]!.body!)).toEqual({ record: { email: "a@example.com" }, matchKey: "email" });
  });
});
