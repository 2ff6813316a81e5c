/**
 * The shapes of the Records API as its guides document them. The client is meant to be copied
 * or imported into applications that never see the emulator, so these types are written from the
 * public contract, not imported from the server; the Pact contract keeps the two in step.
 */

export type JsonRecord = Record<string, unknown>;

export type JobState = "queued" | "processing" | "completed" | "failed";
export type BatchOperation = "append-batch" | "upsert-batch";

/** `data` of a 200 from `POST /records/{object}/append` or `/upsert`. */
export interface WriteAck {
  operation: "append" | "upsert";
  objectName: string;
  accepted: boolean;
  acceptedAt: string;
  acceptedRecords: number;
  matchKey?: string;
}

/** `data` of a 202 from `POST /records/{object}/append-batch` or `/upsert-batch`. */
export interface BatchAck {
  operation: BatchOperation;
  objectName: string;
  jobId: string;
  state: JobState;
  acceptedRecords: number;
  statusPath: string;
  matchKey?: string;
}

export interface JobMetrics {
  totalRows: number;
  processedRows: number;
  insertedRows: number;
  mergedRows: number;
  invalidRows: number;
}

/** One rejected row of a batch job; `index` is null when the whole job failed. */
export interface RowError {
  index: number | null;
  code: string;
  message: string;
  path: string | null;
  value: unknown;
}

export interface Job {
  jobId: string;
  objectName: string;
  operation: BatchOperation;
  state: JobState;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  metrics: JobMetrics;
  /** The first few row errors; page through all of them with `jobErrors()`. */
  errors: RowError[];
  errorsPath: string;
}

export interface ObjectField {
  name: string;
  type: string;
  format?: string | null;
  required: boolean;
  identity: boolean;
}

export interface ObjectMetadata {
  objectName: string;
  primaryKey: string;
  identityKeys: string[];
  requiredFields: string[];
  fields: ObjectField[];
}

/** What a write resolved to, with what a log line or a support ticket needs. */
export interface WriteResult<T> {
  data: T;
  status: number;
  /** The `x-correlation-id` of the response that succeeded. */
  correlationId: string | null;
  /** The key sent on every attempt of this call. */
  idempotencyKey: string;
  attempts: number;
  /** True when the API answered from its idempotency cache (`Idempotent-Replayed: true`). */
  replayed: boolean;
}
