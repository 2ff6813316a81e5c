// docs example: vitest
import { afterAll, beforeAll, expect, it } from "vitest";
import { startEmulator, type StartedEmulator } from "cdp-emulator";
import { CdpClient } from "cdp-emulator/client";

let emu: StartedEmulator;
beforeAll(async () => (emu = await startEmulator({ scenario: "flaky-5xx" })));
afterAll(() => emu.stop());

it("writes every profile once although a third of the writes fail", async () => {
  const cdp = new CdpClient({ baseUrl: emu.apiUrl, token: emu.token, retry: { baseDelayMs: 5 } });
  for (let i = 0; i < 20; i++) await cdp.upsert("profiles", { email: `user${i}@example.com` });

  expect(await emu.control.records.list("profiles")).toHaveLength(20);
  expect(await emu.control.journal.count({ status: 503 })).toBeGreaterThan(0);
});
