import { request as httpRequest } from "node:http";
import { describe, expect, it } from "vitest";
import { EmulatorClock } from "../../src/server.js";
import { AUTH, call, perSuite } from "../helpers/emulator.js";
import type { ErrorEnvelope } from "../../src/domain/errors.js";

const profileUpsert = "/records/profiles/upsert";

/** Every row of DESIGN.md's error table that single writes, metadata and auth can produce. */
describe("errors come back in the vendor's envelope with the right status and code", () => {
  const clock = new EmulatorClock();
  clock.freeze(Date.parse("2026-04-21T15:30:00Z"));
  const env = perSuite({
    clock,
    tokens: [
      { token: "dev-token", workspace: "default", scopes: ["records:write", "records:read", "metadata:read"], expiresAt: null },
      { token: "reader", workspace: "default", scopes: ["metadata:read"], expiresAt: null },
      { token: "writer", workspace: "default", scopes: ["records:write"], expiresAt: null },
      { token: "old-token", workspace: "default", scopes: ["records:write"], expiresAt: "2026-04-21T00:00:00Z" },
    ],
  });

  const cases: {
    name: string;
    path: string;
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
    rawBody?: string;
    status: number;
    code: string;
    message?: RegExp;
    details?: Record<string, unknown>;
  }[] = [
    { name: "malformed JSON", path: profileUpsert, headers: { ...AUTH, "Content-Type": "application/json" }, rawBody: '{"record": {', status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: /not valid JSON/ },
    { name: "a form-encoded body", path: profileUpsert, headers: { ...AUTH, "Content-Type": "application/x-www-form-urlencoded" }, rawBody: "record=1", status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: /Content-Type must be application\/json/ },
    { name: "no body at all", path: profileUpsert, headers: AUTH, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: /body is empty/ },
    { name: "a JSON array body", path: profileUpsert, headers: AUTH, body: [{ email: "a@b.io" }], status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: /must be a JSON object/ },
    { name: "a JSON string body", path: profileUpsert, headers: { ...AUTH, "Content-Type": "application/json" }, rawBody: '"hello"', status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID" },
    { name: "a body without record", path: profileUpsert, headers: AUTH, body: { matchKey: "email" }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "record" } },
    { name: "record that is not an object", path: profileUpsert, headers: AUTH, body: { record: "jane" }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "record", value: "jane" } },
    { name: "an unexpected top-level field", path: profileUpsert, headers: AUTH, body: { record: { email: "a@b.io" }, records: [] }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "records" } },
    { name: "matchKey on an append", path: "/records/profiles/append", headers: AUTH, body: { record: { email: "a@b.io" }, matchKey: "email" }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "matchKey" } },
    { name: "a missing required field on insert", path: "/records/orders/append", headers: AUTH, body: { record: { order_id: "o1", total: 1, currency: "USD" } }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "record.placed_at", value: null } },
    { name: "a bad email", path: profileUpsert, headers: AUTH, body: { record: { email: "not-an-email" }, matchKey: "email" }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: /^record\.email: invalid email format$/, details: { path: "record.email", value: "not-an-email" } },
    { name: "a naive datetime", path: profileUpsert, headers: AUTH, body: { record: { email: "a@b.io", last_seen_at: "2026-04-21 15:30:00" } }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "record.last_seen_at", value: "2026-04-21 15:30:00" } },
    { name: "a date-only timestamp", path: profileUpsert, headers: AUTH, body: { record: { email: "a@b.io", last_seen_at: "2026-04-21" } }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "record.last_seen_at", value: "2026-04-21" } },
    { name: "a wrong type", path: "/records/orders/append", headers: AUTH, body: { record: { order_id: "o1", total: "12", currency: "USD", placed_at: "2026-04-21T15:30:00Z" } }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "record.total", value: "12" } },
    { name: "a matchKey that is not an identity key", path: profileUpsert, headers: AUTH, body: { record: { email: "a@b.io", tier: "gold" }, matchKey: "tier" }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "matchKey", value: "tier" } },
    { name: "a matchKey absent from the record", path: profileUpsert, headers: AUTH, body: { record: { email: "a@b.io" }, matchKey: "customer_id" }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "record.customer_id", value: null } },
    { name: "a defaulted matchKey absent from the record", path: profileUpsert, headers: AUTH, body: { record: { tier: "gold" } }, status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "record.email" } },
    { name: "a missing Authorization header", path: profileUpsert, body: { record: { email: "a@b.io" } }, status: 401, code: "CDP_ETL.AUTH.UNAUTHORIZED" },
    { name: "an unknown token", path: profileUpsert, headers: { Authorization: "Bearer nope" }, body: { record: { email: "a@b.io" } }, status: 401, code: "CDP_ETL.AUTH.TOKEN_INVALID" },
    { name: "a malformed Authorization header", path: profileUpsert, headers: { Authorization: "Basic ZGV2OnRva2Vu" }, body: { record: { email: "a@b.io" } }, status: 401, code: "CDP_ETL.AUTH.TOKEN_INVALID" },
    { name: "an expired token", path: profileUpsert, headers: { Authorization: "Bearer old-token" }, body: { record: { email: "a@b.io" } }, status: 401, code: "CDP_ETL.AUTH.TOKEN_EXPIRED", message: /expired at 2026-04-21T00:00:00.000Z/ },
    { name: "a token without records:write", path: profileUpsert, headers: { Authorization: "Bearer reader" }, body: { record: { email: "a@b.io" } }, status: 403, code: "CDP_ETL.AUTH.FORBIDDEN", message: /records:write/ },
    { name: "a token without metadata:read", path: "/metadata/objects", headers: { Authorization: "Bearer writer" }, status: 403, code: "CDP_ETL.AUTH.FORBIDDEN", message: /metadata:read/ },
    { name: "an unknown object", path: "/records/widgets/upsert", headers: AUTH, body: { record: { id: "1" } }, status: 404, code: "CDP_ETL.NOT_FOUND", message: /widgets/ },
    { name: "an unknown object's metadata", path: "/metadata/objects/widgets", headers: AUTH, status: 404, code: "CDP_ETL.NOT_FOUND" },
    { name: "an unknown route", path: "/records/profiles/delete", headers: AUTH, body: {}, status: 404, code: "CDP_ETL.NOT_FOUND" },
    { name: "a GET on a write route", path: profileUpsert, method: "GET", headers: AUTH, status: 404, code: "CDP_ETL.NOT_FOUND" },
    { name: "a field not in the schema", path: profileUpsert, headers: AUTH, body: { record: { email: "a@b.io", favourite_color: "blue" } }, status: 422, code: "CDP_ETL.VALIDATION.REQUEST_SCHEMA", message: /favourite_color/, details: { path: "record.favourite_color", value: "blue" } },
  ];

  it.each(cases)("$status $code for $name", async (testCase) => {
    const response = await call<ErrorEnvelope>(`${env.url}/public/v1${testCase.path}`, {
      method: testCase.method ?? (testCase.body !== undefined || testCase.rawBody !== undefined ? "POST" : testCase.path === profileUpsert ? "POST" : "GET"),
      headers: testCase.headers ?? {},
      body: testCase.body,
      rawBody: testCase.rawBody,
    });
    expect(response.status).toBe(testCase.status);
    expect(Object.keys(response.body)).toEqual(["success", "error"]);
    expect(response.body.success).toBe(false);
    expect(response.body.error.code).toBe(testCase.code);
    expect(Object.keys(response.body.error)).toEqual(["code", "message", "details"]);
    expect(response.body.error.message.length).toBeGreaterThan(10);
    if (testCase.message) expect(response.body.error.message).toMatch(testCase.message);
    if (testCase.details) expect(response.body.error.details).toMatchObject(testCase.details);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("x-correlation-id")).toBeTruthy();
    if (testCase.status === 401) expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(response.headers.get("x-ratelimit-limit")).toBe("1000");
    expect(response.headers.get("x-ratelimit-reset")).toMatch(/^\d+$/);
  });

  it("writes nothing for any refused request", async () => {
    const rows = await call<{ data: { records: unknown[] } }>(`${env.url}/_emulator/records/profiles`);
    expect(rows.body.data.records).toEqual([]);
  });

  it("refuses a body over 10 MB with 413 from its Content-Length, without reading it", async () => {
    const declared = 11 * 1024 * 1024;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const target = new URL(`${env.url}/public/v1/records/profiles/upsert`);
      const req = httpRequest(
        { hostname: target.hostname, port: target.port, path: target.pathname, method: "POST", headers: { ...AUTH, "Content-Type": "application/json", "Content-Length": declared } },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => {
            req.destroy(); // the rest of the declared 11 MB is never sent
            resolve({ status: res.statusCode ?? 0, body: text });
          });
        },
      );
      req.on("error", reject);
      // Send only the first 64 KB: the answer must not wait for the other 11 MB.
      req.write(Buffer.alloc(64 * 1024, 0x20));
      setTimeout(() => req.destroy(), 5_000).unref(); // a bound in wall time: an answer that never comes fails the test
    });
    expect(status).toBe(413);
    const envelope = JSON.parse(body) as ErrorEnvelope;
    expect(envelope.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
    expect(envelope.error.message).toMatch(/10 MB/);
  });

  it("refuses a chunked body once it passes 10 MB with 413", async () => {
    const record = { email: "big@example.com", first_name: "x".repeat(11 * 1024 * 1024) };
    const response = await call<ErrorEnvelope>(`${env.url}/public/v1/records/profiles/upsert`, { headers: AUTH, body: { record } });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
  });

  it("answers paths outside /public/v1 and /_emulator with the envelope too", async () => {
    const response = await call<ErrorEnvelope>(`${env.url}/v1/records/profiles/upsert`, { headers: AUTH, body: {} });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe("CDP_ETL.NOT_FOUND");
  });

  it("keeps serving after a flood of bad requests", async () => {
    const bad = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(`${env.url}/public/v1/records/profiles/upsert`, { headers: { ...AUTH, "Content-Type": "application/json" }, rawBody: `{"record": ${"[".repeat(i)}` }),
      ),
    );
    expect(bad.every((response) => response.status === 400)).toBe(true);
    const health = await call(`${env.url}/_emulator/health`);
    expect(health.status).toBe(200);
  });
});
