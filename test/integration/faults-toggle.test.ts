import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Envelope, ErrorEnvelope, SuccessEnvelope } from "../../src/domain/errors.js";
import { ControlPlaneError, startEmulator, type StartedEmulator } from "../../src/index.js";

/** PATCH /_emulator/faults/:id switches a rule off and on without deleting it, or its counts. */

let emu: StartedEmulator;

async function upsert(email: string): Promise<number> {
  const response = await fetch(`${emu.apiUrl}/records/profiles/upsert`, {
    method: "POST",
    headers: { Authorization: `Bearer ${emu.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ record: { email } }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** The body read as a refusal unless told otherwise (`patch<SuccessEnvelope>`). */
async function patch<T extends Envelope = ErrorEnvelope>(id: string, body: string, contentType = "application/json"): Promise<{ status: number; body: T }> {
  const response = await fetch(`${emu.url}/_emulator/faults/${id}`, { method: "PATCH", headers: { "Content-Type": contentType }, body });
  return { status: response.status, body: (await response.json()) as T };
}

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => emu.stop());
beforeEach(async () => {
  await emu.control.reset();
});

describe("switching a fault rule off and on", () => {
  it("adds rules switched on", async () => {
    expect(await emu.control.faults.add({ action: { status: 503 } })).toMatchObject({ enabled: true });
  });

  it("a disabled rule lets requests through and counts nothing; enabled again it fires, and it was never deleted", async () => {
    const rule = await emu.control.faults.add({ match: { operation: "upsert" }, action: { status: 502 } });
    expect(await upsert("before@example.com")).toBe(502);

    expect(await emu.control.faults.disable(rule.id)).toMatchObject({ id: rule.id, enabled: false, matched: 1, hits: 1 });
    expect(await upsert("while-off-1@example.com")).toBe(200);
    expect(await upsert("while-off-2@example.com")).toBe(200);
    expect(await emu.control.faults.list()).toEqual([expect.objectContaining({ id: rule.id, enabled: false, matched: 1, hits: 1 })]);

    expect(await emu.control.faults.enable(rule.id)).toMatchObject({ id: rule.id, enabled: true });
    expect(await upsert("after@example.com")).toBe(502);
    expect((await emu.control.faults.list())[0]).toMatchObject({ enabled: true, matched: 2, hits: 2 });
  });

  it("resumes a first-N schedule where it stood", async () => {
    const rule = await emu.control.faults.add({ action: { status: 503 }, schedule: { times: 2 } });
    expect(await upsert("a@example.com")).toBe(503);
    await emu.control.faults.disable(rule.id);
    expect(await upsert("b@example.com")).toBe(200);
    await emu.control.faults.enable(rule.id);
    // One of its two fires is left: the request made while it was off did not use it up.
    expect(await upsert("c@example.com")).toBe(503);
    expect(await upsert("d@example.com")).toBe(200);
  });

  it("answers the rule as it now is, and a repeat is harmless", async () => {
    const rule = await emu.control.faults.add({ action: { status: 503 } });
    const first = await patch<SuccessEnvelope>(rule.id, JSON.stringify({ enabled: false }));
    const again = await patch<SuccessEnvelope>(rule.id, JSON.stringify({ enabled: false }));
    expect(first).toEqual({ status: 200, body: { success: true, data: expect.objectContaining({ id: rule.id, enabled: false }) } });
    expect(again.body.data).toEqual(first.body.data);
  });

  it.each([
    { name: "no enabled", body: "{}", message: "enabled: is required", path: "enabled" },
    { name: "enabled as text", body: '{"enabled":"false"}', message: "enabled: must be a boolean", path: "enabled" },
    { name: "an unknown field", body: '{"enabled":false,"hits":0}', message: "hits: is not a known field; use enabled", path: "hits" },
    { name: "not an object", body: "[true]", message: "(top level): must be an object", path: "(top level)" },
  ])("refuses a body with $name with a 400 envelope and changes nothing", async ({ body, message, path }) => {
    const rule = await emu.control.faults.add({ action: { status: 503 } });
    const refused = await patch(rule.id, body);
    expect(refused.status).toBe(400);
    expect(refused.body.success).toBe(false);
    expect(refused.body.error).toMatchObject({ code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message, details: { path } });
    expect((await emu.control.faults.list())[0]).toMatchObject({ enabled: true });
  });

  it("refuses malformed JSON with a 400 envelope", async () => {
    const rule = await emu.control.faults.add({ action: { status: 503 } });
    const refused = await patch(rule.id, "{enabled:");
    expect(refused.status).toBe(400);
    expect(refused.body.error?.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
  });

  it("answers 404 for a rule that does not exist, through the client too", async () => {
    const missing = await patch("flt_999", JSON.stringify({ enabled: true }));
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: "CDP_ETL.NOT_FOUND", details: { path: "id", value: "flt_999" } });
    const error = await emu.control.faults.enable("flt_999").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect(error).toMatchObject({ status: 404, code: "CDP_ETL.NOT_FOUND" });
  });

  it("can add a rule switched off, and switch it on later", async () => {
    const rule = await emu.control.faults.add({ action: { status: 503 }, enabled: false });
    expect(rule.enabled).toBe(false);
    expect(await upsert("off@example.com")).toBe(200);
    await emu.control.faults.enable(rule.id);
    expect(await upsert("on@example.com")).toBe(503);
  });
});
