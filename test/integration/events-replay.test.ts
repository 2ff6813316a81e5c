import { afterAll, beforeAll, expect, it } from "vitest";
import { startEmulator, type StartedEmulator } from "../../src/index.js";

let emu: StartedEmulator;
beforeAll(async () => {
  emu = await startEmulator({ rateLimits: { single: { limit: 100_000, windowSeconds: 1 }, batch: { limit: 100, windowSeconds: 1 } } });
});
afterAll(() => emu.stop());

const upsert = (i: number, padding = 0): Promise<Response> =>
  fetch(`${emu.apiUrl}/records/profiles/upsert`, {
    method: "POST",
    headers: { Authorization: `Bearer ${emu.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ record: { email: `replay${i}@example.com`, city: "x".repeat(Math.min(padding, 200)) } }) + " ".repeat(padding),
  });

it("replays a backlog of megabytes chunk by chunk, then goes live without missing or repeating an entry", async () => {
  // About 4 MB of journal: 250 entries with 16 KB request bodies.
  for (let i = 0; i < 250; i++) await (await upsert(i, 16_000)).text();
  const first = (await emu.control.journal.list({ limit: 1 }))[0]?.seq ?? 0;
  const total = await emu.control.journal.count();

  const stream = await fetch(`${emu.url}/_emulator/events?since=0`);
  const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  // Read slowly at first, so the replay has to wait for the socket, and write meanwhile.
  let text = "";
  for (let i = 0; i < 3; i++) {
    text += decoder.decode((await reader.read()).value);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await (await upsert(1_000 + i)).text();
  }
  const expected = total + 3;
  const seqs = (): number[] => [...text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
  while (seqs().length < expected) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value);
  }
  // After the replay, a live entry arrives on the same stream.
  await (await upsert(2_000)).text();
  while (seqs().length < expected + 1) text += decoder.decode((await reader.read()).value);
  await reader.cancel();

  const got = seqs();
  expect(got.length).toBe(expected + 1);
  expect(new Set(got).size).toBe(got.length);
  expect(got).toEqual([...got].sort((a, b) => a - b));
  expect(got.at(-1)).toBeGreaterThan(first);
});
