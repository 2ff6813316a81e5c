import type { CdpClient } from "./client.js";
import { BatchRefusedError, CdpApiError } from "./errors.js";
import { stableKey } from "./keys.js";
import type { DeadLetter, DeadLetterHandler, WaitForJobOptions } from "./options.js";
import { abortableSleep, type Sleep } from "./retry.js";
import type { BatchAck, Job, JsonRecord, RowError, WriteResult } from "./types.js";

/** The largest batch the API accepts. */
export const MAX_BATCH_SIZE = 10_000;

/** What `onJobDone` receives once a flushed batch's job has finished. */
export interface JobReport {
  ack: BatchAck;
  idempotencyKey: string;
  job: Job;
  /** Every rejected row (all pages), empty when `metrics.invalidRows` is 0. */
  invalidRows: RowError[];
}

export interface RecordBufferOptions {
  client: CdpClient<DeadLetterHandler | undefined>;
  object: string;
  /** Which batch call a flush makes. Default `upsert`. */
  operation?: "upsert" | "append";
  /** For upserts; the API defaults to the object's primary key. */
  matchKey?: string;
  /** Flush when this many records are waiting (1–10,000). Default 500, the guide's default. */
  maxSize?: number;
  /** Flush when the oldest waiting record is this old, even if no more arrive. Default 5,000 ms. */
  maxAgeMs?: number;
  /**
   * The key of a flushed batch. Default: `stableKey` of the object, operation, matchKey and the
   * records in order, so re-flushing the same records after a crash or a lost acknowledgement
   * cannot write them twice.
   */
  keyFor?: (records: readonly JsonRecord[]) => string;
  /**
   * Where a batch the API refuses for good (schema, bad data, auth) goes. The client's own
   * `onDeadLetter`, when it has one, takes the failure first (inside the call), so this one is
   * for clients without. With neither, the refused batch leaves the buffer (keeping it would
   * block every batch behind it) and the `flush()`/`close()` that sent it rejects with a
   * `BatchRefusedError` carrying its records; a background flush hands that error to `onError`.
   * Nothing is dropped silently, and the next `add` still works.
   */
  onDeadLetter?: DeadLetterHandler;
  /** When given, each accepted batch's job is awaited (in the background) and reported here. */
  onJobDone?: (report: JobReport) => void | Promise<void>;
  /** Polling of those jobs. */
  waitForJob?: WaitForJobOptions;
  /**
   * Failures of flushes nobody awaits (the age timer, a size-triggered flush from `add`) and of
   * job reports. The records stay buffered and are retried; `close()` still rejects if they
   * cannot be sent.
   */
  onError?: (error: unknown) => void;
  /**
   * For tests: how the buffer waits `maxAgeMs` before a flush (default setTimeout), as the
   * client's own `sleep`. An abort of the signal is the wait cancelled (a flush came first).
   */
  sleep?: Sleep;
}

interface SealedBatch {
  records: JsonRecord[];
  idempotencyKey: string;
}

/**
 * The batch guide's RecordBuffer: records accumulate and are flushed as one batch call when
 * `maxSize` are waiting or the oldest is `maxAgeMs` old. Flushes run one at a time, in order.
 * A batch keeps its records and its key until the API accepts or permanently refuses it, so a
 * flush that failed transiently is re-sent byte for byte and the API's idempotency cache makes
 * the retry safe even if the first attempt had in fact been written.
 */
export class RecordBuffer {
  private readonly client: CdpClient<DeadLetterHandler | undefined>;
  private readonly object: string;
  private readonly operation: "upsert" | "append";
  private readonly matchKey: string | undefined;
  private readonly maxSize: number;
  private readonly maxAgeMs: number;
  private readonly keyFor: (records: readonly JsonRecord[]) => string;
  private readonly options: RecordBufferOptions;
  private open: JsonRecord[] = [];
  private readonly sealed: SealedBatch[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly sleep: Sleep;
  /** The age flush's wait, while one is pending: aborted when a flush comes first. */
  private timer: AbortController | undefined;
  private readonly reports = new Set<Promise<void>>();
  private closed = false;
  private acceptedBatches = 0;
  private acceptedRecords = 0;
  private deadLetteredRecords = 0;
  private refusedRecords = 0;

  constructor(options: RecordBufferOptions) {
    const maxSize = options.maxSize ?? 500;
    if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > MAX_BATCH_SIZE) {
      throw new RangeError(`maxSize must be an integer from 1 to ${MAX_BATCH_SIZE} (got ${maxSize})`);
    }
    const maxAgeMs = options.maxAgeMs ?? 5_000;
    if (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0) throw new RangeError(`maxAgeMs must be > 0 (got ${maxAgeMs})`);
    if (options.operation === "append" && options.matchKey !== undefined) {
      throw new TypeError("matchKey applies to upserts only; append-batch refuses it");
    }
    this.options = options;
    this.client = options.client;
    this.object = options.object;
    this.operation = options.operation ?? "upsert";
    this.matchKey = options.matchKey;
    this.maxSize = maxSize;
    this.maxAgeMs = maxAgeMs;
    this.sleep = options.sleep ?? abortableSleep;
    this.keyFor =
      options.keyFor ??
      ((records) => stableKey({ object: this.object, operation: this.operation, matchKey: this.matchKey ?? null, records }));
  }

  /** Records waiting, including those of batches that failed and will be re-sent. */
  get pending(): number {
    return this.open.length + this.sealed.reduce((sum, batch) => sum + batch.records.length, 0);
  }

