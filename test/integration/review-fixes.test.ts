import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { AUTH, call, startEmulatorOnDisk, type EmulatorOnDisk } from "../helpers/emulator.js";
import type { ErrorEnvelope } from "../../src/domain/errors.js";

const order = (id: string) => ({ order_id: id, total: 1, currency: "USD", placed_at: "2026-04-21T15:30:00Z" });

describe("hardening found in review", () => {
  let env: EmulatorOnDisk | undefined;
  afterEach(async () => {
    await env?.dispose();
    env = undefined;
  });

  it("keeps an Idempotency-Key claimed after its client hangs up, so the retry cannot write twice", async () => {
    env = await startEmulatorOnDisk({ latencyMs: 400 });
    const { url } = env;
    const target = new URL(`${url}/public/v1/records/orders/append`);
    const payload = JSON.stringify({ record: order("o1") });
    const req = httpRequest({
      hostname: target.hostname,
      port: target.port,
      path: target.pathname,
      method: "POST",
      agent: false,
      headers: { ...AUTH, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload), "Idempotency-Key": "hung-up" },
    });
    req.on("error", () => undefined);
    req.end(payload);
    // Wall time on purpose: the write must have claimed its key and be inside its 400 ms of latency.
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy(); // the client times out while the write is still executing
    const sendAgain = () =>
      call<ErrorEnvelope>(`${url}/public/v1/records/orders/append`, { headers: { ...AUTH, "Idempotency-Key": "hung-up" }, body: { record: order("o1") } });
    const retry = await sendAgain();
    expect(retry.status).toBe(409);
    expect(retry.body.error.code).toBe("CDP_ETL.CONFLICT.IDEMPOTENCY_IN_PROGRESS");
    // Once the hung-up write has finished, a retry replays it; until then each is refused, writing nothing.
    await expect.poll(async () => (await sendAgain()).headers.get("idempotent-replayed"), { timeout: 5_000 }).toBe("true");
    const later = await sendAgain();
    expect(later.headers.get("idempotent-replayed")).toBe("true");
    const rows = await call<{ data: { records: unknown[] } }>(`${url}/_emulator/records/orders`);
    expect(rows.body.data.records).toHaveLength(1);
  });

  it("refuses a body in a charset other than UTF-8 with 400", async () => {
    env = await startEmulatorOnDisk();
    const response = await call<ErrorEnvelope>(`${env.url}/public/v1/records/profiles/upsert-batch`, {
      headers: { ...AUTH, "Content-Type": "application/json; charset=utf-16le" },
      rawBody: JSON.stringify({ records: [{ email: "a@b.io" }] }),
    });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/charset/);
  });

  it.each(["/public/v1/records/%ZZ/upsert", "/_emulator/records/%ZZ"])("answers a broken percent-encoding in %s with 400, not 500", async (path) => {
    env = await startEmulatorOnDisk();
    const response = path.startsWith("/public")
      ? await call<ErrorEnvelope>(`${env.url}${path}`, { headers: AUTH, body: { record: {} } })
      : await call<ErrorEnvelope>(`${env.url}${path}`, { headers: AUTH });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
  });

  it("refuses a body nested thousands deep while parsing, and a field nested past 32 as one invalid row in a batch", async () => {
    env = await startEmulatorOnDisk();
    // Built as text: JSON.stringify itself cannot go this deep.
    const nest = (levels: number) => `${'{"d":'.repeat(levels)}"leaf"${"}".repeat(levels)}`;
    const event = (properties: string) => `{"event": "page_view", "occurred_at": "2026-04-21T15:00:00Z", "properties": ${properties}}`;
    const json = { ...AUTH, "Content-Type": "application/json" };
    // Past the parser's limit of 64 levels, the whole request is refused, single or batch.
    const single = await call<ErrorEnvelope>(`${env.url}/public/v1/records/events/append`, { headers: json, rawBody: `{"record": ${event(nest(5000))}}` });
    expect(single.status).toBe(400);
    expect(single.body.error.message).toMatch(/nested deeper than the limit of 64 levels/);
    const refused = await call<ErrorEnvelope>(`${env.url}/public/v1/records/events/append-batch`, {
      headers: json,
      rawBody: `{"records": [${event('{"a": 1}')}, ${event(nest(5000))}]}`,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/limit of 64 levels/);
    // Within it, a field nested past 32 levels is a bad value: one invalid row, the rest commit.
    const shallow = await call<ErrorEnvelope>(`${env.url}/public/v1/records/events/append`, { headers: json, rawBody: `{"record": ${event(nest(40))}}` });
    expect(shallow.status).toBe(400);
    expect(shallow.body.error.message).toMatch(/nested more than 32 levels/);
    const batch = await call<{ data: { metrics: { insertedRows: number; invalidRows: number }; state: string } }>(
      `${env.url}/public/v1/records/events/append-batch`,
      { headers: { ...json, Prefer: "wait=10" }, rawBody: `{"records": [${event('{"a": 1}')}, ${event(nest(40))}, ${event("null")}]}` },
    );
    expect(batch.status).toBe(200);
    expect(batch.body.data).toMatchObject({ state: "completed", metrics: { insertedRows: 2, invalidRows: 1 } });
  });

  it("answers a Prefer: wait request with its 202 when the server stops, instead of holding shutdown", async () => {
    env = await startEmulatorOnDisk();
    await env.control.jobs.hold();
    const waiting = call<{ data: { state: string } }>(`${env.url}/public/v1/records/profiles/upsert-batch`, {
      headers: { ...AUTH, Prefer: "wait=30" },
      body: { records: [{ email: "late@example.com" }] },
    });
    // Wall time on purpose: the request must be waiting on its job when stop() comes; nothing outside shows that moment.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await env.stop();
    const response = await waiting;
    expect(response.status).toBe(202);
    expect(response.body.data.state).toBe("queued");
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
