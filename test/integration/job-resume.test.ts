import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { EmulatorClock } from "../../src/runtime/clock.js";
import { bundledSchemasDir } from "../../src/config.js";
import { JobWorker } from "../../src/services/job-worker.js";
import { loadObjectSchemas } from "../../src/services/object-schemas.js";
import { createStore, type Store } from "../../src/store/store.js";
import { perTest } from "../helpers/emulator.js";

const { dir: tempDir } = perTest("cdp-emulator-resume-");

describe("a batch job interrupted between chunks", () => {
  const open: Store[] = [];
  afterEach(() => {
    for (const store of open.splice(0)) store.close();
  });

  const objects = loadObjectSchemas(bundledSchemasDir());
  const clock = new EmulatorClock();
  const logger = pino({ level: "silent" });
  let ids = 0;
  const worker = (store: Store) =>
    new JobWorker({ store, objects, clock, logger, newRecordId: () => `rec_${(ids += 1)}`, chunkSize: 2 });
  /** Starts a worker on `store`, waits (bounded) until the job has ended, and stops the worker. */
  const runToTheEnd = async (store: Store, jobSeq: number): Promise<void> => {
    const running = worker(store);
    running.start();
    expect(await running.waitFor(jobSeq, 5_000)).toBe(true);
    await running.stop();
  };

  it("resumes from its last committed chunk on a new worker over the same file, writing no row twice", async () => {
    const path = join(tempDir(), "cdp.sqlite");
    const first = createStore(path);
    open.push(first);
    const records = Array.from({ length: 7 }, (_, i) => ({ event: "page_view", occurred_at: "2026-04-21T15:00:00Z", url: `/p/${i}` }));
    records[4] = { event: "page_view", occurred_at: "2026-04-21 15:00:00", url: "/bad" };
    first.workspaces.ensureWorkspace("default", clock.now());
    const job = first.jobs.create({ id: "rjob_1", workspace: "default", object: "events", operation: "append-batch", matchKey: null, records, now: clock.now() });

    // The first chunk commits before start() returns; stop() then halts the loop at the next chunk boundary.
    const interrupted = worker(first);
    interrupted.start();
    await interrupted.stop();
    const midway = first.jobs.bySeq(job.seq);
    expect(midway?.state).toBe("processing");
    expect(midway?.metrics.processedRows).toBe(2);
    first.close();

    const second = createStore(path);
    open.push(second);
    await runToTheEnd(second, job.seq);
    const done = second.jobs.bySeq(job.seq);
    expect(done?.state).toBe("completed");
    expect(done?.metrics).toEqual({ totalRows: 7, processedRows: 7, insertedRows: 6, mergedRows: 0, invalidRows: 1 });
    const rows = second.records.list({ workspace: "default", object: "events", filters: [], afterSeq: 0, limit: 100 });
    expect(rows.map((row) => row.fields["url"])).toEqual(["/p/0", "/p/1", "/p/2", "/p/3", "/p/5", "/p/6"]);
    expect(second.jobs.errors(job.seq, 0, 10).map((error) => error.index)).toEqual([4]);
  });

  it("abandons a job wiped by a reset mid-way and runs the next job in full, its seq never reused", async () => {
    const store = createStore(join(tempDir(), "cdp.sqlite"));
    open.push(store);
    store.workspaces.ensureWorkspace("default", clock.now());
    const event = (i: number) => ({ event: "page_view", occurred_at: "2026-04-21T15:00:00Z", url: `/old/${i}` });
    const wiped = store.jobs.create({ id: "rjob_old", workspace: "default", object: "events", operation: "append-batch", matchKey: null, records: Array.from({ length: 6 }, (_, i) => event(i)), now: clock.now() });
    const running = worker(store);
    running.start(); // the first chunk of the old job commits before start() returns
    store.reset();
    const next = store.jobs.create({ id: "rjob_new", workspace: "default", object: "events", operation: "append-batch", matchKey: null, records: [{ event: "signup", occurred_at: "2026-04-21T15:00:00Z" }], now: clock.now() });
    expect(next.seq).not.toBe(wiped.seq);
    running.notify();
    expect(await running.waitFor(next.seq, 5_000)).toBe(true);
    await running.stop();
    expect(store.jobs.bySeq(next.seq)?.metrics).toEqual({ totalRows: 1, processedRows: 1, insertedRows: 1, mergedRows: 0, invalidRows: 0 });
    const rows = store.records.list({ workspace: "default", object: "events", filters: [], afterSeq: 0, limit: 100 });
    expect(rows.map((row) => row.fields["event"])).toEqual(["signup"]);
  });

  it("marks a job whose object no longer exists as failed, with the reason", async () => {
    const store = createStore(join(tempDir(), "cdp.sqlite"));
    open.push(store);
    store.workspaces.ensureWorkspace("default", clock.now());
    const job = store.jobs.create({ id: "rjob_2", workspace: "default", object: "retired_object", operation: "append-batch", matchKey: null, records: [{}], now: clock.now() });
    await runToTheEnd(store, job.seq);
    const failed = store.jobs.bySeq(job.seq);
    expect(failed?.state).toBe("failed");
    expect(failed?.failure).toEqual({ code: "CDP_ETL.NOT_FOUND", message: expect.stringContaining("retired_object") });
  });
});
