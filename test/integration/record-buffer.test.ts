import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BatchRefusedError, CdpClient, RecordBuffer, type CdpClientOptions, type DeadLetter, type JobReport, type Sleep } from "../../src/client/index.js";
import { ControlClient, type JournalEntry } from "../../src/testing/control-client.js";
import { startEmulatorOnDisk as startEmulator, TOKEN, type EmulatorOnDisk as TestEmulator } from "../helpers/emulator.js";

let emu: TestEmulator;

beforeAll(async () => {
  emu = await startEmulator();
  control = new ControlClient(emu.url);
});
afterAll(async () => {
  await emu.dispose();
});
afterEach(async () => {
  await control.reset();
});

let control: ControlClient;
const batches = (): Promise<JournalEntry[]> => control.journal.list({ operation: "upsert-batch", limit: 1000 });
const rowCount = async (object = "profiles"): Promise<number> => (await control.records.list(object, { limit: 1000 })).length;

function client(options: Partial<CdpClientOptions<undefined>> = {}): CdpClient {
  return new CdpClient({ baseUrl: `${emu.url}/public/v1`, token: TOKEN, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options });
}
/** Tests that do not look at dead letters collect them here. */
const letterBox: DeadLetter[] = [];
const ignoreLetters = (letter: DeadLetter): void => void letterBox.push(letter);
const profile = (i: number): Record<string, unknown> => ({ email: `user${i}@example.com`, tier: "gold" });

/** The buffer's age timer, ended by hand: `fire()` ends the oldest wait still pending. */
function manualSleep(): { sleep: Sleep; readonly pending: number; fire(): void } {
  const waits: (() => void)[] = [];
  return {
    sleep: (_ms, signal) =>
      new Promise<void>((resolve, reject) => {
        waits.push(resolve);
        signal?.addEventListener(
          "abort",
          () => {
            const at = waits.indexOf(resolve);
            if (at >= 0) waits.splice(at, 1);
            reject(signal.reason);
          },
          { once: true },
        );
      }),
    get pending() {
      return waits.length;
    },
    fire() {
      waits.shift()?.();
    },
  };
}

