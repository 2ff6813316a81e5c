import type { AuditRuleId, AuditVerdict, FaultStatus, JobState, OperationName } from "./vocabulary.js";

/**
 * The control plane's shapes (`/_emulator`): what the server keeps and answers, what the shipped
 * `ControlClient` returns and what the dashboard draws. Types only, declared once here; the
 * server's modules, `testing/` and `ui/` import them rather than writing them again (the
 * dashboard's bundle imports this file, so it names nothing of Node).
 */

export type { FaultStatus };

export interface FaultAction {
  status?: FaultStatus;
  /** Seconds, fractions allowed; on 429 it defaults to 1 when absent. */
  retryAfter?: number;
  delayMs?: number;
  jitterMs?: number;
  reset?: boolean;
  timeout?: { holdMs: number; then: 504 | "drop" };
  malformed?: boolean;
  afterCommit?: boolean;
}

export interface FaultMatch {
  operation?: OperationName;
  object?: string;
  /** Case-insensitive. */
  method?: string;
  /**
   * Glob on the request path including the `/public/v1` prefix: `*` is any run of characters
   * within one path segment, `**` anything including `/`, `?` one character other than `/`.
   */
  path?: string;
  /** Header name (case-insensitive) → exact value. */
  header?: Record<string, string>;
  workspace?: string;
  idempotencyKey?: string;
}

export interface FaultSchedule {
  /** Fire on the first N matches only. */
  times?: number;
  /** Skip the first N matches. */
  after?: number;
  /** Fire on every Nth match, counting matches after `after`. */
  every?: number;
  /** 0..1. */
  probability?: number;
  /** For probability: same seed → same sequence; default 1. */
  seed?: number;
  /** RFC 3339 time on the emulator clock from which the rule no longer fires (nor counts matches). */
  until?: string;
  /** Input only: `until` becomes the emulator time when the rule is added plus these seconds. */
  forSeconds?: number;
}

export interface FaultRule {
  id: string;
  /**
   * False while the rule is switched off: it is kept, in its place, but never fires, and its
   * counters and seeded RNG stand still, so switching it back on resumes its schedule where it was.
   */
  enabled: boolean;
  match: FaultMatch;
  action: FaultAction;
  schedule: FaultSchedule;
  /** Requests that matched. */
  matched: number;
  /** Times it fired. */
  hits: number;
  /** "api" | "scenario:<name>". */
  source: string;
}

export interface ClockState {
  now: string;
  frozen: boolean;
  offsetMs: number;
}

export interface JournalEntry {
  seq: number;
  /** ISO timestamp from the emulator clock when the request arrived. */
  at: string;
  /**
   * Real milliseconds (`performance.timeOrigin + performance.now()`: monotonic, never frozen or
   * moved by the emulator clock) when the request arrived; the retry audit judges waits on it.
   */
  wallMs: number;
  method: string;
  path: string;
  operation: string | null;
  object: string | null;
  workspace: string | null;
  idempotencyKey: string | null;
  correlationId: string;
  /** null = no response was sent (connection reset or dropped). */
  status: number | null;
  fault: string | null;
  replayed: boolean;
  durationMs: number;
  /**
   * The parsed JSON body when its raw size is at most 16 KB and it parses (within the depth
   * limit, as well-formed Unicode); `{ truncated: true, bytes, preview }` when it was larger;
   * `{ unparsed: true, bytes, preview }` when it does not parse; null when there was no body.
   * `bytes` is the body's full size, `preview` its text, at most 16 KB of it.
   */
  requestBody: unknown;
  /** The response body, capped and shaped like `requestBody`; null when nothing was sent. */
  responseBody: unknown;
  /**
   * The request's headers, lower-case name → value (repeated ones joined with ", "), without
   * `unjournaledHeaders`; `{}` when none were given.
   */
  requestHeaders: Record<string, string>;
  /** The headers sent with the response, likewise; null when no response was sent. */
  responseHeaders: Record<string, string> | null;
  /**
   * How many headers of each side were left out for the cap (`maxJournalHeaders`,
   * `maxJournalHeaderBytes`); null when none were. Credentials left out never count here.
   */
  headersDropped: { request: number; response: number } | null;
}

export interface JournalFilter {
  operation?: string;
  object?: string;
  status?: number;
  idempotencyKey?: string;
  workspace?: string;
  /** An ISO timestamp (entries at or after it) or a seq as a decimal string (entries after it). */
  since?: string;
}

