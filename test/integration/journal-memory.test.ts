import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultJournalMaxBytes, maxJournalBodyBytes, type JournalEntry } from "../../src/runtime/journal.js";
import { emulatorInternals } from "../../src/server.js";
import { AUTH, call, startEmulatorOnDisk, type EmulatorOnDisk, perSuite } from "../helpers/emulator.js";
import { openEvents, type EventStreamReader } from "../helpers/event-stream.js";

const UPSERT = "/public/v1/records/profiles/upsert";

/** `{"record":…,"x":[[[…]]]}`: the hostile body of issue 12, nested `depth` levels. */
const deepBody = (depth: number): string => `{"record":{"email":"deep@example.com"},"x":${"[".repeat(depth)}${"]".repeat(depth)}}`;

/** A profile upsert of about `bytes` bytes: every field fits its schema, whitespace fills the rest. */
function paddedUpsert(index: number, bytes: number): string {
  const json = JSON.stringify({ record: { email: `pad${index}@example.com`, first_name: "x".repeat(256) } });
  return `${json.slice(0, -1)}${" ".repeat(Math.max(0, bytes - json.length))}}`;
}

/** The journal entries of an open event stream once `count` have come, or the stream has ended; then closes it. */
async function entriesOf(stream: EventStreamReader, count: number, timeoutMs = 5000): Promise<{ entries: JournalEntry[]; ended: boolean }> {
  try {
    expect(stream.response.status).toBe(200);
    await stream.until(() => stream.ended || stream.entries().length >= count, timeoutMs);
    return { entries: stream.entries<JournalEntry>(), ended: stream.ended };
  } finally {
    stream.close();
  }
}

describe("a journal holding hostile bodies still reads", () => {
  const env = perSuite();

  it("answers GET /_emulator/journal and keeps every event stream open after a body nested 5,000 deep", async () => {
    // A listener that is open before the hostile request must hear it and what follows.
    const live = await openEvents(env.url);
    const hostile = [
      await call(`${env.url}${UPSERT}`, { headers: { ...AUTH, "Content-Type": "application/json" }, rawBody: deepBody(5_000) }),
      // With an Idempotency-Key, 3,000 levels was enough to fail before.
      await call(`${env.url}${UPSERT}`, {
        headers: { ...AUTH, "Content-Type": "application/json", "Idempotency-Key": "deep-key" },
        rawBody: deepBody(3_000),
      }),
    ];
    const after = await call(`${env.url}${UPSERT}`, { headers: AUTH, body: { record: { email: "after@example.com" } } });
    expect(after.status).toBe(200);

    const journal = await call<{ data: { entries: JournalEntry[] } }>(`${env.url}/_emulator/journal`);
    expect(journal.status).toBe(200);
    const entries = journal.body.data.entries;
    expect(entries).toHaveLength(3);
    for (const [i, response] of hostile.entries()) {
      const raw = deepBody(i === 0 ? 5_000 : 3_000);
      expect(response.status).toBeLessThan(500);
      expect(entries[i]).toMatchObject({
        status: response.status,
        requestBody: { unparsed: true, bytes: Buffer.byteLength(raw), preview: raw },
      });
    }
    expect(entries[2]?.requestBody).toEqual({ record: { email: "after@example.com" } });
    expect((await call<{ data: { count: number } }>(`${env.url}/_emulator/journal/count`)).body.data.count).toBe(3);

    const heard = await entriesOf(live, 3);
    expect(heard.ended).toBe(false);
    expect(heard.entries.map((entry) => entry.seq)).toEqual(entries.map((entry) => entry.seq));
    expect(heard.entries[0]?.requestBody).toMatchObject({ unparsed: true });

    // A stream opened afterwards replays the same entries from the journal.
    const replay = await entriesOf(await openEvents(env.url, { since: 0 }), 3);
    expect(replay.entries.map((entry) => entry.requestBody)).toEqual(entries.map((entry) => entry.requestBody));
  });

  it("reads fine even when a deep body reached the journal already parsed, as it did before the parser refused it", async () => {
    // What the pipeline handed over before nesting was refused while parsing: the bytes and the
    // parsed value. The journal keeps the bytes only, so the value cannot reach a reader.
    const raw = deepBody(5_000);
    const recorded = emulatorInternals(env.emulator).journal.record({
      at: new Date().toISOString(),
      wallMs: 0,
      method: "POST",
      path: UPSERT,
      operation: "upsert",
      object: "profiles",
      workspace: "default",
      idempotencyKey: null,
      correlationId: "deep-in-process",
      status: 500,
      fault: null,
      replayed: false,
      durationMs: 1,
      requestBody: Buffer.from(raw),
    });
    const journal = await call<{ data: { entries: JournalEntry[] } }>(`${env.url}/_emulator/journal?since=${recorded.seq - 1}`);
    expect(journal.status).toBe(200);
    expect(journal.body.data.entries[0]?.requestBody).toMatchObject({ unparsed: true, bytes: raw.length });
    const replay = await entriesOf(await openEvents(env.url, { since: recorded.seq - 1 }), 1);
    expect(replay.entries[0]).toMatchObject({ correlationId: "deep-in-process", requestBody: { unparsed: true } });
  });

  it("shows a body over 16 KB as a capped preview with its full size", async () => {
    const body = paddedUpsert(1, 40_000);
    const response = await call(`${env.url}${UPSERT}`, { headers: { ...AUTH, "Content-Type": "application/json" }, rawBody: body });
    expect(response.status).toBe(200);
    const [entry] = (await call<{ data: { entries: JournalEntry[] } }>(`${env.url}/_emulator/journal?limit=1`)).body.data.entries;
    expect(entry?.requestBody).toEqual({ truncated: true, bytes: 40_000, preview: body.slice(0, maxJournalBodyBytes) });
    expect(entry?.responseBody).toMatchObject({ success: true, data: { operation: "upsert" } });
  });
});

describe("the journal's default byte budget over real HTTP", () => {
  let env: EmulatorOnDisk;
  beforeAll(async () => {
    // Quotas raised so every write is a 16 KB one, not a bodiless 429.
    env = await startEmulatorOnDisk({ rateLimits: { single: { limit: 1_000_000, windowSeconds: 1 }, batch: { limit: 1_000, windowSeconds: 1 } } });
  });
  afterAll(async () => {
    await env.dispose();
  });

  it("evicts the oldest entries by bytes, long before the 10,000-entry count, after 2,500 writes of 16 KB", async () => {
    const writes = 2_500;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < writes) {
        const index = next++;
        const response = await call(`${env.url}${UPSERT}`, {
          headers: { ...AUTH, "Content-Type": "application/json" },
          rawBody: paddedUpsert(index, 16_000),
        });
        expect(response.status).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    const journal = emulatorInternals(env.emulator).journal;
    expect(journal.bytes).toBeLessThanOrEqual(defaultJournalMaxBytes);
    // 32 MB over ~17 KB entries: about 1,900 kept, the oldest gone.
    expect(journal.size).toBeGreaterThan(1_500);
    expect(journal.size).toBeLessThan(writes);
    const count = (await call<{ data: { count: number } }>(`${env.url}/_emulator/journal/count`)).body.data.count;
    expect(count).toBe(journal.size);
    const [newest] = (await call<{ data: { entries: JournalEntry[] } }>(`${env.url}/_emulator/journal?limit=1`)).body.data.entries;
    expect(newest?.seq).toBe(writes);
    expect(newest?.requestBody).toMatchObject({ record: { first_name: "x".repeat(256) } });
  });
});
