import { afterEach, describe, expect, it } from "vitest";
import { EmulatorClock, emulatorInternals } from "../../src/server.js";
import { AUTH, call, startEmulatorOnDisk, type EmulatorOnDisk } from "../helpers/emulator.js";
import type { ErrorEnvelope } from "../../src/domain/errors.js";

const HOUR = 60 * 60 * 1000;

describe("Idempotency-Key", () => {
  let env: EmulatorOnDisk | undefined;
  afterEach(async () => {
    await env?.dispose();
    env = undefined;
  });

  const upsert = (base: string, key: string | undefined, record: Record<string, unknown>, token = "dev-token") =>
    call(`${base}/public/v1/records/profiles/upsert`, {
      headers: { Authorization: `Bearer ${token}`, ...(key === undefined ? {} : { "Idempotency-Key": key }) },
      body: { record, matchKey: "email" },
    });
  const append = (base: string, key: string, record: Record<string, unknown>) =>
    call(`${base}/public/v1/records/orders/append`, { headers: { ...AUTH, "Idempotency-Key": key }, body: { record } });
  const order = { order_id: "ord_1", total: 10, currency: "USD", placed_at: "2026-04-21T15:30:00Z" };
  const countRows = async (base: string, object: string, query = "") =>
    (await call<{ data: { records: unknown[] } }>(`${base}/_emulator/records/${object}?limit=1000${query}`)).body.data.records.length;

  it("replays the stored response byte for byte with Idempotent-Replayed and writes nothing more", async () => {
    const clock = new EmulatorClock();
    env = await startEmulatorOnDisk({ clock });
    const first = await append(env.url, "evt-1", order);
    clock.advance(5 * 60_000);
    const second = await append(env.url, "evt-1", order);
    expect(second.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(second.headers.get("x-emulator-record-id")).toBe(first.headers.get("x-emulator-record-id"));
    expect(second.headers.get("x-correlation-id")).not.toBe(first.headers.get("x-correlation-id"));
    expect(await countRows(env.url, "orders")).toBe(1);
  });

  it("treats the same body with keys in another order as the same request", async () => {
    env = await startEmulatorOnDisk();
    await upsert(env.url, "k", { email: "a@example.com", tier: "gold" });
    const replay = await upsert(env.url, "k", { tier: "gold", email: "a@example.com" });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });

  it("refuses the same key with a different body with 422 KEY_REUSED", async () => {
    env = await startEmulatorOnDisk();
    await upsert(env.url, "k", { email: "a@example.com", tier: "gold" });
    const reused = await upsert(env.url, "k", { email: "a@example.com", tier: "silver" });
    expect(reused.status).toBe(422);
    expect((reused.body as unknown as ErrorEnvelope).error.code).toBe("CDP_ETL.IDEMPOTENCY.KEY_REUSED");
  });

  it("refuses the same key on another endpoint with 422 KEY_REUSED", async () => {
    env = await startEmulatorOnDisk();
    await upsert(env.url, "k", { email: "a@example.com" });
    const other = await call(`${env.url}/public/v1/records/profiles/append`, {
      headers: { ...AUTH, "Idempotency-Key": "k" },
      body: { record: { email: "a@example.com" } },
    });
    expect(other.status).toBe(422);
  });

  it("answers 409 IDEMPOTENCY_IN_PROGRESS while the first request with the key is still executing", async () => {
    env = await startEmulatorOnDisk({ latencyMs: 500 });
    // Whichever arrives first claims the key and spends 500 ms executing; the other finds it busy.
    const both = await Promise.all([
      upsert(env.url, "slow", { email: "slow@example.com" }),
      upsert(env.url, "slow", { email: "slow@example.com" }),
    ]);
    expect(both.map((response) => response.status).sort()).toEqual([200, 409]);
    const busy = both.find((response) => response.status === 409);
    expect((busy?.body as unknown as ErrorEnvelope).error.code).toBe("CDP_ETL.CONFLICT.IDEMPOTENCY_IN_PROGRESS");
    const third = await upsert(env.url, "slow", { email: "slow@example.com" });
    expect(third.headers.get("idempotent-replayed")).toBe("true");
  });

  it.each([{ latencyMs: 0 }, { latencyMs: 50 }])(
    "lets 50 concurrent requests with one key write exactly one row (latency $latencyMs ms)",
    async ({ latencyMs }) => {
      env = await startEmulatorOnDisk({ latencyMs });
      const base = env.url;
      const responses = await Promise.all(Array.from({ length: 50 }, () => append(base, "storm", order)));
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(1);
      expect(statuses.every((status) => status === 200 || status === 409)).toBe(true);
      const fresh = responses.filter((response) => response.status === 200 && !response.headers.get("idempotent-replayed"));
      expect(fresh).toHaveLength(1);
      const ids = new Set(responses.filter((r) => r.status === 200).map((r) => r.headers.get("x-emulator-record-id")));
      expect(ids.size).toBe(1);
      expect(await countRows(base, "orders")).toBe(1);
    },
  );

  it("stores nothing for a request refused by validation, so a corrected retry with the key runs", async () => {
    env = await startEmulatorOnDisk();
    const refused = await upsert(env.url, "fix-me", { email: "not-an-email" });
    expect(refused.status).toBe(400);
    const corrected = await upsert(env.url, "fix-me", { email: "fixed@example.com" });
    expect(corrected.status).toBe(200);
    expect(corrected.headers.get("idempotent-replayed")).toBeNull();
  });

  it("stores nothing for a request refused by auth or scope", async () => {
    env = await startEmulatorOnDisk({
      tokens: [
        { token: "dev-token", workspace: "default", scopes: ["records:write", "records:read", "metadata:read"], expiresAt: null },
        { token: "reader", workspace: "default", scopes: ["metadata:read"], expiresAt: null },
      ],
    });
    expect((await upsert(env.url, "auth-key", { email: "a@example.com" }, "reader")).status).toBe(403);
    expect((await upsert(env.url, "auth-key", { email: "a@example.com" }, "nope")).status).toBe(401);
    const real = await upsert(env.url, "auth-key", { email: "a@example.com" });
    expect(real.status).toBe(200);
    expect(real.headers.get("idempotent-replayed")).toBeNull();
  });

  it("forgets a key after 24 hours of emulator time", async () => {
    const clock = new EmulatorClock();
    clock.freeze(Date.parse("2026-04-21T15:30:00Z"));
    env = await startEmulatorOnDisk({ clock });
    await append(env.url, "day-key", order);
    clock.advance(24 * HOUR - 1);
    expect((await append(env.url, "day-key", order)).headers.get("idempotent-replayed")).toBe("true");
    clock.advance(1);
    const afterExpiry = await append(env.url, "day-key", order);
    expect(afterExpiry.status).toBe(200);
    expect(afterExpiry.headers.get("idempotent-replayed")).toBeNull();
    expect(await countRows(env.url, "orders")).toBe(2);
  });

  it("prunes expired keys from the database", async () => {
    const clock = new EmulatorClock();
    clock.freeze(Date.parse("2026-04-21T15:30:00Z"));
    env = await startEmulatorOnDisk({ clock });
    await upsert(env.url, "old", { email: "old@example.com" });
    clock.advance(12 * HOUR);
    await upsert(env.url, "new", { email: "new@example.com" });
    const store = emulatorInternals(env.emulator).store.idempotency;
    expect(store.count("default")).toBe(2);
    clock.advance(12 * HOUR);
    expect(store.prune(clock.now())).toBe(1);
    expect(store.count("default")).toBe(1);
  });

  it("scopes keys to the workspace: the same key in two workspaces writes in both", async () => {
    env = await startEmulatorOnDisk({
      tokens: [
        { token: "dev-token", workspace: "default", scopes: ["records:write", "records:read", "metadata:read"], expiresAt: null },
        { token: "team-b", workspace: "team-b", scopes: ["records:write"], expiresAt: null },
      ],
    });
    const a = await upsert(env.url, "shared", { email: "a@example.com" });
    const b = await upsert(env.url, "shared", { email: "a@example.com" }, "team-b");
    expect(a.headers.get("idempotent-replayed")).toBeNull();
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    expect(await countRows(env.url, "profiles")).toBe(1);
    expect(await countRows(env.url, "profiles", "&workspace=team-b")).toBe(1);
  });

  it("refuses an Idempotency-Key that is too long or has spaces with 400", async () => {
    env = await startEmulatorOnDisk();
    for (const key of ["x".repeat(256), "has space"]) {
      const response = await upsert(env.url, key, { email: "a@example.com" });
      expect(response.status).toBe(400);
      expect((response.body as unknown as ErrorEnvelope).error.message).toMatch(/Idempotency-Key/);
    }
  });
});