export interface ScenarioSummary {
  name: string;
  description: string;
  file: string;
}

/** One field of an object, as GET /_emulator/objects describes it. */
export interface FieldInfo {
  name: string;
  type: string;
  format: string | null;
  required: boolean;
  identity: boolean;
}

/** An object definition, as GET /_emulator/objects describes it. */
export interface ObjectInfo {
  objectName: string;
  primaryKey: string;
  identityKeys: string[];
  requiredFields: string[];
  /** "record" | "merge" | "reject". */
  collisionPolicy: string;
  fields: FieldInfo[];
}

/** The `order` of GET /_emulator/records/:object: by when a row was first written. */
export type RowOrder = "oldest" | "newest";

/** A stored row, as GET /_emulator/records/:object and /:object/:rowId show it. */
export interface RowView {
  rowId: string;
  createdAt: string;
  updatedAt: string;
  fields: Record<string, unknown>;
}

/** A page of GET /_emulator/records/:object. */
export interface RowsPage {
  records: RowView[];
  nextCursor: string | null;
  /** Rows the filters match in all, not just this page's. */
  total: number;
}

/** One identity value a row holds, from GET /_emulator/records/:object/:rowId/identifiers. */
export interface Identifier {
  field: string;
  value: string | number;
  /** Whether a lookup by this value finds this row. */
  resolvesHere: boolean;
  /** Row ids holding the identifier, the most recent writer first. */
  holders: string[];
}

/** Two rows found to share an identity value, from GET /_emulator/identity/collisions. */
export interface Collision {
  id: number;
  object: string;
  field: string;
  value: unknown;
  rowId: string;
  otherRowId: string;
  /** The object's collision policy when it was found. */
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

/** A rejected row of a batch job; `index` (and the rest) null when the whole job failed. */
export interface JobError {
  index: number | null;
  code: string;
  message: string;
  path: string | null;
  value: unknown;
}

/** A batch job as GET /_emulator/jobs (and the public job status) describes it. */
export interface JobView {
  jobId: string;
  objectName: string;
  operation: string;
  state: JobState;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  metrics: JobMetrics;
  /** The first few row errors; `errorsPath` pages through all of them. */
  errors: JobError[];
  errorsPath: string;
}

/** `event: job` on GET /_emulator/events: a batch job changed state or moved on. */
export interface JobEvent {
  jobId: string;
  workspace: string;
  objectName: string;
  operation: string;
  state: JobState;
  metrics: JobMetrics;
}

/** One request as the retry audit sees it: a journal entry cut down to what the rules read. */
export interface AuditAttempt {
  seq: number;
  /** Emulator-clock time (may be frozen or moved by a test). */
  at: string;
  /** Real, monotonic milliseconds when the request arrived (the journal's `wallMs`): waits are judged on this. */
  wallMs: number;
  durationMs: number;
  method: string;
  path: string;
  operation: OperationName | null;
  status: number | null;
  idempotencyKey: string | null;
  fault: string | null;
  replayed: boolean;
}

/** The attempts of one logical write: one Idempotency-Key, or one body re-sent under new keys after a failure. */
export interface AuditOperation {
  operation: OperationName;
  object: string | null;
  /** The first attempt's key (null when it sent none). */
  idempotencyKey: string | null;
  /** True when a later attempt changed or dropped the key (grouped by identical body). */
  keyChanged: boolean;
  attempts: AuditAttempt[];
}

/** One broken rule instance, with the journal entries that broke it. */
export interface AuditFinding {
  message: string;
  attempts: AuditAttempt[];
}

export interface AuditRuleResult {
  id: AuditRuleId;
  /** One line: what the rule asks. */
  title: string;
  /** Where the guides say so (guide file and section). */
  source: string;
  verdict: AuditVerdict;
  /** How many operations (or polls, or responses) the rule judged; 0 means not exercised. */
  exercised: number;
  findings: AuditFinding[];
}

/** GET /_emulator/audit: the verdict per rule over one workspace's journal (optionally since a seq). */
export interface AuditReport {
  workspace: string;
  since: number | null;
  /** Journal entries of the workspace the audit read. */
  entries: number;
  /** The highest seq read, for the next `since`; null when none. */
  lastSeq: number | null;
  rules: AuditRuleResult[];
  operations: AuditOperation[];
  summary: { passed: number; failed: number; notExercised: number };
  /** The tolerances the rules applied, so a report explains itself. */
  tolerances: Record<string, number>;
}