describe("RecordBuffer", () => {
  it("flushes one batch when maxSize records are waiting", async () => {
    const buffer = new RecordBuffer({ onDeadLetter: ignoreLetters, client: client(), object: "profiles", matchKey: "email", maxSize: 5, maxAgeMs: 60_000 });
    for (let i = 0; i < 5; i++) await buffer.add(profile(i));
    expect(buffer.pending).toBe(0);
    expect(await batches()).toHaveLength(1);
    await buffer.close();
  });

  it("flushes on its timer when the oldest record reaches maxAgeMs, with no further add", async () => {
    const timer = manualSleep();
    const buffer = new RecordBuffer({ onDeadLetter: ignoreLetters, client: client(), object: "profiles", maxSize: 500, maxAgeMs: 50, sleep: timer.sleep });
    await buffer.add(profile(1));
    expect(buffer.pending).toBe(1);
    timer.fire();
    await expect.poll(() => batches().then((entries) => entries.length)).toBe(1);
    expect(buffer.pending).toBe(0);
    await buffer.close();
  });

  it("never runs two flushes at once", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const counting: typeof fetch = async (input, init) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return await fetch(input, init);
      } finally {
        inFlight -= 1;
      }
    };
    await control.faults.add({ match: { operation: "upsert-batch" }, action: { delayMs: 30 } });
    const buffer = new RecordBuffer({ onDeadLetter: ignoreLetters, client: client({ fetch: counting }), object: "profiles", maxSize: 3, maxAgeMs: 5 });
    const adds: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) adds.push(buffer.add(profile(i)));
    await Promise.all(adds);
    await buffer.close();
    expect(maxInFlight).toBe(1);
    expect(await rowCount()).toBe(20);
  });

  it("keeps a batch that failed transiently and re-sends it with the same key, writing each record once", async () => {
    await control.faults.add({ match: { operation: "upsert-batch" }, action: { status: 503 } });
    const errors: unknown[] = [];
    const buffer = new RecordBuffer({
      onDeadLetter: ignoreLetters,
      client: client({ retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }),
      object: "profiles",
      maxSize: 100,
      maxAgeMs: 60_000,
      onError: (error) => errors.push(error),
    });
    for (let i = 0; i < 4; i++) await buffer.add(profile(i));
    await expect(buffer.flush()).rejects.toMatchObject({ status: 503, attempts: 2 });
    expect(buffer.pending).toBe(4);

    await control.faults.clear();
    await buffer.add(profile(4));
    await buffer.close();
    const entries = await batches();
    expect(entries.map((entry) => entry.status)).toEqual([503, 503, 202, 202]);
    // The failed batch kept its key; the record added later went in a batch of its own.
    expect(entries[0]!.idempotencyKey).toBe(entries[2]!.idempotencyKey);
    expect(entries[3]!.idempotencyKey).not.toBe(entries[2]!.idempotencyKey);
    await expect.poll(() => rowCount()).toBe(5);
  });

  it("derives each flush's key from its records, so a restarted flush of the same records writes nothing twice", async () => {
    for (let run = 0; run < 2; run++) {
      const buffer = new RecordBuffer({ onDeadLetter: ignoreLetters, client: client(), object: "events", operation: "append", maxSize: 100, maxAgeMs: 60_000 });
      await buffer.add({ event: "page_view", session_id: "s1", occurred_at: "2026-04-21T15:00:00Z" });
      await buffer.add({ event: "cta_click", session_id: "s1", occurred_at: "2026-04-21T15:01:12Z" });
      await buffer.close();
    }
    const entries = await control.journal.list({ operation: "append-batch" });
    expect(entries.map((entry) => entry.replayed)).toEqual([false, true]);
    await expect.poll(() => rowCount("events")).toBe(2);
  });

  it("dead-letters a batch the API refuses for good and carries on with the next", async () => {
    const letters: DeadLetter[] = [];
    const buffer = new RecordBuffer({
      client: client(),
      object: "profiles",
      maxSize: 2,
      maxAgeMs: 60_000,
      onDeadLetter: (letter) => void letters.push(letter),
    });
    await buffer.add({ email: "a@example.com", favourite_colour: "red" });
    await buffer.add(profile(1));
    await buffer.add(profile(2));
    await buffer.add(profile(3));
    await buffer.close();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ operation: "upsert-batch", failureType: "schema" });
    expect(letters[0]!.records).toHaveLength(2);
    expect(buffer.stats).toMatchObject({ acceptedBatches: 1, acceptedRecords: 2, deadLetteredRecords: 2, pending: 0 });
  });

  it("builds in the guide's own shape, and without a dead-letter route rejects the flush that sent a refused batch with its records", async () => {
    const buffer = new RecordBuffer({ client: client(), object: "profiles", matchKey: "email" });
    await buffer.add({ email: "a@example.com", favourite_colour: "red" });
    const refused = await buffer.flush().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(BatchRefusedError);
    expect((refused as BatchRefusedError).records).toEqual([{ email: "a@example.com", favourite_colour: "red" }]);
    expect((refused as BatchRefusedError).letter.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_SCHEMA");
    expect(buffer.stats).toMatchObject({ refusedRecords: 1, pending: 0 });
    // The refused batch is gone from the buffer, so the next one is not blocked behind it.
    await buffer.add(profile(7));
    await buffer.close();
    expect(buffer.stats).toMatchObject({ acceptedBatches: 1, acceptedRecords: 1, pending: 0 });
    expect(await rowCount("profiles")).toBeGreaterThanOrEqual(1);
  });

  it("hands a refused batch of a background flush to onError when there is no dead-letter route", async () => {
    const errors: unknown[] = [];
    const buffer = new RecordBuffer({ client: client(), object: "profiles", maxSize: 1, onError: (error) => void errors.push(error) });
    await buffer.add({ email: "b@example.com", favourite_colour: "blue" });
    expect(errors).toHaveLength(1);
    expect((errors[0] as BatchRefusedError).records).toHaveLength(1);
    await buffer.close();
  });

  it("lets the client's own dead-letter handler take a refused batch first", async () => {
    const clientLetters: DeadLetter[] = [];
    const bufferLetters: DeadLetter[] = [];
    const lettering = new CdpClient({ baseUrl: `${emu.url}/public/v1`, token: TOKEN, onDeadLetter: (letter) => void clientLetters.push(letter) });
    const buffer = new RecordBuffer({ client: lettering, object: "profiles", onDeadLetter: (letter) => void bufferLetters.push(letter) });
    await buffer.add({ email: "a@example.com", favourite_colour: "red" });
    await buffer.close();
    expect(clientLetters.map((letter) => letter.operation)).toEqual(["upsert-batch"]);
    expect(bufferLetters).toEqual([]);
  });

  it("refuses a record JSON cannot carry at add, keeping the records before it", async () => {
    const buffer = new RecordBuffer({ onDeadLetter: ignoreLetters, client: client(), object: "profiles", maxSize: 10, maxAgeMs: 60_000 });
    await buffer.add(profile(1));
    expect(() => buffer.add({ email: "big@example.com", n: 10n })).toThrow(TypeError);
    expect(buffer.pending).toBe(1);
    await buffer.close();
    expect(await rowCount()).toBe(1);
  });

  it("does not re-send a refused batch on its timer, and reports it to onError", async () => {
    const errors: unknown[] = [];
    const timer = manualSleep();
    const buffer = new RecordBuffer({
      client: client(),
      object: "profiles",
      maxAgeMs: 30,
      sleep: timer.sleep,
      // A handler that itself fails: the batch stays, and nothing is sent again by the timer.
      onDeadLetter: () => {
        throw new Error("DLQ down");
      },
      onError: (error) => errors.push(error),
    });
    await buffer.add({ email: "a@example.com", favourite_colour: "red" });
    timer.fire();
    await expect.poll(() => errors.length).toBe(1);
    // Rather than waiting to see nothing sent: the timer was not set again.
    expect(timer.pending).toBe(0);
    expect(await batches()).toHaveLength(1);
    expect(buffer.pending).toBe(1);
  });

  it("waits for each accepted batch's job and reports its invalid rows", async () => {
    const reports: JobReport[] = [];
    const buffer = new RecordBuffer({
      onDeadLetter: ignoreLetters,
      client: client(),
      object: "profiles",
      matchKey: "email",
      maxSize: 3,
      maxAgeMs: 60_000,
      waitForJob: { initialDelayMs: 10 },
      onJobDone: (report) => void reports.push(report),
    });
    await buffer.add(profile(1));
    await buffer.add({ email: "not-an-email" });
    await buffer.add(profile(2));
    await buffer.close();
    expect(reports).toHaveLength(1);
    expect(reports[0]!.job).toMatchObject({ state: "completed", metrics: { insertedRows: 2, invalidRows: 1 } });
    expect(reports[0]!.invalidRows).toMatchObject([{ index: 1, path: "records[1].email" }]);
  });

  it("refuses records after close", async () => {
    const buffer = new RecordBuffer({ onDeadLetter: ignoreLetters, client: client(), object: "profiles" });
    await buffer.close();
    expect(() => buffer.add(profile(1))).toThrow(/closed/);
  });

  it.each([0, 10_001, 1.5])("refuses maxSize %d", (maxSize) => {
    expect(() => new RecordBuffer({ onDeadLetter: ignoreLetters, client: client(), object: "profiles", maxSize })).toThrow(/maxSize/);
  });
});
