import { toSent } from "../domain/retry-audit-grouping.js";
import type { AuditAttempt, AuditFinding, AuditReport, AuditRuleResult, JournalEntry } from "../domain/control-plane.js";
import { ControlPlaneError, type ControlClient } from "../testing/control-client.js";

/** A verdict of the run's own: an audit rule's shape, with an id outside the audit's vocabulary. */
export interface CheckResult extends Omit<AuditRuleResult, "id"> {
  id: string;
}

export const dataCheckIds = ["data:no-acknowledged-write-lost", "data:no-write-stored-twice"] as const;

const SINGLE_WRITES = new Set(["append", "upsert"]);
const BATCH_WRITES = new Set(["append-batch", "upsert-batch"]);
const MAX_LISTED_JOBS = 1000;

const succeeded = (status: number | null): boolean => status !== null && status >= 200 && status < 300;

/** The audit's view of one journal entry, for a finding's evidence. */
function attemptOf(entry: JournalEntry): AuditAttempt {
  return toSent(entry).attempt;
}

function verdictOf(exercised: number, findings: AuditFinding[]): CheckResult["verdict"] {
  if (findings.length > 0) return "failed";
  return exercised === 0 ? "not-exercised" : "passed";
}

function jobIdOf(entry: JournalEntry): string | null {
  const body = entry.responseBody;
  if (typeof body !== "object" || body === null) return null;
  const data = (body as { data?: unknown }).data;
  if (typeof data !== "object" || data === null) return null;
  const jobId = (data as { jobId?: unknown }).jobId;
  return typeof jobId === "string" ? jobId : null;
}

/**
 * Every write the emulator acknowledged (2xx) is there: the row a single write named in
 * X-Emulator-Record-Id, the job a batch write answered with (and that job did not fail).
 */
export async function checkNoAcknowledgedWriteLost(options: {
  control: ControlClient;
  workspace: string;
  entries: readonly JournalEntry[];
}): Promise<CheckResult> {
  const { control, workspace, entries } = options;
  const findings: AuditFinding[] = [];
  let exercised = 0;
  const seenRows = new Set<string>();
  const acknowledgedBatches = entries.filter((entry) => BATCH_WRITES.has(entry.operation ?? "") && succeeded(entry.status));
  const jobs =
    acknowledgedBatches.length === 0 ? [] : await control.jobs.list({ workspace, limit: MAX_LISTED_JOBS });
  const jobsById = new Map(jobs.map((job) => [String(job["jobId"]), job]));
  for (const entry of entries) {
    if (!succeeded(entry.status)) continue;
    if (SINGLE_WRITES.has(entry.operation ?? "") && entry.object !== null) {
      const rowId = entry.responseHeaders?.["x-emulator-record-id"];
      if (rowId === undefined || seenRows.has(rowId)) continue;
      seenRows.add(rowId);
      exercised += 1;
      try {
        await control.records.get(entry.object, rowId, workspace);
      } catch (error) {
        if (!(error instanceof ControlPlaneError) || error.status !== 404) throw error;
        findings.push({ message: `${entry.operation} #${entry.seq} was answered ${entry.status} with row ${rowId}, which is not stored`, attempts: [attemptOf(entry)] });
      }
    } else if (BATCH_WRITES.has(entry.operation ?? "")) {
      const jobId = jobIdOf(entry);
      if (jobId === null) continue;
      exercised += 1;
      const job = jobsById.get(jobId);
      if (job === undefined) {
        findings.push({ message: `${entry.operation} #${entry.seq} was accepted as job ${jobId}, which the emulator does not have`, attempts: [attemptOf(entry)] });
      } else if (job["state"] === "failed") {
        findings.push({ message: `${entry.operation} #${entry.seq} was accepted as job ${jobId}, which failed`, attempts: [attemptOf(entry)] });
      }
    }
  }
  return {
    id: "data:no-acknowledged-write-lost",
    title: "Every write answered 2xx is stored: the row its X-Emulator-Record-Id names, the batch job it was accepted as",
    source: "cdp-emulator run",
    verdict: verdictOf(exercised, findings),
    exercised,
    findings,
  };
}

/**
 * How many times one attempt stored the logical write anew: a non-replayed 2xx append (or upsert
 * that inserted, or batch accepted as a job), or an attempt whose fault struck after the commit
 * (the row exists though the client saw a failure). A merge into an existing row stores nothing new.
 */
function creations(entry: JournalEntry): number {
  const afterCommit = entry.fault?.includes("after-commit") === true;
  const operation = entry.operation ?? "";
  if (operation === "upsert" || operation === "upsert-batch") {
    // An upsert writes one row per identity however often it runs: only a fresh insert counts.
    return succeeded(entry.status) && !entry.replayed && entry.responseHeaders?.["x-emulator-upsert-result"] === "inserted" ? 1 : 0;
  }
  if (afterCommit) return 1;
  return succeeded(entry.status) && !entry.replayed ? 1 : 0;
}

/**
 * No logical write (the audit's operations: one Idempotency-Key, or one body re-sent under new
 * keys) stored more than once.
 */
export function checkNoWriteStoredTwice(options: { audit: AuditReport; entries: readonly JournalEntry[] }): CheckResult {
  const bySeq = new Map(options.entries.map((entry) => [entry.seq, entry]));
  const findings: AuditFinding[] = [];
  let exercised = 0;
  for (const operation of options.audit.operations) {
    if (!SINGLE_WRITES.has(operation.operation) && !BATCH_WRITES.has(operation.operation)) continue;
    exercised += 1;
    const storing = operation.attempts.filter((attempt) => {
      const entry = bySeq.get(attempt.seq);
      return entry !== undefined && creations(entry) > 0;
    });
    if (storing.length > 1) {
      const key = operation.idempotencyKey === null ? "without an Idempotency-Key" : `with Idempotency-Key ${operation.idempotencyKey}`;
      findings.push({
        message: `one ${operation.operation} of ${operation.object ?? "?"} ${key} was stored ${storing.length} times (attempts #${storing.map((attempt) => attempt.seq).join(", #")})`,
        attempts: storing,
      });
    }
  }
  return {
    id: "data:no-write-stored-twice",
    title: "No logical write is stored twice: at most one of its attempts creates a row",
    source: "cdp-emulator run",
    verdict: verdictOf(exercised, findings),
    exercised,
    findings,
  };
}
