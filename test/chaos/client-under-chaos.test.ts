import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { CdpClient, RecordBuffer, RETRYABLE_STATUS, type DeadLetter, type JobReport } from "../../src/client/index.js";
import type { JournalEntry } from "../../src/index.js";
import { perSuite } from "../helpers/emulator.js";

/**
 * The reference client against every shipped scenario: a realistic workload (single upserts from
 * a pool of concurrent callers, a few of them bad data, plus batches through RecordBuffer), then
 * the emulator's journal and rows are checked for what a retrying client must guarantee.
 */

interface Workload {
  singles: number;
  buffered: number;
  batchSize: number;
  concurrency: number;
  /** Retry timing for this scenario, when the default (5 ms base) does not suit it. */
  retry?: { baseDelayMs: number; maxDelayMs: number };
  /** Proof the scenario's faults really happened, so a passing run is not a quiet one. */
  exercised(entries: JournalEntry[]): void;
}

const statuses = (entries: JournalEntry[]) => entries.map((entry) => entry.status);

const workloads: Record<string, Workload> = {
  "happy-path": {
    singles: 500,
    buffered: 250,
    batchSize: 50,
    concurrency: 20,
    exercised: (entries) => expect(statuses(entries).filter((status) => status === null || status >= 500)).toEqual([]),
  },
  "flaky-5xx": {
    singles: 500,
    buffered: 250,
    batchSize: 50,
    concurrency: 20,
    exercised: (entries) => expect(statuses(entries).filter((status) => status === 502 || status === 503 || status === 504).length).toBeGreaterThan(50),
  },
  // 5 single writes and 1 batch per second: a smaller workload keeps this under ten seconds, and
  // three callers (not twenty) share the quota, as a client that sized its pool to its plan would.
  "rate-limited": {
    singles: 25,
    buffered: 100,
    batchSize: 20,
    concurrency: 3,
    retry: { baseDelayMs: 100, maxDelayMs: 1000 },
    exercised: (entries) => expect(statuses(entries).filter((status) => status === 429).length).toBeGreaterThan(5),
  },
  "lost-ack": {
    singles: 500,
    buffered: 250,
    batchSize: 50,
    concurrency: 20,
    exercised: (entries) => {
      expect(statuses(entries).filter((status) => status === null).length).toBeGreaterThan(100);
      expect(entries.filter((entry) => entry.replayed).length).toBeGreaterThan(100);
    },
  },
  "maintenance-window": {
    singles: 500,
    buffered: 250,
    batchSize: 50,
    concurrency: 20,
    exercised: (entries) => expect(statuses(entries).filter((status) => status === 503)).toHaveLength(10),
  },
  "slow-network": {
    singles: 200,
    buffered: 250,
    batchSize: 50,
    concurrency: 25,
    // Timers may fire a millisecond early by the emulator's own measure: 148, not 150.
    exercised: (entries) => expect(Math.min(...entries.map((entry) => entry.durationMs))).toBeGreaterThanOrEqual(148),
  },
  "write-races": {
    singles: 500,
    buffered: 250,
    batchSize: 50,
    concurrency: 20,
    exercised: (entries) => expect(statuses(entries).filter((status) => status === 409).length).toBeGreaterThan(100),
  },
};

/** What the client saw of each HTTP attempt, for the Retry-After check. */
interface Attempt {
  key: string;
  startedAt: number;
  endedAt: number;
  status: number | null;
  retryAfterMs: number | null;
}

const emu = perSuite();

const scenarioFiles = readdirSync(resolve(import.meta.dirname, "../../scenarios"))
  .filter((name) => /\.(ya?ml|json)$/.test(name))
  .map((name) => name.replace(/\.(ya?ml|json)$/, ""))
  .sort();

it("has a chaos workload for every shipped scenario", () => {
  expect(Object.keys(workloads).sort()).toEqual(scenarioFiles);
});

/** How many rows hold each value of a field: a record written twice shows as a 2. */
function rowsPer(rows: Record<string, unknown>[], field: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) {
    const value = String((row["fields"] as Record<string, unknown>)[field]);
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return counts;
}

/** Single writes that must be refused for good: the client may not retry them. */
const BAD_RECORDS = [
  { email: "not-an-email" },
  { email: "also-bad" },
  { email: "chaos-bad-field@example.com", favourite_colour: "red" },
];

