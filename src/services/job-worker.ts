import type { Logger } from "pino";
import type { Clock } from "../runtime/clock.js";
import { ApiError, capDetails, errorCatalogue } from "../domain/errors.js";
import { planAppend, planUpsert } from "../domain/identity.js";
import type { ObjectDefinition } from "../domain/object-schema.js";
import { checkRecord, isPlainObject } from "../domain/validation.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import type { JobRecord, RowError } from "../store/jobs-store.js";
import type { Store } from "../store/store.js";

export interface JobWorkerDeps {
  store: Store;
  objects: ObjectRegistry;
  clock: Clock;
  logger: Logger;
  newRecordId: () => string;
  /** Rows per transaction at most; between chunks the worker yields so API requests are served. */
  chunkSize?: number;
  /** A chunk also ends once it has run this long, so a slow machine still yields often. */
  chunkBudgetMs?: number;
  /** Told after a job starts, commits a chunk, completes or fails (the dashboard's live progress). */
  onChange?: (jobSeq: number) => void;
}

export interface WorkerStatus {
  running: boolean;
  held: boolean;
}

const TERMINAL = new Set(["completed", "failed"]);
const MAX_HANDED_OFF = 2;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The batch job worker: one loop in the server's process that takes jobs in acceptance order
 * and commits each chunk of rows together with its progress mark. A job left `processing` by a
 * crash or a stop is resumed first, from its last committed chunk, so no row is written twice.
 */
export class JobWorker {
  readonly #deps: JobWorkerDeps;
  readonly #chunkSize: number;
  readonly #chunkBudgetMs: number;
  #running = false;
  #held = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  readonly #waiters = new Map<number, Set<(finished: boolean) => void>>();
  readonly #handedOff = new Map<number, unknown[]>();

  constructor(deps: JobWorkerDeps) {
    this.#deps = deps;
    this.#chunkSize = deps.chunkSize ?? 1000;
    this.#chunkBudgetMs = deps.chunkBudgetMs ?? 15;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Finishes the chunk in hand and returns; an unfinished job stays `processing` and resumes on the next start. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#signal();
    await this.#loop;
    this.#loop = undefined;
  }

