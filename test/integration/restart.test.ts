import { afterEach, describe, expect, it } from "vitest";
import { AUTH, call, startEmulatorOnDisk, tempDir, type EmulatorOnDisk } from "../helpers/emulator.js";

describe("restarting on the same database file", () => {
  const running: EmulatorOnDisk[] = [];
  afterEach(async () => {
    for (const env of running.splice(0)) await env.dispose();
  });

  it("keeps every acknowledged write, identity and idempotency key", async () => {
    const dir = tempDir();
    const first = await startEmulatorOnDisk({ dir });
    running.push(first);
    const acknowledged: string[] = [];
    const responses: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      const response = await call(`${first.url}/public/v1/records/profiles/upsert`, {
        headers: { ...AUTH, "Idempotency-Key": `key-${i}` },
        body: { record: { email: `u${i}@example.com`, customer_id: `cust_${i}` }, matchKey: "email" },
      });
      expect(response.status).toBe(200);
      acknowledged.push(response.headers.get("x-emulator-record-id") ?? "");
      responses.push(response.text);
    }
    await first.stop();

    const second = await startEmulatorOnDisk({ dir, db: first.db });
    running.push(second);
    const rows = await call<{ data: { records: { rowId: string }[] } }>(`${second.url}/_emulator/records/profiles?limit=100`);
    expect(rows.body.data.records.map((row) => row.rowId)).toEqual(acknowledged);
    // Keys survive: a retry replays the original bytes.
    const replay = await call(`${second.url}/public/v1/records/profiles/upsert`, {
      headers: { ...AUTH, "Idempotency-Key": "key-7" },
      body: { record: { email: "u7@example.com", customer_id: "cust_7" }, matchKey: "email" },
    });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.text).toBe(responses[7]);
    // Identities survive: customer_id still finds the row.
    const byCustomer = await call(`${second.url}/public/v1/records/profiles/upsert`, {
      headers: AUTH,
      body: { record: { customer_id: "cust_3", tier: "gold" }, matchKey: "customer_id" },
    });
    expect(byCustomer.headers.get("x-emulator-record-id")).toBe(acknowledged[3]);
  });

  it("keeps which row most recently asserted a shared identifier, so lookups resolve the same after a restart", async () => {
    const dir = tempDir();
    const first = await startEmulatorOnDisk({ dir });
    running.push(first);
    const upsert = async (base: string, record: Record<string, unknown>, matchKey: string) =>
      (await call(`${base}/public/v1/records/profiles/upsert`, { headers: AUTH, body: { record, matchKey } })).headers.get("x-emulator-record-id");
    const jane = await upsert(first.url, { email: "jane@co.com", customer_id: "cust_99" }, "email");
    const bob = await upsert(first.url, { email: "bob@co.com", customer_id: "cust_99" }, "email"); // collision: bob is newer
    expect(await upsert(first.url, { customer_id: "cust_99", tier: "gold" }, "customer_id")).toBe(bob);
    await upsert(first.url, { email: "jane@co.com", customer_id: "cust_99" }, "email"); // jane asserts it again
    expect(await upsert(first.url, { customer_id: "cust_99", tier: "silver" }, "customer_id")).toBe(jane);
    await first.stop();

    const second = await startEmulatorOnDisk({ dir, db: first.db });
    running.push(second);
    expect(await upsert(second.url, { customer_id: "cust_99", city: "Paris" }, "customer_id")).toBe(jane);
  });
});
