import type { BatchOperation } from "../domain/vocabulary.js";
import type { JobMetrics } from "../domain/control-plane.js";
import type { JobState } from "../domain/vocabulary.js";

export type { JobMetrics };
import type { Database } from "./database.js";

export type { BatchOperation };

export interface JobRecord {
  seq: number;
  id: string;
  workspace: string;
  object: string;
  operation: BatchOperation;
  matchKey: string | null;
  state: JobState;
  metrics: JobMetrics;
  failure: { code: string; message: string } | null;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
}

export interface RowError {
  index: number;
  code: string;
  message: string;
  path: string | null;
  value: unknown;
}

interface JobSqlRow {
  seq: number;
  id: string;
  workspace: string;
  object: string;
  operation: BatchOperation;
  match_key: string | null;
  state: JobState;
  total_rows: number;
  processed_rows: number;
  inserted_rows: number;
  merged_rows: number;
  invalid_rows: number;
  failure: string | null;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
}

interface RowErrorSqlRow {
  row_index: number;
  code: string;
  message: string;
  path: string | null;
  value: string | null;
}

const JOB_COLUMNS = `seq, id, workspace, object, operation, match_key, state, total_rows, processed_rows,
  inserted_rows, merged_rows, invalid_rows, failure, created_at, started_at, completed_at`;

function toJob(row: JobSqlRow): JobRecord {
  return {
    seq: row.seq,
    id: row.id,
    workspace: row.workspace,
    object: row.object,
    operation: row.operation,
    matchKey: row.match_key,
    state: row.state,
    metrics: {
      totalRows: row.total_rows,
      processedRows: row.processed_rows,
      insertedRows: row.inserted_rows,
      mergedRows: row.merged_rows,
      invalidRows: row.invalid_rows,
    },
    failure: row.failure === null ? null : (JSON.parse(row.failure) as { code: string; message: string }),
    createdAt: row.created_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
  };
}

function toRowError(row: RowErrorSqlRow): RowError {
  return {
    index: row.row_index,
    code: row.code,
    message: row.message,
    path: row.path,
    value: row.value === null ? null : (JSON.parse(row.value) as unknown),
  };
}

/**
 * Batch jobs and their per-row errors. A job's request body is kept (in job_payloads) as the
 * bytes the client sent until the job finishes; `processed_rows` is the progress mark the worker advances in the
 * same transaction as each chunk's writes, so a restart resumes exactly where the last commit ended.
 */
export class JobsStore {
  readonly #statements;

