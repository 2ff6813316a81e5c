import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorClock } from "../../src/server.js";
import { call, startEmulatorOnDisk, type EmulatorOnDisk } from "../helpers/emulator.js";
import type { ErrorEnvelope } from "../../src/domain/errors.js";

interface Created {
  success: boolean;
  data: { workspace: string; token: string; scopes: string[]; expiresAt: string | null };
}
describe("workspaces and tokens on demand", () => {
  let env: EmulatorOnDisk;
  const clock = new EmulatorClock();

  beforeAll(async () => {
    clock.freeze(Date.parse("2026-04-21T15:30:00Z"));
    env = await startEmulatorOnDisk({ clock });
  });
  afterAll(async () => env.dispose());

  const createWorkspace = (body: unknown = {}) => call<Created>(`${env.url}/_emulator/workspaces`, { body });
  const upsert = (token: string, record: Record<string, unknown>) =>
    call<ErrorEnvelope>(`${env.url}/public/v1/records/profiles/upsert`, { headers: { Authorization: `Bearer ${token}` }, body: { record } });

  it("creates a fresh workspace with an all-scopes token", async () => {
    const created = await createWorkspace();
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({
      workspace: expect.stringMatching(/^ws_[0-9a-f]{12}$/),
      token: expect.stringMatching(/^tok_/),
      scopes: ["records:write", "records:read", "metadata:read"],
      expiresAt: null,
    });
    expect((await upsert(created.body.data.token, { email: "a@example.com" })).status).toBe(200);
  });

  it("names a workspace when asked and refuses a name that is taken with 409", async () => {
    const created = await createWorkspace({ name: "suite-a" });
    expect(created.body.data.workspace).toBe("suite-a");
    const again = await call<ErrorEnvelope>(`${env.url}/_emulator/workspaces`, { body: { name: "suite-a" } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("CDP_ETL.CONFLICT.WORKSPACE_EXISTS");
    const listed = await call<{ data: { workspaces: string[] } }>(`${env.url}/_emulator/workspaces`);
    expect(listed.body.data.workspaces).toContain("suite-a");
  });

  it.each([
    { body: { name: "has space" }, message: /name/ },
    { body: { name: "x".repeat(65) }, message: /name/ },
    { body: { nmae: "typo" }, message: /"nmae" is not a field/ },
  ])("refuses a bad workspace request $body with 400", async ({ body, message }) => {
    const response = await call<ErrorEnvelope>(`${env.url}/_emulator/workspaces`, { body });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(message);
  });

  it("keeps parallel suites apart: the same keys and emails in two workspaces never meet", async () => {
    const suites = await Promise.all(Array.from({ length: 8 }, () => createWorkspace()));
    await Promise.all(
      suites.map(async (suite, index) => {
        const { token } = suite.body.data;
        for (let i = 0; i < 10; i += 1) {
          const response = await call(`${env.url}/public/v1/records/profiles/upsert`, {
            headers: { Authorization: `Bearer ${token}`, "Idempotency-Key": `key-${i}` },
            body: { record: { email: `user${i}@example.com`, tier: `suite-${index}` } },
          });
          expect(response.status).toBe(200);
          expect(response.headers.get("idempotent-replayed")).toBeNull();
        }
      }),
    );
    for (const [index, suite] of suites.entries()) {
      const rows = await call<{ data: { records: { fields: { tier: string } }[] } }>(`${env.url}/_emulator/records/profiles`, {
        headers: { Authorization: `Bearer ${suite.body.data.token}` },
      });
      expect(rows.body.data.records).toHaveLength(10);
      expect(new Set(rows.body.data.records.map((row) => row.fields.tier))).toEqual(new Set([`suite-${index}`]));
    }
  });

  it("mints a narrow token that gets 403 FORBIDDEN for what it lacks", async () => {
    const { workspace } = (await createWorkspace()).body.data;
    const minted = await call<Created>(`${env.url}/_emulator/tokens`, { body: { workspace, scopes: ["metadata:read"] } });
    expect(minted.status).toBe(201);
    expect(minted.body.data).toMatchObject({ workspace, scopes: ["metadata:read"], expiresAt: null });
    const refused = await upsert(minted.body.data.token, { email: "a@example.com" });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("CDP_ETL.AUTH.FORBIDDEN");
    const metadata = await call(`${env.url}/public/v1/metadata/objects`, { headers: { Authorization: `Bearer ${minted.body.data.token}` } });
    expect(metadata.status).toBe(200);
  });

  it("mints a token with a chosen value, and refuses to move it to another workspace or over a configured token", async () => {
    const first = (await createWorkspace()).body.data.workspace;
    const second = (await createWorkspace()).body.data.workspace;
    const chosen = await call<Created>(`${env.url}/_emulator/tokens`, { body: { workspace: first, token: "chosen-token", scopes: ["metadata:read"] } });
    expect(chosen.status).toBe(201);
    expect(chosen.body.data).toMatchObject({ token: "chosen-token", workspace: first });
    const again = await call<Created>(`${env.url}/_emulator/tokens`, { body: { workspace: first, token: "chosen-token" } });
    expect(again.status).toBe(201);
    const moved = await call<{ error: { code: string; message: string } }>(`${env.url}/_emulator/tokens`, { body: { workspace: second, token: "chosen-token" } });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toContain(`belongs to workspace "${first}"`);
    const configured = await call<{ error: { code: string } }>(`${env.url}/_emulator/tokens`, { body: { workspace: "default", token: "dev-token" } });
    expect(configured.status).toBe(400);
  });

  it("refuses an expiry beyond ten years with 400, not a server error", async () => {
    const refused = await call<{ error: { code: string; details: { path: string } } }>(`${env.url}/_emulator/tokens`, { body: { workspace: "default", expiresIn: 1e300 } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
  });

  it("mints a token that expires on the emulator clock: 401 TOKEN_EXPIRED once the clock passes it", async () => {
    const { workspace } = (await createWorkspace()).body.data;
    const minted = await call<Created>(`${env.url}/_emulator/tokens`, { body: { workspace, expiresIn: 60 } });
    expect(minted.body.data.expiresAt).toBe(new Date(clock.now() + 60_000).toISOString());
    expect((await upsert(minted.body.data.token, { email: "a@example.com" })).status).toBe(200);
    clock.advance(60_000);
    const expired = await upsert(minted.body.data.token, { email: "a@example.com" });
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe("CDP_ETL.AUTH.TOKEN_EXPIRED");
  });

  it.each([
    { body: { workspace: "ghost" }, status: 404 },
    { body: { workspace: "default", scopes: ["records:delete"] }, status: 400 },
    { body: { workspace: "default", expiresIn: 0 }, status: 400 },
    { body: { scopes: ["records:read"] }, status: 400 },
  ])("refuses a bad token request $body with $status", async ({ body, status }) => {
    expect((await call(`${env.url}/_emulator/tokens`, { body })).status).toBe(status);
  });

  it("leaves other workspaces alone when one is reset", async () => {
    const a = (await createWorkspace()).body.data;
    const b = (await createWorkspace()).body.data;
    await upsert(a.token, { email: "a@example.com" });
    await upsert(b.token, { email: "b@example.com" });
    await call(`${env.url}/_emulator/reset?workspace=${a.workspace}`, { method: "POST" });
    const count = async (token: string) =>
      (await call<{ data: { records: unknown[] } }>(`${env.url}/_emulator/records/profiles`, { headers: { Authorization: `Bearer ${token}` } })).body.data
        .records.length;
    expect(await count(a.token)).toBe(0);
    expect(await count(b.token)).toBe(1);
    expect((await upsert(a.token, { email: "again@example.com" })).status).toBe(200);
  });

  it("keeps minted tokens across a restart, unlike tokens dropped from the configuration", async () => {
    const { token } = (await createWorkspace({ name: "survivor" })).body.data;
    await env.stop();
    env = await startEmulatorOnDisk({ dir: env.dir, db: env.db, clock });
    expect((await upsert(token, { email: "s@example.com" })).status).toBe(200);
  });
});