  /** Keeps queued jobs queued (a job already processing finishes) until `release()`. */
  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    this.#signal();
  }

  /**
   * Tells the worker a job was accepted, optionally with its records as the API already parsed
   * them, which saves parsing the stored body again. Only the latest few are kept in memory;
   * any other job reads its records back from the database.
   */
  notify(accepted?: { jobSeq: number; records: unknown[] }): void {
    if (accepted) {
      this.#handedOff.set(accepted.jobSeq, accepted.records);
      for (const jobSeq of this.#handedOff.keys()) {
        if (this.#handedOff.size <= MAX_HANDED_OFF) break;
        this.#handedOff.delete(jobSeq);
      }
    }
    this.#signal();
  }

  status(): WorkerStatus {
    return { running: this.#running, held: this.#held };
  }

  /** Resolves true once the job is completed or failed, false if `timeoutMs` passes first. */
  waitFor(jobSeq: number, timeoutMs: number): Promise<boolean> {
    const job = this.#deps.store.jobs.bySeq(jobSeq);
    if (!job || TERMINAL.has(job.state)) return Promise.resolve(job !== undefined);
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(jobSeq) ?? new Set();
      this.#waiters.set(jobSeq, waiters);
      const done = (finished: boolean): void => {
        clearTimeout(timer);
        resolve(finished);
      };
      const timer = setTimeout(() => {
        waiters.delete(done);
        resolve(false);
      }, timeoutMs);
      waiters.add(done);
    });
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #finished(jobSeq: number): void {
    const waiters = this.#waiters.get(jobSeq);
    this.#waiters.delete(jobSeq);
    for (const waiter of waiters ?? []) waiter(true);
  }

  /**
   * Answers every `Prefer: wait` request now with "not finished", so each sends its 202: on
   * shutdown the server must not hold an accepted job's acknowledgement hostage.
   */
  releaseWaiters(): void {
    const all = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const waiters of all) for (const waiter of waiters) waiter(false);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const job = this.#deps.store.isOpen() ? this.#deps.store.jobs.nextRunnable() : undefined;
      if (!job || (this.#held && job.state === "queued")) {
        // Nothing between the query above and this wait yields, so no wake-up can be missed.
        await new Promise<void>((resolve) => (this.#wake = resolve));
        // Whoever woke us (a 202 about to be sent) finishes its turn before the first chunk runs.
        await yieldToEventLoop();
        continue;
      }
      try {
        await this.#process(job);
      } catch (error) {
        this.#deps.logger.error({ err: error, jobId: job.id }, "batch job failed unexpectedly");
        try {
          this.#fail(job, { code: "CDP_ETL.INTERNAL.UNHANDLED_EXCEPTION", message: "The job stopped on an unexpected emulator error" });
        } catch (failError) {
          // The loop must outlive any one job; without this the worker would silently stop for good.
          this.#deps.logger.error({ err: failError, jobId: job.id }, "could not mark the job failed; stopping the worker");
          this.#running = false;
        }
      }
    }
  }

  async #process(job: JobRecord): Promise<void> {
    const { store, clock } = this.#deps;
    const object = this.#deps.objects.get(job.object);
    if (!object) {
      this.#fail(job, {
        code: "CDP_ETL.NOT_FOUND",
        message: `Object "${job.object}" no longer exists in the emulator's schemas, so the job could not run`,
      });
      return;
    }
    if (job.state === "queued") {
      store.jobs.markProcessing(job.seq, clock.now());
      this.#deps.onChange?.(job.seq);
    }
    const records = this.#handedOff.get(job.seq) ?? store.jobs.payload(job.seq);
    this.#handedOff.delete(job.seq);
    if (!records) {
      this.#fail(job, { code: "CDP_ETL.INTERNAL.UNHANDLED_EXCEPTION", message: "The job's records are missing" });
      return;
    }

    let position = job.metrics.processedRows;
    while (position < records.length) {
      if (!this.#running) return;
      const start = position;
      const end = store.transaction(() => this.#commitChunk(job, object, records, start, Math.min(start + this.#chunkSize, records.length)));
      if (end === null) return; // the job was wiped by a reset
      position = end;
      this.#deps.onChange?.(job.seq);
      await yieldToEventLoop();
      if (!store.isOpen()) return;
    }
    store.transaction(() => store.jobs.complete(job.seq, clock.now()));
    this.#deps.onChange?.(job.seq);
    this.#finished(job.seq);
  }

  /**
   * One chunk: every valid row written, every invalid one recorded, and the progress mark moved,
   * all in the caller's transaction. Returns where the chunk ended (it stops early once over its
   * time budget), or null if the job no longer exists.
   */
  #commitChunk(job: JobRecord, object: ObjectDefinition, records: unknown[], start: number, limit: number): number | null {
    const { store, clock, newRecordId } = this.#deps;
    if (store.jobs.bySeq(job.seq)?.id !== job.id) return null;
    const now = clock.now();
    const deadline = performance.now() + this.#chunkBudgetMs;
    let end = limit;
    const lookup = store.records.lookup(job.workspace, object.objectName);
    const errors: RowError[] = [];
    let inserted = 0;
    let merged = 0;
    for (let index = start; index < limit; index += 1) {
      // Checked every 100 rows: reading the time on every row would cost more than it saves.
      if (index > start && (index - start) % 100 === 0 && performance.now() > deadline) {
        end = index;
        break;
      }
      const record = records[index];
      const basePath = `records[${index}]`;
      try {
        if (!isPlainObject(record)) {
          throw new ApiError("REQUEST_INVALID", `${basePath}: must be a JSON object`, { details: { path: basePath, value: record } });
        }
        const problem = checkRecord(object, record, basePath);
        if (problem) {
          errors.push(rowError({ index, code: codeOf(problem.kind), message: problem.message, path: problem.path, value: problem.value }));
          continue;
        }
        const plan =
          job.operation === "append-batch"
            ? planAppend(object, record, basePath)
            : planUpsert({ object, record, matchKey: job.matchKey ?? object.primaryKey, policy: object.collisionPolicy, lookup, basePath });
        store.records.apply({ workspace: job.workspace, object, plan, newId: newRecordId, now });
        if (plan.result === "inserted") inserted += 1;
        else merged += 1;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        const path = typeof error.details.path === "string" ? error.details.path : null;
        errors.push(rowError({ index, code: error.code, message: error.message, path, value: error.details.value ?? null }));
      }
    }
    return store.jobs.advance(job.seq, { processed: end - start, inserted, merged, errors }) ? end : null;
  }

  #fail(job: JobRecord, failure: { code: string; message: string }): void {
    const { store, clock } = this.#deps;
    if (!store.isOpen()) return;
    store.transaction(() => store.jobs.fail(job.seq, failure, clock.now()));
    this.#deps.onChange?.(job.seq);
    this.#finished(job.seq);
  }
}

const codeOf = (kind: "REQUEST_INVALID" | "REQUEST_SCHEMA"): string => errorCatalogue[kind].code;

/**
 * A row's error as stored and served: its path and value capped as an error envelope caps them
 * (a cut value ends in "…"), so one 5 MB field cannot make every read of the job's errors 5 MB.
 */
function rowError(error: RowError): RowError {
  const capped = capDetails({ path: error.path ?? undefined, value: error.value });
  return { ...error, path: typeof capped.path === "string" ? capped.path : null, value: capped.value };
}
