import { afterEach, describe, expect, it } from "vitest";
import type { Collision } from "../../src/domain/control-plane.js";
import type { CollisionPolicy } from "../../src/domain/object-schema.js";
import { AUTH, call, startEmulatorOnDisk, type EmulatorOnDisk } from "../helpers/emulator.js";

interface Row {
  rowId: string;
  fields: Record<string, unknown>;
}

/** identity-resolution.txt, walked through over HTTP. */
describe("identity resolution", () => {
  let env: EmulatorOnDisk | undefined;
  afterEach(async () => {
    await env?.dispose();
    env = undefined;
  });

  const start = async (policy?: CollisionPolicy) => {
    env = await startEmulatorOnDisk(policy ? { collisionPolicies: { profiles: policy } } : {});
    return env.url;
  };
  // The guide's upsert_profile(record, match_key, idempotency_key)
  const upsertProfile = async (base: string, record: Record<string, unknown>, matchKey: string, idempotencyKey: string) => {
    const response = await call(`${base}/public/v1/records/profiles/upsert`, {
      headers: { ...AUTH, "Idempotency-Key": idempotencyKey },
      body: { record, matchKey },
    });
    expect(response.status, response.text).toBe(200);
    return { rowId: response.headers.get("x-emulator-record-id") ?? "", result: response.headers.get("x-emulator-upsert-result") };
  };
  const rows = async (base: string, query = "") =>
    (await call<{ data: { records: Row[] } }>(`${base}/_emulator/records/profiles${query}`)).body.data.records;
  const collisions = async (base: string) =>
    (await call<{ data: { collisions: Collision[] } }>(`${base}/_emulator/identity/collisions`)).body.data.collisions;

  /** Session 1 → signup → post-login link → purchase → SMS opt-in. */
  async function progressiveWalk(base: string) {
    const a = await upsertProfile(base, { anonymous_id: "anon_abc", last_seen_at: "2026-04-21T10:00:00Z" }, "anonymous_id", "s1");
    const b = await upsertProfile(base, { email: "jane@co.com", signup_source: "web" }, "email", "signup");
    const login = await upsertProfile(
      base,
      { email: "jane@co.com", anonymous_id: "anon_abc", last_login_at: "2026-04-21T10:05:00Z" },
      "email",
      "login:sess_1",
    );
    const purchase = await upsertProfile(base, { email: "jane@co.com", customer_id: "cust_99" }, "email", "purchase");
    const sms = await upsertProfile(base, { email: "jane@co.com", phone: "+12125551234" }, "email", "sms");
    return { a, b, login, purchase, sms };
  }

  it("ends the progressive-identity walk on one row under the merge policy", async () => {
    const base = await start("merge");
    const { a, b, login, purchase, sms } = await progressiveWalk(base);
    expect(a.rowId).not.toBe(b.rowId);
    expect([login.rowId, purchase.rowId, sms.rowId]).toEqual([b.rowId, b.rowId, b.rowId]);
    const all = await rows(base);
    expect(all).toHaveLength(1);
    expect(all[0]?.fields).toEqual({
      email: "jane@co.com",
      anonymous_id: "anon_abc",
      signup_source: "web",
      last_seen_at: "2026-04-21T10:00:00Z",
      last_login_at: "2026-04-21T10:05:00Z",
      customer_id: "cust_99",
      phone: "+12125551234",
    });
    const reported = await collisions(base);
    expect(reported).toEqual([
      expect.objectContaining({ field: "anonymous_id", value: "anon_abc", rowId: b.rowId, otherRowId: a.rowId, policy: "merge", resolution: "merged" }),
    ]);
    // Any identifier now finds the one row.
    for (const [field, value] of [["anonymous_id", "anon_abc"], ["customer_id", "cust_99"], ["phone", "+12125551234"]] as const) {
      const found = await upsertProfile(base, { [field]: value, tier: "gold" }, field, `by-${field}`);
      expect(found).toEqual({ rowId: b.rowId, result: "merged" });
    }
    expect(await rows(base)).toHaveLength(1);
  });

  it("keeps the anonymous row under the default policy, reports the collision, and routes later writes to the linked row", async () => {
    const base = await start();
    const { a, b, login, purchase, sms } = await progressiveWalk(base);
    expect([login.rowId, purchase.rowId, sms.rowId]).toEqual([b.rowId, b.rowId, b.rowId]);
    const all = await rows(base);
    expect(all.map((row) => row.rowId)).toEqual([a.rowId, b.rowId]);
    expect(all[0]?.fields).toEqual({ anonymous_id: "anon_abc", last_seen_at: "2026-04-21T10:00:00Z" });
    expect(await collisions(base)).toEqual([
      expect.objectContaining({ field: "anonymous_id", value: "anon_abc", rowId: b.rowId, otherRowId: a.rowId, policy: "record", resolution: "recorded" }),
    ]);
    // "Future writes using either identifier resolve to the same profile": the most recently written row.
    const byAnonymous = await upsertProfile(base, { anonymous_id: "anon_abc", tier: "gold" }, "anonymous_id", "later-anon");
    const byPhone = await upsertProfile(base, { phone: "+12125551234", city: "NYC" }, "phone", "later-phone");
    expect(byAnonymous.rowId).toBe(b.rowId);
    expect(byPhone.rowId).toBe(b.rowId);
    expect(await rows(base)).toHaveLength(2);
    expect(await collisions(base)).toHaveLength(1);
  });

  it("handles an email change via customer_id without a duplicate, moving the email identity", async () => {
    const base = await start();
    const first = await upsertProfile(base, { customer_id: "cust_42", email: "old@co.com", first_name: "Ann" }, "customer_id", "create");
    const changed = await upsertProfile(base, { customer_id: "cust_42", email: "new@co.com" }, "customer_id", "email_change:evt_1");
    expect(changed).toEqual({ rowId: first.rowId, result: "merged" });
    const all = await rows(base);
    expect(all).toHaveLength(1);
    expect(all[0]?.fields).toEqual({ customer_id: "cust_42", email: "new@co.com", first_name: "Ann" });
    // The new email finds the row; the old one no longer does (a write by it creates a new row).
    expect(await upsertProfile(base, { email: "new@co.com", tier: "gold" }, "email", "by-new")).toEqual({ rowId: first.rowId, result: "merged" });
    const byOld = await upsertProfile(base, { email: "old@co.com" }, "email", "by-old");
    expect(byOld.result).toBe("inserted");
    expect(await collisions(base)).toEqual([]);
  });

  it("records the guide's collision example: both rows keep cust_99, and cust_99 then finds the newer holder", async () => {
    const base = await start();
    const jane = await upsertProfile(base, { email: "jane@co.com", customer_id: "cust_99" }, "email", "r100");
    const bob = await upsertProfile(base, { email: "bob@co.com" }, "email", "r200");
    const write = await call(`${base}/public/v1/records/profiles/upsert`, {
      headers: { ...AUTH, "Idempotency-Key": "collide" },
      body: { record: { email: "bob@co.com", customer_id: "cust_99" }, matchKey: "email" },
    });
    expect(write.status).toBe(200);
    expect(write.headers.get("x-emulator-identity-collisions")).toBe("1");
    expect((await rows(base, "?customer_id=cust_99")).map((row) => row.rowId)).toEqual([jane.rowId, bob.rowId]);
    expect(await collisions(base)).toEqual([
      expect.objectContaining({ field: "customer_id", value: "cust_99", rowId: bob.rowId, otherRowId: jane.rowId }),
    ]);
    const byCustomer = await upsertProfile(base, { customer_id: "cust_99", tier: "gold" }, "customer_id", "by-cust");
    expect(byCustomer.rowId).toBe(bob.rowId);
  });

  it("refuses the colliding write with 409 and changes nothing under the reject policy", async () => {
    const base = await start("reject");
    const jane = await upsertProfile(base, { email: "jane@co.com", customer_id: "cust_99" }, "email", "r100");
    await upsertProfile(base, { email: "bob@co.com" }, "email", "r200");
    const refused = await call<{ error: { code: string; details: Record<string, unknown> } }>(`${base}/public/v1/records/profiles/upsert`, {
      headers: { ...AUTH, "Idempotency-Key": "collide" },
      body: { record: { email: "bob@co.com", customer_id: "cust_99" }, matchKey: "email" },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("CDP_ETL.CONFLICT.IDENTITY_COLLISION");
    expect(refused.body.error.details).toMatchObject({ path: "record.customer_id", value: "cust_99", otherRowId: jane.rowId });
    expect((await rows(base, "?email=bob@co.com"))[0]?.fields).toEqual({ email: "bob@co.com" });
    expect(await collisions(base)).toEqual([]);
  });

  it("does not normalise identifiers: a differently-cased email is another profile", async () => {
    const base = await start();
    const lower = await upsertProfile(base, { email: "jane@example.com" }, "email", "lower");
    const upper = await upsertProfile(base, { email: "Jane@Example.com" }, "email", "upper");
    expect(upper.rowId).not.toBe(lower.rowId);
    expect(await rows(base)).toHaveLength(2);
  });

  it("lets an appended row be found later by its identity keys", async () => {
    const base = await start();
    const appended = await call(`${base}/public/v1/records/profiles/append`, { headers: AUTH, body: { record: { email: "app@co.com" } } });
    const found = await upsertProfile(base, { email: "app@co.com", tier: "gold" }, "email", "after-append");
    expect(found).toEqual({ rowId: appended.headers.get("x-emulator-record-id"), result: "merged" });
  });
});