  constructor(db: Database) {
    this.#statements = {
      insert: db.prepare<[string, string, string, BatchOperation, string | null, number, number]>(
        `INSERT INTO jobs (id, workspace, object, operation, match_key, state, total_rows, created_at)
         VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)`,
      ),
      insertPayload: db.prepare<[number, Buffer]>(`INSERT INTO job_payloads (job_seq, body) VALUES (?, ?)`),
      dropPayload: db.prepare<[number]>(`DELETE FROM job_payloads WHERE job_seq = ?`),
      get: db.prepare<[string, string, string], JobSqlRow>(
        `SELECT ${JOB_COLUMNS} FROM jobs WHERE workspace = ? AND object = ? AND id = ?`,
      ),
      bySeq: db.prepare<[number], JobSqlRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE seq = ?`),
      payload: db.prepare<[number], { body: Buffer }>(`SELECT body FROM job_payloads WHERE job_seq = ?`),
      nextRunnable: db.prepare<[], JobSqlRow>(
        `SELECT ${JOB_COLUMNS} FROM jobs WHERE state IN ('processing', 'queued')
          ORDER BY CASE state WHEN 'processing' THEN 0 ELSE 1 END, seq LIMIT 1`,
      ),
      countByState: db.prepare<[], { state: JobState; n: number }>(`SELECT state, COUNT(*) AS n FROM jobs GROUP BY state`),
      markProcessing: db.prepare<[number, number]>(
        `UPDATE jobs SET state = 'processing', started_at = COALESCE(started_at, ?) WHERE seq = ?`,
      ),
      advance: db.prepare<[number, number, number, number, number]>(
        `UPDATE jobs SET processed_rows = processed_rows + ?, inserted_rows = inserted_rows + ?,
                         merged_rows = merged_rows + ?, invalid_rows = invalid_rows + ?
          WHERE seq = ?`,
      ),
      complete: db.prepare<[number, number]>(`UPDATE jobs SET state = 'completed', completed_at = ? WHERE seq = ?`),
      fail: db.prepare<[string, number, number, number]>(
        `UPDATE jobs SET state = 'failed', failure = ?, completed_at = ?, started_at = COALESCE(started_at, ?) WHERE seq = ?`,
      ),
      insertError: db.prepare<[number, number, string, string, string | null, string | null]>(
        `INSERT OR REPLACE INTO job_errors (job_seq, row_index, code, message, path, value) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      errors: db.prepare<[number, number, number], RowErrorSqlRow>(
        `SELECT row_index, code, message, path, value FROM job_errors
          WHERE job_seq = ? AND row_index >= ? ORDER BY row_index LIMIT ?`,
      ),
      list: db.prepare<[string, string | null, string | null, number, number], JobSqlRow>(
        `SELECT ${JOB_COLUMNS} FROM jobs WHERE workspace = ? AND (? IS NULL OR state = ?) AND seq > ?
          ORDER BY seq LIMIT ?`,
      ),
    };
  }

  create(input: {
    id: string;
    workspace: string;
    object: string;
    operation: BatchOperation;
    matchKey: string | null;
    records: unknown[];
    /** The request body's exact bytes, when the caller has them: stored instead of re-serializing. */
    body?: Buffer;
    now: number;
  }): JobRecord {
    const info = this.#statements.insert.run(
      input.id,
      input.workspace,
      input.object,
      input.operation,
      input.matchKey,
      input.records.length,
      input.now,
    );
    const seq = Number(info.lastInsertRowid);
    this.#statements.insertPayload.run(seq, input.body ?? Buffer.from(JSON.stringify({ records: input.records })));
    return this.bySeq(seq) as JobRecord;
  }

  get(workspace: string, object: string, id: string): JobRecord | undefined {
    const row = this.#statements.get.get(workspace, object, id);
    return row ? toJob(row) : undefined;
  }

  bySeq(seq: number): JobRecord | undefined {
    const row = this.#statements.bySeq.get(seq);
    return row ? toJob(row) : undefined;
  }

  /** A job left `processing` by a crash comes first, then queued jobs in the order accepted. */
  nextRunnable(): JobRecord | undefined {
    const row = this.#statements.nextRunnable.get();
    return row ? toJob(row) : undefined;
  }

  /** The records the job was sent, read back from the stored request body. */
  payload(seq: number): unknown[] | null {
    const row = this.#statements.payload.get(seq);
    if (!row) return null;
    const body = JSON.parse(row.body.toString("utf8")) as { records?: unknown };
    return Array.isArray(body.records) ? body.records : null;
  }

  countByState(): Record<JobState, number> {
    const counts: Record<JobState, number> = { queued: 0, processing: 0, completed: 0, failed: 0 };
    for (const row of this.#statements.countByState.all()) counts[row.state] = row.n;
    return counts;
  }

  markProcessing(seq: number, now: number): void {
    this.#statements.markProcessing.run(now, seq);
  }

  /** Records one chunk's outcome; run it in the chunk's transaction. Returns false if the job is gone (reset). */
  advance(seq: number, chunk: { processed: number; inserted: number; merged: number; errors: RowError[] }): boolean {
    const changed = this.#statements.advance.run(chunk.processed, chunk.inserted, chunk.merged, chunk.errors.length, seq).changes;
    if (changed === 0) return false;
    for (const error of chunk.errors) {
      this.#statements.insertError.run(
        seq,
        error.index,
        error.code,
        error.message,
        error.path,
        error.value === undefined ? null : JSON.stringify(error.value),
      );
    }
    return true;
  }

  complete(seq: number, now: number): void {
    this.#statements.complete.run(now, seq);
    this.#statements.dropPayload.run(seq);
  }

  fail(seq: number, failure: { code: string; message: string }, now: number): void {
    this.#statements.fail.run(JSON.stringify(failure), now, now, seq);
    this.#statements.dropPayload.run(seq);
  }

  /** Row errors in index order from `fromIndex`. */
  errors(seq: number, fromIndex: number, limit: number): RowError[] {
    return this.#statements.errors.all(seq, fromIndex, limit).map(toRowError);
  }

  list(input: { workspace: string; state?: JobState; afterSeq: number; limit: number }): JobRecord[] {
    const state = input.state ?? null;
    return this.#statements.list.all(input.workspace, state, state, input.afterSeq, input.limit).map(toJob);
  }
}
