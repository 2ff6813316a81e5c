/**
 * The words every layer shares: which operations the public API has, which scopes a token can
 * hold, what a job's state can be, and what a token or workspace name may look like. They live
 * here once so the server, the control plane, `testing/` and the dashboard cannot drift apart
 * (the dashboard imports this file too, so it stays free of Node and of everything else).
 */

export const operationNames = ["append", "upsert", "append-batch", "upsert-batch", "job-status", "metadata"] as const;
export type OperationName = (typeof operationNames)[number];

export const allScopes = ["records:write", "records:read", "metadata:read"] as const;
export type Scope = (typeof allScopes)[number];

/** The statuses a fault can answer with: the retryable failures the vendor's guides name. */
export const faultStatuses = [409, 429, 500, 502, 503, 504] as const;
export type FaultStatus = (typeof faultStatuses)[number];

export const jobStates = ["queued", "processing", "completed", "failed"] as const;
export type JobState = (typeof jobStates)[number];

/** Seed data and exports: one JSON value per line. */
export const NDJSON_CONTENT_TYPE = "application/x-ndjson";

/** Batch write operations: the ones that become jobs. */
export const batchOperations = ["append-batch", "upsert-batch"] as const;
export type BatchOperation = (typeof batchOperations)[number];

/** Bearer tokens: RFC 6750's b64token. */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~+/-]+=*$/;
/** Workspace names: safe in a URL, a file name and a log line without quoting. */
export const WORKSPACE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The retry audit's rules (GET /_emulator/audit), each from the vendor's guides; an id never
 * changes once published, since CI reports name their test cases by it.
 */
export const auditRuleIds = [
  "idempotency-key-on-writes",
  "same-key-on-retry",
  "no-retry-on-client-error",
  "honours-retry-after",
  "backs-off",
  "attempt-cap",
  "polls-job-with-backoff",
  "backpressure-when-low",
  "lost-ack-replayed",
] as const;
export type AuditRuleId = (typeof auditRuleIds)[number];

export const auditVerdicts = ["passed", "failed", "not-exercised"] as const;
export type AuditVerdict = (typeof auditVerdicts)[number];
