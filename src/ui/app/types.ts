/** The control plane's answers, as the dashboard reads them (see the README's Control plane table). */

export interface JournalEntry {
  seq: number;
  at: string;
  method: string;
  path: string;
  operation: string | null;
  object: string | null;
  workspace: string | null;
  idempotencyKey: string | null;
  correlationId: string;
  status: number | null;
  fault: string | null;
  replayed: boolean;
  durationMs: number;
  requestBody: unknown;
  responseBody: unknown;
  /*
   * The headers are optional here (the emulator always sends them): an entry made without them,
   * as the grouping tests make theirs, is drawn as one with none.
   */
  /** Lower-case name → value; never Authorization, Cookie or Proxy-Authorization. */
  requestHeaders?: Record<string, string>;
  /** null when no response was sent. */
  responseHeaders?: Record<string, string> | null;
  /** Headers of each side left out for the journal's cap; null when none were. */
  headersDropped?: { request: number; response: number } | null;
}

export interface FieldInfo {
  name: string;
  type: string;
  format: string | null;
  required: boolean;
  identity: boolean;
}

export interface ObjectInfo {
  objectName: string;
  primaryKey: string;
  identityKeys: string[];
  requiredFields: string[];
  collisionPolicy: string;
  fields: FieldInfo[];
}

/** A page of GET /_emulator/records/:object. */
export interface RowsPage {
  records: RowView[];
  nextCursor: string | null;
  /** Rows the filters match in all, not just this page's. */
  total: number;
}

export type RowOrder = "newest" | "oldest";

export interface RowView {
  rowId: string;
  createdAt: string;
  updatedAt: string;
  fields: Record<string, unknown>;
}

export interface Identifier {
  field: string;
  value: string | number;
  resolvesHere: boolean;
  /** Row ids holding the identifier, the most recent writer first. */
  holders: string[];
}

export interface Collision {
  id: number;
  object: string;
  field: string;
  value: unknown;
  rowId: string;
  otherRowId: string;
  policy: string;
  resolution: string;
  detectedAt: string;
}

export interface JobMetrics {
  totalRows: number;
  processedRows: number;
  insertedRows: number;
  mergedRows: number;
  invalidRows: number;
}

export type JobState = "queued" | "processing" | "completed" | "failed";

export interface JobError {
  index: number | null;
  code: string;
  message: string;
  path: string | null;
  value: unknown;
}

export interface JobView {
  jobId: string;
  objectName: string;
  operation: string;
  state: JobState;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  metrics: JobMetrics;
  errors: JobError[];
  errorsPath: string;
}

/** `event: job` on the event stream. */
export interface JobEvent {
  jobId: string;
  workspace: string;
  objectName: string;
  operation: string;
  state: JobState;
  metrics: JobMetrics;
}

export interface FaultRule {
  id: string;
  /** False while switched off: kept, but it neither fires nor counts. */
  enabled: boolean;
  match: Record<string, unknown>;
  action: Record<string, unknown>;
  schedule: Record<string, unknown> & { until?: string };
  matched: number;
  hits: number;
  source: string;
}

export interface ClockState {
  now: string;
  frozen: boolean;
}

export interface ScenarioSummary {
  name: string;
  description: string;
  file: string;
}
