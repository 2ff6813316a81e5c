import { afterAll, beforeAll, expect, it } from "vitest";
import { startEmulator, type StartedEmulator } from "../../src/index.js";

let emu: StartedEmulator;
beforeAll(async () => {
  emu = await startEmulator({ rateLimits: { single: { limit: 100_000, windowSeconds: 1 }, batch: { limit: 100, windowSeconds: 1 } } });
});
afterAll(() => emu.stop());

it("logs one collision per write when many rows share an identifier, not one per row holding it", async () => {
  const rows = 300;
  const records = Array.from({ length: rows }, (_, i) => ({ email: `member${i}@example.com`, phone: "+12125550000" }));
  const response = await fetch(`${emu.apiUrl}/records/profiles/upsert-batch`, {
    method: "POST",
    headers: { Authorization: `Bearer ${emu.token}`, "Content-Type": "application/json", Prefer: "wait=10" },
    body: JSON.stringify({ records, matchKey: "email" }),
  });
  expect(response.status).toBe(200);
  const collisions = await fetch(`${emu.url}/_emulator/identity/collisions?limit=1000`).then(
    (r) => r.json() as Promise<{ data: { collisions: { field: string; rowId: string; otherRowId: string }[] } }>,
  );
  // Every row but the first shares the phone: one entry each, against the row that held it last.
  expect(collisions.data.collisions).toHaveLength(rows - 1);
  expect(new Set(collisions.data.collisions.map((collision) => collision.field))).toEqual(new Set(["phone"]));
  const [first, second] = collisions.data.collisions;
  expect(second?.otherRowId).toBe(first?.rowId);

  // And a lookup by the shared identifier still finds the most recent writer.
  const last = await fetch(`${emu.apiUrl}/records/profiles/upsert`, {
    method: "POST",
    headers: { Authorization: `Bearer ${emu.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ record: { phone: "+12125550000", city: "Albany" }, matchKey: "phone" }),
  });
  expect(last.status).toBe(200);
  const row = (await emu.control.records.list("profiles", { city: "Albany" }))[0] as { fields: Record<string, unknown> };
  expect(row.fields["email"]).toBe(`member${rows - 1}@example.com`);
});
