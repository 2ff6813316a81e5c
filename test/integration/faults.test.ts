import { request as httpRequest } from "node:http";
import { beforeEach, describe, expect, it } from "vitest";
import { AUTH, call, perSuite } from "../helpers/emulator.js";
import { writeWithRetry } from "../helpers/retry-client.js";
import type { ErrorEnvelope } from "../../src/domain/errors.js";

interface Rule {
  id: string;
  matched: number;
  hits: number;
}

const order = (id: string) => ({ order_id: id, total: 10, currency: "USD", placed_at: "2026-04-21T15:30:00Z" });

/** Faults on demand (issue 4): every action, the schedules, the header form, and what a client then sees. */
describe("injected faults", () => {
  const env = perSuite();
  beforeEach(async () => {
    await env.control.reset();
  });

  const addFault = async (rule: unknown): Promise<Rule> => {
    const response = await call<{ data: Rule }>(`${env.url}/_emulator/faults`, { body: rule });
    expect(response.status, response.text).toBe(201);
    return response.body.data;
  };
  const append = (id: string, headers: Record<string, string> = {}) =>
    call<ErrorEnvelope>(`${env.url}/public/v1/records/orders/append`, { headers: { ...AUTH, ...headers }, body: { record: order(id) } });
  const countOrders = async () => (await call<{ data: { records: unknown[] } }>(`${env.url}/_emulator/records/orders?limit=1000`)).body.data.records.length;
  /** Resolves with the outcome of a request whose connection may be cut: a status, or "no response". */
  const rawAppend = (id: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number | null; body: string }>((resolve) => {
      const target = new URL(`${env.url}/public/v1/records/orders/append`);
      const payload = JSON.stringify({ record: order(id) });
      const req = httpRequest(
        { hostname: target.hostname, port: target.port, path: target.pathname, method: "POST", agent: false, headers: { ...AUTH, ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) } },
        (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => (body += chunk.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? null, body }));
          res.on("error", () => resolve({ status: null, body }));
        },
      );
      req.on("error", () => resolve({ status: null, body: "" }));
      req.end(payload);
    });

  it.each([
    { status: 409, code: "CDP_ETL.CONFLICT.WRITE_RACE" },
    { status: 429, code: "CDP_ETL.RATE_LIMIT.EXCEEDED" },
    { status: 500, code: "CDP_ETL.INTERNAL.UNHANDLED_EXCEPTION" },
    { status: 502, code: "CDP_ETL.UPSTREAM.UNAVAILABLE" },
    { status: 503, code: "CDP_ETL.SERVICE.UNAVAILABLE" },
    { status: 504, code: "CDP_ETL.UPSTREAM.TIMEOUT" },
  ])("answers an injected $status with the vendor's envelope and code $code, writing nothing", async ({ status, code }) => {
    const rule = await addFault({ match: { operation: "append" }, action: { status } });
    const response = await append("o1");
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ success: false, error: { code, message: expect.stringContaining("Injected fault"), details: {} } });
    expect(response.headers.get("x-emulator-fault")).toContain(String(status));
    expect(response.headers.get("x-emulator-fault")).toContain(rule.id);
    expect(response.headers.get("x-correlation-id")).toBeTruthy();
    if (status === 429) {
      expect(response.headers.get("retry-after")).toBe("1");
      expect(response.headers.get("x-ratelimit-remaining")).toBe("0");
    }
    expect(await countOrders()).toBe(0);
  });

  it("sends Retry-After with fractions on 429 and on 503 when the rule says so", async () => {
    await addFault({ match: { operation: "append" }, action: { status: 503, retryAfter: 2.5 }, schedule: { times: 1 } });
    await addFault({ match: { operation: "upsert" }, action: { status: 429, retryAfter: 0.5 } });
    expect((await append("o1")).headers.get("retry-after")).toBe("2.5");
    const limited = await call(`${env.url}/public/v1/records/profiles/upsert`, { headers: AUTH, body: { record: { email: "a@b.io" } } });
    expect(limited.headers.get("retry-after")).toBe("0.5");
  });

  it("delays a request by delayMs (plus jitter) and then lets it through", async () => {
    await addFault({ match: { operation: "append" }, action: { delayMs: 200, jitterMs: 50 } });
    const started = performance.now();
    const response = await append("o1");
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    expect(response.headers.get("x-emulator-fault")).toMatch(/^delay=200;jitter=50/);
  });

  it("resets the connection without a response, writing nothing", async () => {
    await addFault({ match: { operation: "append" }, action: { reset: true }, schedule: { times: 1 } });
    expect(await rawAppend("o1")).toEqual({ status: null, body: "" });
    expect(await countOrders()).toBe(0);
  });

  it("holds a request and then answers 504, or drops it, for a timeout", async () => {
    await addFault({ match: { operation: "append" }, action: { timeout: { holdMs: 150, then: 504 } }, schedule: { times: 1 } });
    await addFault({ match: { operation: "append" }, action: { timeout: { holdMs: 150, then: "drop" } }, schedule: { times: 1 } });
    const started = performance.now();
    const timedOut = await append("o1");
    expect(timedOut.status).toBe(504);
    expect(timedOut.body.error.code).toBe("CDP_ETL.UPSTREAM.TIMEOUT");
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect((await rawAppend("o2")).status).toBeNull();
    expect(await countOrders()).toBe(0);
  });

  it("answers 200 with a truncated body for malformed, writing nothing", async () => {
    await addFault({ match: { operation: "append" }, action: { malformed: true }, schedule: { times: 1 } });
    const response = await append("o1");
    expect(response.status).toBe(200);
    expect(() => JSON.parse(response.text) as unknown).toThrow();
    expect(response.text.startsWith('{"success":true')).toBe(true);
    expect(await countOrders()).toBe(0);
  });

  it.each([
    { name: "500", action: { status: 500, afterCommit: true }, expect: (r: { status: number | null }) => expect(r.status).toBe(500) },
    { name: "reset", action: { reset: true, afterCommit: true }, expect: (r: { status: number | null }) => expect(r.status).toBeNull() },
    {
      name: "malformed",
      action: { malformed: true, afterCommit: true },
      expect: (r: { status: number | null; body: string }) => {
        expect(r.status).toBe(200);
        expect(() => JSON.parse(r.body) as unknown).toThrow();
      },
    },
  ])("after commit ($name): the write is kept, and a retry with the same key replays the success", async (testCase) => {
    await addFault({ match: { operation: "append" }, action: testCase.action, schedule: { times: 1 } });
    const first = await rawAppend("o1", { "Idempotency-Key": "lost-ack" });
    testCase.expect(first);
    expect(await countOrders()).toBe(1);
    const retry = await append("o1", { "Idempotency-Key": "lost-ack" });
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await countOrders()).toBe(1);
  });

  it("stores no idempotent response for a fault before execution, so the retry runs for real", async () => {
    await addFault({ match: { operation: "append" }, action: { status: 503 }, schedule: { times: 1 } });
    expect((await append("o1", { "Idempotency-Key": "k" })).status).toBe(503);
    const retry = await append("o1", { "Idempotency-Key": "k" });
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    expect(await countOrders()).toBe(1);
  });

  describe("matching and schedules over HTTP", () => {
    it("applies only to requests that match: operation, object, header, idempotency key and workspace", async () => {
      await addFault({ match: { operation: "upsert", object: "profiles", header: { "X-Test-Case": "boom" } }, action: { status: 502 } });
      await addFault({ match: { idempotencyKey: "cursed" }, action: { status: 409 } });
      await addFault({ match: { workspace: "elsewhere" }, action: { status: 500 } });
      const upsert = (headers: Record<string, string>) =>
        call(`${env.url}/public/v1/records/profiles/upsert`, { headers: { ...AUTH, ...headers }, body: { record: { email: "m@example.com" } } });
      expect((await upsert({ "x-test-case": "boom" })).status).toBe(502);
      expect((await upsert({ "X-Test-Case": "fine" })).status).toBe(200);
      expect((await append("o1", { "X-Test-Case": "boom" })).status).toBe(200);
      expect((await append("o2", { "Idempotency-Key": "cursed" })).status).toBe(409);
    });

    it("matches a path glob and a method", async () => {
      await addFault({ match: { method: "GET", path: "/public/v1/metadata/**" }, action: { status: 503 } });
      expect((await call(`${env.url}/public/v1/metadata/objects/profiles`, { headers: AUTH })).status).toBe(503);
      expect((await append("o1")).status).toBe(200);
    });

    it("fires on the first N matches with times, and counts matches and hits", async () => {
      const rule = await addFault({ match: { operation: "append" }, action: { status: 503 }, schedule: { times: 2 } });
      const statuses = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await append(`o${i}`)).status);
      expect(statuses).toEqual([503, 503, 200, 200]);
      const listed = await call<{ data: { faults: Rule[] } }>(`${env.url}/_emulator/faults`);
      expect(listed.body.data.faults.find((fault) => fault.id === rule.id)).toMatchObject({ matched: 4, hits: 2 });
    });

    it("fires on every Nth match after skipping the first ones", async () => {
      await addFault({ match: { operation: "append" }, action: { status: 500 }, schedule: { after: 1, every: 2 } });
      const statuses = [];
      for (let i = 0; i < 6; i += 1) statuses.push((await append(`o${i}`)).status);
      expect(statuses).toEqual([200, 200, 500, 200, 500, 200]);
    });

    it("fires with a seeded probability: the same seed gives the same sequence", async () => {
      const run = async () => {
        await call(`${env.url}/_emulator/faults`, { method: "DELETE" });
        await addFault({ match: { operation: "append" }, action: { status: 502 }, schedule: { probability: 0.3, seed: 7 } });
        const statuses = [];
        for (let i = 0; i < 30; i += 1) statuses.push((await append(`p${i}`)).status);
        return statuses;
      };
      const first = await run();
      const second = await run();
      expect(second).toEqual(first);
      expect(first.filter((status) => status === 502).length).toBeGreaterThan(2);
      expect(first.filter((status) => status === 200).length).toBeGreaterThan(10);
    });

    it("uses the first matching rule that fires", async () => {
      await addFault({ match: { operation: "append" }, action: { status: 502 }, schedule: { times: 1 } });
      await addFault({ match: { operation: "append" }, action: { status: 504 }, schedule: { times: 1 } });
      expect([(await append("a")).status, (await append("b")).status, (await append("c")).status]).toEqual([502, 504, 200]);
    });
  });

  describe("the X-Emulator-Fault request header", () => {
    it.each([
      { header: "503", status: 503 },
      { header: "429;retry-after=2.5", status: 429, retryAfter: "2.5" },
      { header: "502", status: 502 },
    ])("injects $header for this one request", async ({ header, status, retryAfter }) => {
      const response = await append("o1", { "X-Emulator-Fault": header });
      expect(response.status).toBe(status);
      expect(response.headers.get("x-emulator-fault")).toBe(header);
      if (retryAfter) expect(response.headers.get("retry-after")).toBe(retryAfter);
      expect((await append("o2")).status).toBe(200);
    });

    it("resets the connection for reset", async () => {
      expect((await rawAppend("o1", { "X-Emulator-Fault": "reset" })).status).toBeNull();
    });

    it("writes and then answers 500 for 500;after-commit", async () => {
      const response = await append("o1", { "X-Emulator-Fault": "500;after-commit", "Idempotency-Key": "hdr" });
      expect(response.status).toBe(500);
      expect(await countOrders()).toBe(1);
      expect((await append("o1", { "Idempotency-Key": "hdr" })).headers.get("idempotent-replayed")).toBe("true");
    });

    it.each(["banana", "200", "503;retry-after=soon", "reset;after-commit;500"])("refuses a malformed value %s with 400 naming the header", async (header) => {
      const response = await append("o1", { "X-Emulator-Fault": header });
      expect(response.status).toBe(400);
      expect(response.body.error.message).toMatch(/^X-Emulator-Fault/);
      expect(await countOrders()).toBe(0);
    });
  });

  describe("managing rules", () => {
    it("lists, deletes one, and deletes all", async () => {
      const a = await addFault({ action: { status: 503 } });
      const b = await addFault({ match: { object: "orders" }, action: { delayMs: 1 } });
      expect((await call<{ data: { faults: Rule[] } }>(`${env.url}/_emulator/faults`)).body.data.faults.map((rule) => rule.id)).toEqual([a.id, b.id]);
      expect((await call(`${env.url}/_emulator/faults/${a.id}`, { method: "DELETE" })).status).toBe(200);
      expect((await call(`${env.url}/_emulator/faults/${a.id}`, { method: "DELETE" })).status).toBe(404);
      expect((await call<{ data: { deleted: number } }>(`${env.url}/_emulator/faults`, { method: "DELETE" })).body.data.deleted).toBe(1);
      expect((await append("o1")).status).toBe(200);
    });

    it("applies an empty match to every public request, reads included", async () => {
      await addFault({ action: { status: 503 } });
      expect((await append("o1")).status).toBe(503);
      expect((await call(`${env.url}/public/v1/metadata/objects`, { headers: AUTH })).status).toBe(503);
      expect((await call(`${env.url}/_emulator/health`)).status).toBe(200);
    });

    it.each([
      { rule: { action: {} }, message: /action/ },
      { rule: { action: { status: 418 } }, message: /status/ },
      { rule: { action: { status: 503, reset: true } }, message: /action/ },
      { rule: { action: { afterCommit: true, delayMs: 10 } }, message: /afterCommit/ },
      { rule: { match: { operation: "delete" }, action: { status: 503 } }, message: /operation/ },
      { rule: { action: { status: 503 }, schedule: { probability: 2 } }, message: /probability/ },
      { rule: { action: { status: 503 }, shedule: {} }, message: /shedule/ },
    ])("refuses a bad rule with 400 saying what is wrong: $rule", async ({ rule, message }) => {
      const response = await call<ErrorEnvelope>(`${env.url}/_emulator/faults`, { body: rule });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
      expect(response.body.error.message).toMatch(message);
    });
  });

  describe("what a client with correct retries sees, against one that mints a key per attempt", () => {
    const url = () => `${env.url}/public/v1/records/orders/append`;

    it("after a 503 with Retry-After that lost the acknowledgement: one row with a stable key, two with a key per attempt", async () => {
      await addFault({ match: { operation: "append" }, action: { status: 503, retryAfter: 0.3, afterCommit: true }, schedule: { times: 1 } });
      const correct = await writeWithRetry({ url: url(), token: "dev-token", body: { record: order("stable") }, keys: "stable" });
      expect(correct).toMatchObject({ status: 200, attempts: 2 });
      expect(correct.waitedMs[0]).toBeGreaterThanOrEqual(300); // Retry-After honoured over the shorter backoff
      const stableRows = await call<{ data: { records: unknown[] } }>(`${env.url}/_emulator/records/orders?order_id=stable`);
      expect(stableRows.body.data.records).toHaveLength(1);
      const attempts = await call<{ data: { count: number } }>(`${env.url}/_emulator/journal/count?idempotencyKey=${correct.keys[0]}`);
      expect(attempts.body.data.count).toBe(2);

      await addFault({ match: { operation: "append" }, action: { status: 503, retryAfter: 0.3, afterCommit: true }, schedule: { times: 1 } });
      const naive = await writeWithRetry({ url: url(), token: "dev-token", body: { record: order("naive") }, keys: "per-attempt" });
      expect(naive).toMatchObject({ status: 200, attempts: 2 });
      const naiveRows = await call<{ data: { records: unknown[] } }>(`${env.url}/_emulator/records/orders?order_id=naive`);
      expect(naiveRows.body.data.records).toHaveLength(2);
    });

    it("after a lost acknowledgement (commit, then reset): one row with a stable key, two with a key per attempt", async () => {
      await addFault({ match: { operation: "append" }, action: { reset: true, afterCommit: true }, schedule: { times: 1 } });
      const correct = await writeWithRetry({ url: url(), token: "dev-token", body: { record: order("stable") }, keys: "stable" });
      expect(correct).toMatchObject({ status: 200, attempts: 2 });
      expect((await call<{ data: { records: unknown[] } }>(`${env.url}/_emulator/records/orders?order_id=stable`)).body.data.records).toHaveLength(1);

      await addFault({ match: { operation: "append" }, action: { reset: true, afterCommit: true }, schedule: { times: 1 } });
      const naive = await writeWithRetry({ url: url(), token: "dev-token", body: { record: order("naive") }, keys: "per-attempt" });
      expect(naive).toMatchObject({ status: 200, attempts: 2 });
      expect((await call<{ data: { records: unknown[] } }>(`${env.url}/_emulator/records/orders?order_id=naive`)).body.data.records).toHaveLength(2);
    });
  });
});
