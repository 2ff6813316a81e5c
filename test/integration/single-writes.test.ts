import { beforeEach, describe, expect, it } from "vitest";
import { EmulatorClock } from "../../src/server.js";
import { AUTH, call, perSuite } from "../helpers/emulator.js";
import { GUIDE_ORDER } from "../helpers/records.js";

/** The examples of real-time-record-writes.txt, sent as written (base URL and token swapped). */
describe("single writes as the real-time writes guide shows them", () => {
  const clock = new EmulatorClock();
  const api = () => `${env.url}/public/v1`;

  const env = perSuite({ clock });
  beforeEach(async () => {
    await env.control.reset();
    clock.freeze(Date.parse("2026-04-21T15:30:00.000Z"));
  });

  const documented = [
    {
      name: "appends an order and answers with the vendor's body, field for field",
      path: "/records/orders/append",
      body: { record: GUIDE_ORDER },
      data: { operation: "append", objectName: "orders", accepted: true, acceptedAt: "2026-04-21T15:30:00.000Z", acceptedRecords: 1 },
      upsertResult: null,
    },
    {
      name: "upserts a profile by email and answers with the guide's response, matchKey included",
      path: "/records/profiles/upsert",
      body: { record: { email: "jane@example.com", first_name: "Jane", tier: "gold", last_seen_at: "2026-04-21T15:30:00Z" }, matchKey: "email" },
      data: { operation: "upsert", objectName: "profiles", accepted: true, acceptedAt: "2026-04-21T15:30:00.000Z", acceptedRecords: 1, matchKey: "email" },
      upsertResult: "inserted",
    },
  ];
  // A loop rather than it.each, so each test keeps its whole sentence as its name.
  for (const { name, path, body, data, upsertResult } of documented) {
    it(name, async () => {
      const response = await call(`${api()}${path}`, { headers: { ...AUTH, "Idempotency-Key": crypto.randomUUID() }, body });
      expect(response.status).toBe(200);
      expect(response.body).toStrictEqual({ success: true, data });
      expect(response.headers.get("x-emulator-record-id")).toMatch(/^rec_[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(response.headers.get("x-emulator-upsert-result")).toBe(upsertResult);
    });
  }

  it("appends a new row every time, even for identical records", async () => {
    const body = { record: { order_id: "ord_1", total: 5, currency: "EUR", placed_at: "2026-04-21T15:30:00Z" } };
    const first = await call(`${api()}/records/orders/append`, { headers: AUTH, body });
    const second = await call(`${api()}/records/orders/append`, { headers: AUTH, body });
    expect(first.headers.get("x-emulator-record-id")).not.toBe(second.headers.get("x-emulator-record-id"));
    const rows = await call<{ data: { records: unknown[] } }>(`${env.url}/_emulator/records/orders?order_id=ord_1`);
    expect(rows.body.data.records).toHaveLength(2);
  });

  it("merges a second upsert into the same row and says so in X-Emulator-Upsert-Result", async () => {
    const first = await call(`${api()}/records/profiles/upsert`, {
      headers: AUTH,
      body: { record: { email: "jane@example.com", first_name: "Jane", tier: "silver" }, matchKey: "email" },
    });
    clock.advance(60_000);
    const second = await call(`${api()}/records/profiles/upsert`, {
      headers: AUTH,
      body: { record: { email: "jane@example.com", tier: "gold" }, matchKey: "email" },
    });
    expect(second.headers.get("x-emulator-upsert-result")).toBe("merged");
    expect(second.headers.get("x-emulator-record-id")).toBe(first.headers.get("x-emulator-record-id"));
    const row = await call<{ data: { fields: unknown; createdAt: string; updatedAt: string } }>(
      `${env.url}/_emulator/records/profiles/${first.headers.get("x-emulator-record-id")}`,
    );
    expect(row.body.data).toMatchObject({
      fields: { email: "jane@example.com", first_name: "Jane", tier: "gold" },
      createdAt: "2026-04-21T15:30:00.000Z",
      updatedAt: "2026-04-21T15:31:00.000Z",
    });
  });

  it("defaults matchKey to the object's primary key and reports it", async () => {
    const response = await call<{ data: { matchKey: string } }>(`${api()}/records/profiles/upsert`, {
      headers: AUTH,
      body: { record: { email: "nokey@example.com", tier: "gold" } },
    });
    expect(response.status).toBe(200);
    expect(response.body.data.matchKey).toBe("email");
  });

  it("clears a field sent as null and keeps omitted ones, as the guide's WRONG/RIGHT example shows", async () => {
    const url = `${api()}/records/profiles/upsert`;
    await call(url, { headers: AUTH, body: { record: { email: "jane@example.com", first_name: "Jane", tier: "silver" }, matchKey: "email" } });
    // RIGHT: only the fields you have
    await call(url, { headers: AUTH, body: { record: { email: "jane@example.com", tier: "gold" }, matchKey: "email" } });
    let rows = await call<{ data: { records: { fields: unknown }[] } }>(`${env.url}/_emulator/records/profiles`);
    expect(rows.body.data.records[0]?.fields).toEqual({ email: "jane@example.com", first_name: "Jane", tier: "gold" });
    // WRONG: clears first_name
    await call(url, { headers: AUTH, body: { record: { email: "jane@example.com", first_name: null, tier: "gold" }, matchKey: "email" } });
    rows = await call(`${env.url}/_emulator/records/profiles`);
    expect(rows.body.data.records[0]?.fields).toEqual({ email: "jane@example.com", tier: "gold" });
  });

  it("accepts the signup webhook example keyed by the upstream event id", async () => {
    const event = { event_id: "evt_signup_1", email: "sam@example.com", source: "landing-page", timestamp: "2026-04-21T11:30:00-04:00" };
    const response = await call(`${api()}/records/profiles/upsert`, {
      headers: { ...AUTH, "Idempotency-Key": event.event_id },
      body: { record: { email: event.email, signup_source: event.source, signed_up_at: event.timestamp }, matchKey: "email" },
    });
    expect(response.status).toBe(200);
  });

  it("accepts the Stripe subscription webhook example with an ISO 8601 period start", async () => {
    const response = await call(`${api()}/records/profiles/upsert`, {
      headers: { ...AUTH, "Idempotency-Key": "evt_1NqZ3k" },
      body: {
        record: {
          email: "pat@example.com",
          subscription_status: "active",
          subscription_plan: "Pro Monthly",
          subscription_updated_at: "2026-04-01T00:00:00Z",
        },
        matchKey: "email",
      },
    });
    expect(response.status).toBe(200);
  });

  it("answers the metadata call the guide pipes into jq '.data.identityKeys'", async () => {
    const response = await call<{ data: { identityKeys: string[] } }>(`${api()}/metadata/objects/profiles`, { headers: AUTH });
    expect(response.status).toBe(200);
    expect(response.body.data.identityKeys).toEqual(["email", "customer_id", "phone", "external_id", "anonymous_id"]);
  });

  it("describes every object with its fields, formats, required and identity flags", async () => {
    const response = await call<{ data: { objects: { objectName: string; requiredFields: string[]; fields: unknown[] }[] } }>(
      `${api()}/metadata/objects`,
      { headers: AUTH },
    );
    expect(response.status).toBe(200);
    const orders = response.body.data.objects.find((object) => object.objectName === "orders");
    expect(orders?.requiredFields).toEqual(["order_id", "total", "currency", "placed_at"]);
    expect(orders?.fields).toContainEqual({ name: "placed_at", type: "string", format: "date-time", required: true, identity: false });
    expect(orders?.fields).toContainEqual({ name: "order_id", type: "string", format: null, required: true, identity: true });
  });

  it("echoes X-Correlation-Id, or mints one, on every response", async () => {
    const echoed = await call(`${api()}/metadata/objects`, { headers: { ...AUTH, "X-Correlation-Id": "trace-123" } });
    expect(echoed.headers.get("x-correlation-id")).toBe("trace-123");
    const minted = await call(`${api()}/metadata/objects`, { headers: AUTH });
    expect(minted.headers.get("x-correlation-id")).toMatch(/^[0-9a-f-]{36}$/);
    const failed = await call(`${api()}/metadata/objects`);
    expect(failed.headers.get("x-correlation-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("reports the token's quota in X-RateLimit headers: a write spends one, a read spends none", async () => {
    await env.control.reset();
    const read = await call(`${api()}/metadata/objects`, { headers: AUTH });
    expect(read.headers.get("x-ratelimit-limit")).toBe("1000");
    expect(read.headers.get("x-ratelimit-remaining")).toBe("1000");
    const write = await call(`${api()}/records/profiles/upsert`, { headers: AUTH, body: { record: { email: "quota@example.com" } } });
    expect(write.headers.get("x-ratelimit-remaining")).toBe("999");
    // 1,000 per second refill one token a millisecond: full again by the next whole second.
    expect(Number(write.headers.get("x-ratelimit-reset"))).toBe(Date.parse("2026-04-21T15:30:01Z") / 1000);
  });

  it("stamps acceptedAt from the emulator clock, not the wall clock", async () => {
    clock.freeze(Date.parse("2030-01-02T03:04:05.678Z"));
    const response = await call<{ data: { acceptedAt: string } }>(`${api()}/records/profiles/upsert`, {
      headers: AUTH,
      body: { record: { email: "future@example.com" } },
    });
    expect(response.body.data.acceptedAt).toBe("2030-01-02T03:04:05.678Z");
  });
});