  /** `refusedRecords`: records of batches refused for good with no dead-letter route, thrown as `BatchRefusedError`. */
  get stats(): { acceptedBatches: number; acceptedRecords: number; deadLetteredRecords: number; refusedRecords: number; pending: number } {
    return {
      acceptedBatches: this.acceptedBatches,
      acceptedRecords: this.acceptedRecords,
      deadLetteredRecords: this.deadLetteredRecords,
      refusedRecords: this.refusedRecords,
      pending: this.pending,
    };
  }

  /**
   * Buffers a record. The promise resolves once the buffer has room again (after the flush this
   * record triggered, if any), so a producer that awaits it is paced by the API; it never
   * rejects — flush failures go to `onError` and the records stay buffered.
   */
  add(record: JsonRecord): Promise<void> {
    if (this.closed) throw new Error(`RecordBuffer for ${this.object} is closed`);
    // A record that cannot be sent (a BigInt, a cycle) is refused here, before it can take a
    // whole batch down with it.
    if (JSON.stringify(record) === undefined) throw new TypeError("a record must be a JSON object");
    this.open.push(record);
    if (this.open.length >= this.maxSize) return this.flushInBackground();
    this.timer ??= this.flushWhenOld();
    return Promise.resolve();
  }

  /** Sends everything buffered now; rejects if a batch could not be sent (it stays buffered). */
  flush(): Promise<void> {
    try {
      this.seal();
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.chain.then(() => this.drain());
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Stops accepting records, sends what is left and waits for pending job reports. Rejects if
   * records could not be sent; they are still in the buffer and `flush()` may be retried.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    while (this.reports.size > 0) await Promise.all([...this.reports]);
  }

  private flushInBackground(): Promise<void> {
    return this.flush().catch((error: unknown) => {
      this.reportError(error);
      // Nobody awaits this flush, so nobody would retry it: a transient failure is tried again
      // after maxAgeMs. Anything else (a throwing keyFor or handler) waits for the next flush.
      if (error instanceof CdpApiError && error.retryable && !this.closed && this.sealed.length > 0) {
        this.timer ??= this.flushWhenOld();
      }
    });
  }

  /** Flushes in the background after `maxAgeMs`, unless the wait is aborted first. */
  private flushWhenOld(): AbortController {
    const timer = new AbortController();
    void this.sleep(this.maxAgeMs, timer.signal).then(
      () => void this.flushInBackground(),
      () => undefined, // aborted: a flush came first
    );
    return timer;
  }

  /** `onError`, or a process warning when there is none; a throwing `onError` is ignored. */
  private reportError(error: unknown): void {
    try {
      if (this.options.onError) this.options.onError(error);
      else process.emitWarning(error instanceof Error ? error : String(error), { code: "CDP_RECORD_BUFFER" });
    } catch {
      // An error handler that fails must not turn a background flush into an unhandled rejection.
    }
  }

  /** Turns the open records into a batch with its key fixed from now on. */
  private seal(): void {
    if (this.timer !== undefined) {
      this.timer.abort();
      this.timer = undefined;
    }
    if (this.open.length === 0) return;
    const records = this.open;
    // The key first: if a custom keyFor throws, the records stay where they were.
    const idempotencyKey = this.keyFor(records);
    this.open = [];
    this.sealed.push({ records, idempotencyKey });
  }

  private async drain(): Promise<void> {
    for (let batch = this.sealed[0]; batch !== undefined; batch = this.sealed[0]) {
      let result: WriteResult<BatchAck> | undefined;
      try {
        result = await this.send(batch);
      } catch (error) {
        if (!(error instanceof CdpApiError) || error.retryable) throw error;
        const handler = this.options.onDeadLetter;
        if (!handler) {
          this.sealed.shift();
          this.refusedRecords += batch.records.length;
          throw new BatchRefusedError(this.letter(batch, error));
        }
        await handler(this.letter(batch, error));
        result = undefined;
      }
      this.sealed.shift();
      if (result === undefined) {
        this.deadLetteredRecords += batch.records.length;
        continue;
      }
      this.acceptedBatches += 1;
      this.acceptedRecords += batch.records.length;
      if (this.options.onJobDone) this.report(result);
    }
  }

  private send(batch: SealedBatch): Promise<WriteResult<BatchAck> | undefined> {
    const options = { idempotencyKey: batch.idempotencyKey };
    return this.operation === "append"
      ? this.client.appendBatch(this.object, batch.records, options)
      : this.client.upsertBatch(this.object, batch.records, this.matchKey === undefined ? options : { ...options, matchKey: this.matchKey });
  }

  private letter(batch: SealedBatch, error: CdpApiError): DeadLetter {
    return {
      operation: this.operation === "append" ? "append-batch" : "upsert-batch",
      object: this.object,
      records: batch.records,
      idempotencyKey: batch.idempotencyKey,
      error,
      failureType: error.failureType,
      failedAt: new Date().toISOString(),
    };
  }

  /** Waits for the job off the flush path, so the next flush is not held up by polling. */
  private report(result: WriteResult<BatchAck>): void {
    const onJobDone = this.options.onJobDone;
    if (!onJobDone) return;
    const task = (async () => {
      const job = await this.client.waitForJob(this.object, result.data.jobId, this.options.waitForJob);
      const invalidRows: RowError[] = [];
      if (job.metrics.invalidRows > 0) {
        for await (const row of this.client.jobErrors(this.object, job.jobId)) invalidRows.push(row);
      }
      await onJobDone({ ack: result.data, idempotencyKey: result.idempotencyKey, job, invalidRows });
    })()
      .catch((error: unknown) => this.reportError(error))
      .finally(() => this.reports.delete(task));
    this.reports.add(task);
  }
}
