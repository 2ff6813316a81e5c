import { beforeEach, describe, expect, it } from "vitest";
import { call, perSuite } from "../helpers/emulator.js";

interface Row {
  rowId: string;
  createdAt: string;
  updatedAt: string;
  fields: Record<string, unknown>;
}
interface Page {
  success: boolean;
  data: { records: Row[]; nextCursor: string | null };
}

describe("the control plane", () => {
  const allScopes = ["records:write", "records:read", "metadata:read"] as ("records:write" | "records:read" | "metadata:read")[];

  const env = perSuite({
    tokens: [
      { token: "dev-token", workspace: "default", scopes: allScopes, expiresAt: null },
      { token: "team-b", workspace: "team-b", scopes: allScopes, expiresAt: null },
    ],
  });
  beforeEach(() => env.control.reset());

  const write = (token: string, record: Record<string, unknown>) =>
    call(`${env.url}/public/v1/records/profiles/upsert`, { headers: { Authorization: `Bearer ${token}` }, body: { record } });

  it("reports health with version, db and uptime in the envelope", async () => {
    const response = await call<{ success: boolean; data: Record<string, unknown> }>(`${env.url}/_emulator/health`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      success: true,
      data: { status: "ok", version: expect.stringMatching(/^\d+\.\d+\.\d+/), db: { path: env.db, open: true } },
    });
    expect(typeof response.body.data["uptimeS"]).toBe("number");
  });

  it("lists the bearer token's workspace, else ?workspace=, else default", async () => {
    await write("dev-token", { email: "a@example.com" });
    await write("team-b", { email: "b@example.com" });
    const byToken = await call<Page>(`${env.url}/_emulator/records/profiles`, { headers: { Authorization: "Bearer team-b" } });
    const byQuery = await call<Page>(`${env.url}/_emulator/records/profiles?workspace=team-b`);
    const byDefault = await call<Page>(`${env.url}/_emulator/records/profiles`);
    expect(byToken.body.data.records.map((row) => row.fields["email"])).toEqual(["b@example.com"]);
    expect(byQuery.body.data.records.map((row) => row.fields["email"])).toEqual(["b@example.com"]);
    expect(byDefault.body.data.records.map((row) => row.fields["email"])).toEqual(["a@example.com"]);
  });

  it("isolates workspaces: the same email upserted in two workspaces makes two rows, one in each", async () => {
    const a = await write("dev-token", { email: "same@example.com", tier: "gold" });
    const b = await write("team-b", { email: "same@example.com", tier: "silver" });
    expect(a.headers.get("x-emulator-upsert-result")).toBe("inserted");
    expect(b.headers.get("x-emulator-upsert-result")).toBe("inserted");
    const inB = await call<Page>(`${env.url}/_emulator/records/profiles?workspace=team-b`);
    expect(inB.body.data.records[0]?.fields).toEqual({ email: "same@example.com", tier: "silver" });
    const crossRead = await call(`${env.url}/_emulator/records/profiles/${a.headers.get("x-emulator-record-id")}?workspace=team-b`);
    expect(crossRead.status).toBe(404);
  });

  it("filters by exact field values, typed by the schema, and pages with limit and cursor", async () => {
    for (let i = 0; i < 7; i += 1) {
      await write("dev-token", { email: `p${i}@example.com`, tier: i % 2 === 0 ? "gold" : "silver", lifetime_value: i, marketing_opt_in: i < 3 });
    }
    const gold = await call<Page>(`${env.url}/_emulator/records/profiles?tier=gold`);
    expect(gold.body.data.records.map((row) => row.fields["email"])).toEqual(["p0@example.com", "p2@example.com", "p4@example.com", "p6@example.com"]);
    const numeric = await call<Page>(`${env.url}/_emulator/records/profiles?lifetime_value=3`);
    expect(numeric.body.data.records.map((row) => row.fields["email"])).toEqual(["p3@example.com"]);
    const optedIn = await call<Page>(`${env.url}/_emulator/records/profiles?marketing_opt_in=true&tier=gold`);
    expect(optedIn.body.data.records.map((row) => row.fields["email"])).toEqual(["p0@example.com", "p2@example.com"]);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { body: Page } = await call<Page>(`${env.url}/_emulator/records/profiles?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.body.data.records.map((row) => String(row.fields["email"])));
      cursor = page.body.data.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `p${i}@example.com`));
  });

  it.each([
    { query: "?favourite=1", message: /favourite/ },
    { query: "?limit=0", message: /limit/ },
    { query: "?limit=5000", message: /limit/ },
    { query: "?cursor=garbage", message: /cursor/ },
    { query: "?lifetime_value=abc", message: /not a number/ },
    { query: "?marketing_opt_in=maybe", message: /true or false/ },
  ])("refuses a bad listing query $query with a 400 envelope", async ({ query, message }) => {
    const response = await call<{ error: { code: string; message: string } }>(`${env.url}/_emulator/records/profiles${query}`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
    expect(response.body.error.message).toMatch(message);
  });

  it("gets one row by rowId, and 404s an unknown one, object or workspace", async () => {
    const written = await write("dev-token", { email: "one@example.com" });
    const rowId = written.headers.get("x-emulator-record-id");
    const row = await call<{ data: Row }>(`${env.url}/_emulator/records/profiles/${rowId}`);
    expect(row.body.data).toMatchObject({ rowId, fields: { email: "one@example.com" } });
    expect((await call(`${env.url}/_emulator/records/profiles/rec_nope`)).status).toBe(404);
    expect((await call(`${env.url}/_emulator/records/widgets`)).status).toBe(404);
    expect((await call(`${env.url}/_emulator/records/profiles?workspace=ghost`)).status).toBe(404);
    expect((await call(`${env.url}/_emulator/records/profiles`, { headers: { Authorization: "Bearer nope" } })).status).toBe(401);
  });

  it("resets one workspace, leaving the others and every token in place", async () => {
    await write("dev-token", { email: "a@example.com" });
    await write("team-b", { email: "b@example.com" });
    const reset = await call(`${env.url}/_emulator/reset?workspace=team-b`, { method: "POST" });
    expect(reset.body).toEqual({ success: true, data: { reset: "team-b" } });
    expect((await call<Page>(`${env.url}/_emulator/records/profiles?workspace=team-b`)).body.data.records).toEqual([]);
    expect((await call<Page>(`${env.url}/_emulator/records/profiles`)).body.data.records).toHaveLength(1);
    expect((await write("team-b", { email: "b@example.com" })).status).toBe(200);
  });

  it("resets everything: rows, identities, collisions and idempotency keys", async () => {
    const headers = { Authorization: "Bearer dev-token", "Idempotency-Key": "before-reset" };
    await call(`${env.url}/public/v1/records/profiles/upsert`, { headers, body: { record: { email: "a@example.com" } } });
    const reset = await call(`${env.url}/_emulator/reset`, { method: "POST" });
    expect(reset.body).toEqual({ success: true, data: { reset: "all" } });
    expect((await call<Page>(`${env.url}/_emulator/records/profiles`)).body.data.records).toEqual([]);
    const again = await call(`${env.url}/public/v1/records/profiles/upsert`, { headers, body: { record: { email: "a@example.com" } } });
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(again.headers.get("x-emulator-upsert-result")).toBe("inserted");
  });

  it("404s a reset of an unknown workspace and any unknown control endpoint, in the envelope", async () => {
    const unknownWorkspace = await call<{ error: { code: string } }>(`${env.url}/_emulator/reset?workspace=ghost`, { method: "POST" });
    expect(unknownWorkspace.status).toBe(404);
    const unknownRoute = await call<{ success: boolean; error: { code: string } }>(`${env.url}/_emulator/nope`);
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.body).toMatchObject({ success: false, error: { code: "CDP_ETL.NOT_FOUND" } });
  });
});
