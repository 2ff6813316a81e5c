import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type StartedEmulator } from "../../src/index.js";

let emu: StartedEmulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(() => emu.stop());

describe("GET / is a signpost", () => {
  it.each([
    { client: "a browser", accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" },
    { client: "a page that asks for HTML only", accept: "text/html" },
  ])("sends $client to the dashboard", async ({ accept }) => {
    const response = await fetch(`${emu.url}/`, { headers: { Accept: accept }, redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/_emulator/ui/");
  });

  it.each([
    { client: "curl", accept: "*/*" },
    { client: "a JSON client", accept: "application/json" },
    { client: "a client that sends no Accept", accept: undefined },
  ])("answers $client with links to the API, the control plane and the dashboard", async ({ accept }) => {
    const response = await fetch(`${emu.url}/`, { headers: accept === undefined ? {} : { Accept: accept }, redirect: "manual" });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { success: boolean; data: { links: Record<string, string> } };
    expect(body.success).toBe(true);
    expect(body.data.links).toMatchObject({ api: "/public/v1", controlPlane: "/_emulator", dashboard: "/_emulator/ui/", health: "/_emulator/health" });
    for (const link of [body.data.links["metadata"], body.data.links["health"]]) {
      const followed = await fetch(`${emu.url}${link}`, { headers: { Authorization: `Bearer ${emu.token}` } });
      expect(followed.status).toBe(200);
    }
  });
});