describe.each(scenarioFiles)("the client under the %s scenario", (scenario) => {
  it("loses no acknowledged record, writes no duplicate, reuses its key on every retry, never retries a refusal and honours Retry-After", async () => {
    const workload = workloads[scenario]!;
    // happy-path first: it puts back the default rate limits an earlier scenario may have changed.
    await emu.control.applyScenario("happy-path");
    await emu.control.applyScenario(scenario);
    // A workspace of its own, so nothing of another scenario's run can be counted in this one.
    const { workspace, token } = await emu.control.workspaces.create();

    const attempts: Attempt[] = [];
    const watching: typeof fetch = async (input, init) => {
      const key = new Headers(init?.headers).get("idempotency-key");
      const startedAt = performance.now();
      try {
        const response = await fetch(input, init);
        if (key) {
          const retryAfter = response.headers.get("retry-after");
          // Read the body inside the timing, as the client does.
          const body = await response.text();
          attempts.push({ key, startedAt, endedAt: performance.now(), status: response.status, retryAfterMs: retryAfter === null ? null : Number(retryAfter) * 1000 });
          return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
        }
        return response;
      } catch (error) {
        if (key) attempts.push({ key, startedAt, endedAt: performance.now(), status: null, retryAfterMs: null });
        throw error;
      }
    };
    const letters: DeadLetter[] = [];
    const cdp = new CdpClient({
      baseUrl: `${emu.url}/public/v1`,
      token,
      fetch: watching,
      retry: { maxAttempts: 12, baseDelayMs: 5, maxDelayMs: 200, attemptTimeoutMs: 5_000, backpressureDelayMs: 50, ...workload.retry },
      onDeadLetter: (letter) => void letters.push(letter),
    });

    // Single writes from a pool of concurrent callers, each with its own key (none given): upserts,
    // and appends, which never merge, so a retry that wrote twice would show as a second row.
    const appends = Array.from({ length: Math.ceil(workload.singles / 5) }, (_, index) => ({
      event_id: `single-event-${index}`,
      event: "page_view",
      occurred_at: "2026-04-21T15:00:00Z",
    }));
    const appended = new Set<string>();
    let nextAppend = 0;
    const singles = [
      ...Array.from({ length: workload.singles }, (_, index) => ({ email: `single${index}@chaos.example.com`, tier: "gold", last_seen_at: "2026-04-21T15:30:00Z" })),
      ...BAD_RECORDS,
    ];
    const acknowledged = new Map<string, string>();
    let next = 0;
    const callers = Array.from({ length: workload.concurrency }, async () => {
      while (next < singles.length || nextAppend < appends.length) {
        if (next < singles.length) {
          const record = singles[next++]!;
          const result = await cdp.upsert("profiles", record, { matchKey: "email" });
          if (result) acknowledged.set(String(record.email), result.idempotencyKey);
        }
        if (nextAppend < appends.length && next % 5 === 0) {
          const event = appends[nextAppend++]!;
          if (await cdp.append("events", event)) appended.add(event.event_id);
        }
      }
    });

    // Batches through RecordBuffer, each job awaited and reported.
    const reports: JobReport[] = [];
    const buffer = new RecordBuffer({
      client: cdp,
      object: "profiles",
      matchKey: "email",
      maxSize: workload.batchSize,
      maxAgeMs: 200,
      waitForJob: { initialDelayMs: 20, maxDelayMs: 200, timeoutMs: 30_000 },
      onJobDone: (report) => void reports.push(report),
    });
    const buffered = Array.from({ length: workload.buffered }, (_, index) => ({ email: `buffered${index}@chaos.example.com`, tier: "silver" }));
    const producer = (async () => {
      for (const record of buffered) await buffer.add(record);
      await buffer.close();
    })();
    // And events appended in batches, where a re-sent batch that wrote twice would double rows.
    const eventReports: JobReport[] = [];
    const eventBuffer = new RecordBuffer({
      client: cdp,
      object: "events",
      operation: "append",
      maxSize: 25,
      maxAgeMs: 200,
      waitForJob: { initialDelayMs: 20, maxDelayMs: 200, timeoutMs: 30_000 },
      onJobDone: (report) => void eventReports.push(report),
    });
    const bufferedEvents = Array.from({ length: 50 }, (_, index) => ({ event_id: `buffered-event-${index}`, event: "cta_click", occurred_at: "2026-04-21T15:01:12Z" }));
    const eventProducer = (async () => {
      for (const event of bufferedEvents) await eventBuffer.add(event);
      await eventBuffer.close();
    })();
    await Promise.all([...callers, producer, eventProducer]);

    // No acknowledged record lost, none duplicated, nothing refused was written.
    const rows = await emu.control.records.list("profiles", { limit: 1000, workspace });
    const perEmail = rowsPer(rows, "email");
    expect(acknowledged.size).toBe(workload.singles);
    for (const email of acknowledged.keys()) expect(perEmail.get(email), email).toBe(1);
    for (const record of buffered) expect(perEmail.get(record.email), record.email).toBe(1);
    expect(rows).toHaveLength(workload.singles + workload.buffered);
    expect(letters.map((letter) => letter.failureType).sort()).toEqual(["bad_data", "bad_data", "schema"]);

    // Appends: one row per event, single or batched, whatever the faults did to the exchanges.
    const events = await emu.control.records.list("events", { limit: 1000, workspace });
    const perEvent = rowsPer(events, "event_id");
    expect(appended.size).toBe(appends.length);
    for (const id of [...appended, ...bufferedEvents.map((event) => event.event_id)]) expect(perEvent.get(id), id).toBe(1);
    expect(events).toHaveLength(appends.length + bufferedEvents.length);
    expect(eventReports.map((report) => report.job.metrics.insertedRows)).toEqual([25, 25]);

    // Every batch accepted once and completed with every row.
    expect(reports).toHaveLength(workload.buffered / workload.batchSize);
    for (const report of reports) expect(report.job).toMatchObject({ state: "completed", metrics: { invalidRows: 0, totalRows: workload.batchSize } });

    // One key per logical call, on every attempt: the journal holds exactly the client's keys,
    // as many times as the client sent them.
    const journal = await emu.control.journal.list({ limit: 10_000, workspace });
    const writes = journal.filter((entry) => entry.operation !== null && ["upsert", "upsert-batch", "append", "append-batch"].includes(entry.operation));
    const byKey = new Map<string, JournalEntry[]>();
    for (const entry of writes) {
      expect(entry.idempotencyKey).toBeTruthy();
      byKey.set(entry.idempotencyKey!, [...(byKey.get(entry.idempotencyKey!) ?? []), entry]);
    }
    expect(byKey.size).toBe(singles.length + appends.length + reports.length + eventReports.length);
    const sentPerKey = new Map<string, number>();
    for (const attempt of attempts) sentPerKey.set(attempt.key, (sentPerKey.get(attempt.key) ?? 0) + 1);
    for (const [key, entries] of byKey) expect(entries.length, key).toBe(sentPerKey.get(key));

    // Never a retry after a refusal: only the last attempt of a key may carry a non-retryable status.
    for (const [key, entries] of byKey) {
      for (const entry of entries.slice(0, -1)) {
        expect(entry.status === null || RETRYABLE_STATUS.has(entry.status), `${key}: retried after ${entry.status}`).toBe(true);
      }
    }
    // A refused write's key ends with its one refusal (a retryable fault may come before it).
    for (const letter of letters) {
      const refusals = byKey.get(letter.idempotencyKey)!.filter((entry) => entry.status !== null && !RETRYABLE_STATUS.has(entry.status));
      expect(refusals.map((entry) => entry.status)).toEqual([letter.error.status]);
    }

    // Retry-After honoured: the next attempt of a key starts no sooner than the API asked.
    const attemptsByKey = new Map<string, Attempt[]>();
    for (const attempt of attempts) attemptsByKey.set(attempt.key, [...(attemptsByKey.get(attempt.key) ?? []), attempt]);
    let waitedForRetryAfter = 0;
    for (const sequence of attemptsByKey.values()) {
      sequence.sort((a, b) => a.startedAt - b.startedAt);
      for (let index = 1; index < sequence.length; index++) {
        const previous = sequence[index - 1]!;
        if (previous.retryAfterMs === null) continue;
        waitedForRetryAfter += 1;
        expect(sequence[index]!.startedAt - previous.endedAt).toBeGreaterThanOrEqual(previous.retryAfterMs - 2);
      }
    }
    if (scenario === "maintenance-window" || scenario === "rate-limited") expect(waitedForRetryAfter).toBeGreaterThan(0);

    workload.exercised(journal.filter((entry) => entry.operation !== null));
  }, 90_000);
});
