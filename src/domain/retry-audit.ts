import type { AuditFinding, AuditReport, AuditRuleResult, JournalEntry } from "./control-plane.js";
import {
  byArrival,
  clientErrorStatuses,
  endOf,
  failedRetryably,
  groupWrites,
  ms,
  presentOperation,
  toSent,
  type Logical,
  type Sent,
} from "./retry-audit-grouping.js";
import { auditRuleIds, type AuditRuleId } from "./vocabulary.js";

/**
 * The retry audit: one workspace's journal judged against the retry rules of the vendor's guides
 * (/work/shared/api-docs), each rule passed, failed with the entries that broke it as evidence,
 * or not exercised when nothing in the journal put it to the test. Pure: it is handed the entries.
 * Waits are judged on `wallMs`, real time, since a test may freeze or move the emulator clock.
 */

export const auditTolerances = {
  /** A timer (Python's time.sleep, setTimeout) may wake this much early, or the clocks disagree this much. */
  timerToleranceMs: 25,
  /** Shorter than this between a failure and the next attempt is a tight loop, not a wait. */
  minWaitMs: 10,
  /** The guides add `random.uniform(0, 1)` s to each backoff: a wait may be this much shorter than the one before. */
  jitterAllowanceMs: 1000,
  /** The guides' `max_attempts = 5`. */
  maxAttempts: 5,
  /** X-RateLimit-Remaining below this asks for voluntary backpressure. */
  lowRemaining: 10,
  /** The guide's `time.sleep(0.5)` after a low remaining count. */
  backpressureMs: 500,
} as const;

export interface AuditOptions {
  workspace: string;
  /** The seq the entries were read after; null when from the start. */
  since: number | null;
}

interface Judged {
  exercised: number;
  findings: AuditFinding[];
}

interface Facts {
  logicals: readonly Logical[];
  /** Every entry of the workspace, in arrival order. */
  all: readonly Sent[];
}

interface Rule {
  title: string;
  source: string;
  judge: (facts: Facts) => Judged;
}

const ERRORS_GUIDE = "error-handling-and-retries.txt";
const t = auditTolerances;

const finding = (message: string, evidence: readonly Sent[]): AuditFinding => ({ message, attempts: evidence.map((one) => one.attempt) });
const described = (logical: Logical): string =>
  `${logical.operation}${logical.object === null ? "" : ` ${logical.object}`} (first seq ${logical.sent[0]?.attempt.seq ?? "?"})`;
const keyText = (key: string | null): string => (key === null ? "no key" : `key ${JSON.stringify(key)}`);

/** Consecutive pairs of a chain of attempts. */
function pairs(chain: readonly Sent[]): [Sent, Sent][] {
  const out: [Sent, Sent][] = [];
  for (let i = 1; i < chain.length; i++) out.push([chain[i - 1] as Sent, chain[i] as Sent]);
  return out;
}

/**
 * Waits along a chain (retries of one write, or polls of one job): each at least `minWaitMs`,
 * none shorter than the last comparable wait by more than the jitter allowance. A wait the server
 * dictated (after Retry-After) or one whose start is unknown (no response) is judged but sets no
 * bar for the next: the client's own backoff may rightly be shorter than a long Retry-After.
 */
function judgeWaits(chain: readonly [Sent, Sent][], what: string): AuditFinding[] {
  const findings: AuditFinding[] = [];
  let bar: number | null = null;
  for (const [before, after] of chain) {
    const wait = after.attempt.wallMs - endOf(before);
    if (wait < t.minWaitMs) {
      findings.push(finding(`${what} came ${ms(wait)} after the previous one ended (at least ${t.minWaitMs} ms expected)`, [before, after]));
    } else if (bar !== null && wait < bar - t.jitterAllowanceMs) {
      findings.push(finding(`${what}: the wait shrank from ${ms(bar)} to ${ms(wait)} (more than the ${t.jitterAllowanceMs} ms jitter allowance)`, [before, after]));
    }
    if (before.attempt.status !== null && before.retryAfter === null) bar = wait;
  }
  return findings;
}

const retried = (logical: Logical): [Sent, Sent][] => pairs(logical.sent).filter(([before]) => failedRetryably(before));

const rules: Record<AuditRuleId, Rule> = {
  "idempotency-key-on-writes": {
    title: "Every write carries an Idempotency-Key",
    source: `${ERRORS_GUIDE} § Idempotency: the foundation of safe retries; real-time-record-writes.txt § Idempotency`,
    judge: ({ logicals }) => ({
      exercised: logicals.reduce((sum, logical) => sum + logical.sent.length, 0),
      findings: logicals.flatMap((logical) => {
        const keyless = logical.sent.filter((one) => one.attempt.idempotencyKey === null);
        return keyless.length === 0 ? [] : [finding(`${described(logical)}: ${keyless.length} of ${logical.sent.length} attempt(s) sent without an Idempotency-Key`, keyless)];
      }),
    }),
  },
  "same-key-on-retry": {
    title: "Every retry of a write reuses its Idempotency-Key",
    source: `${ERRORS_GUIDE} § Idempotency: the foundation of safe retries; real-time-record-writes.txt § Retry logic`,
    judge: ({ logicals }) => {
      const retriedOnes = logicals.filter((logical) => logical.sent.length > 1);
      return {
        exercised: retriedOnes.length,
        findings: retriedOnes
          .filter((logical) => logical.keyChanged)
          .map((logical) => {
            const keys = [...new Set(logical.sent.map((one) => keyText(one.attempt.idempotencyKey)))];
            return finding(`${described(logical)}: the same body was re-sent under ${keys.length} keys (${keys.join(", ")})`, logical.sent);
          }),
      };
    },
  },
  "no-retry-on-client-error": {
    title: "Nothing is retried after 400, 401, 403, 404, 413 or 422",
    source: `${ERRORS_GUIDE} § Error code reference ("Do not retry 4xx errors except 429 and 409")`,
    judge: ({ logicals }) => {
      let exercised = 0;
      const findings: AuditFinding[] = [];
      for (const logical of logicals) {
        const index = logical.sent.findIndex((one) => one.attempt.status !== null && clientErrorStatuses.has(one.attempt.status));
        if (index < 0) continue;
        exercised++;
        const failed = logical.sent[index] as Sent;
        const later = logical.sent.slice(index + 1);
        if (later.length > 0) findings.push(finding(`${described(logical)}: retried ${later.length} time(s) after a ${failed.attempt.status}`, [failed, ...later]));
      }
      return { exercised, findings };
    },
  },
  "honours-retry-after": {
    title: "After a 429 or 503 with Retry-After, the next attempt waits at least that long",
    source: `${ERRORS_GUIDE} § Rate limit handling`,
    judge: ({ logicals }) => {
      const judged = logicals.flatMap((logical) =>
        pairs(logical.sent).filter(([before]) => (before.attempt.status === 429 || before.attempt.status === 503) && before.retryAfter !== null),
      );
      return {
        exercised: judged.length,
        findings: judged.flatMap(([before, after]) => {
          const asked = (before.retryAfter ?? 0) * 1000;
          const waited = after.attempt.wallMs - endOf(before);
          return waited >= asked - t.timerToleranceMs
            ? []
            : [finding(`retried ${ms(waited)} after a ${before.attempt.status} that asked for Retry-After: ${before.retryAfter} (s)`, [before, after])];
        }),
      };
    },
  },
  "backs-off": {
    title: "Retries wait, and their waits do not shrink",
    source: `${ERRORS_GUIDE} § Retry strategy (exponential backoff with jitter)`,
    judge: ({ logicals }) => {
      const judged = logicals.filter((logical) => retried(logical).length > 0);
      return { exercised: judged.length, findings: judged.flatMap((logical) => judgeWaits(retried(logical), `a retry of ${described(logical)}`)) };
    },
  },
  "attempt-cap": {
    title: `No write makes more than ${t.maxAttempts} attempts`,
    source: `${ERRORS_GUIDE} § Retry strategy (max_attempts = 5)`,
    judge: ({ logicals }) => {
      const retriedOnes = logicals.filter((logical) => logical.sent.length > 1);
      return {
        exercised: retriedOnes.length,
        findings: retriedOnes
          .filter((logical) => logical.sent.length > t.maxAttempts)
          .map((logical) => finding(`${described(logical)}: ${logical.sent.length} attempts (at most ${t.maxAttempts})`, logical.sent)),
      };
    },
  },
  "polls-job-with-backoff": {
    title: "A batch job's status is polled with waits that do not shrink",
    source: "batch-record-writes.txt § Handling per-record errors (wait_for_batch_job)",
    judge: ({ all }) => {
      const byJob = new Map<string, Sent[]>();
      for (const one of all) {
        // The job's status itself: paging through its errors (same operation, `/errors`) is no poll.
        if (one.attempt.operation !== "job-status" || one.attempt.method !== "GET" || !/\/jobs\/[^/]+$/.test(one.attempt.path)) continue;
        const polls = byJob.get(one.attempt.path) ?? [];
        polls.push(one);
        byJob.set(one.attempt.path, polls);
      }
      // A read after the job was seen finished is no longer waiting for it.
      const polled = [...byJob.values()].map((polls) => pairs(polls).filter(([before]) => before.jobFinished !== true)).filter((chain) => chain.length > 0);
      return {
        exercised: polled.length,
        findings: polled.flatMap((chain) => judgeWaits(chain, `a poll of ${chain[0]?.[0].attempt.path ?? "a job"}`)),
      };
    },
  },
  "backpressure-when-low": {
    title: `After X-RateLimit-Remaining below ${t.lowRemaining}, the next request waits ${t.backpressureMs} ms`,
    source: `${ERRORS_GUIDE} § Rate limit handling (Voluntary backpressure)`,
    judge: ({ all }) => {
      let exercised = 0;
      const findings: AuditFinding[] = [];
      all.forEach((low, index) => {
        if (low.remaining === null || low.remaining >= t.lowRemaining) return;
        const end = endOf(low);
        // The first request sent after this response arrived: one already in flight could not react to it.
        const next = all.slice(index + 1).find((one) => one.attempt.wallMs >= end);
        if (next === undefined) return;
        exercised++;
        const gap = next.attempt.wallMs - end;
        if (gap < t.backpressureMs - t.timerToleranceMs) {
          findings.push(finding(`the next request came ${ms(gap)} after a response with X-RateLimit-Remaining: ${low.remaining}`, [low, next]));
        }
      });
      return { exercised, findings };
    },
  },
  "lost-ack-replayed": {
    title: "A write whose response never arrived is replayed under the same key",
    source: `${ERRORS_GUIDE} § Idempotency: the foundation of safe retries`,
    judge: ({ logicals }) => {
      let exercised = 0;
      const findings: AuditFinding[] = [];
      for (const logical of logicals) {
        logical.sent.forEach((lost, index) => {
          if (lost.attempt.status !== null) return;
          exercised++;
          const key = lost.attempt.idempotencyKey;
          const later = logical.sent.slice(index + 1);
          if (later.length === 0) {
            findings.push(finding(`${described(logical)}: no response to seq ${lost.attempt.seq}, and it was never re-sent`, [lost]));
          } else if (key === null || !later.some((one) => one.attempt.idempotencyKey === key)) {
            findings.push(finding(`${described(logical)}: no response to seq ${lost.attempt.seq} (${keyText(key)}), re-sent under ${[...new Set(later.map((one) => keyText(one.attempt.idempotencyKey)))].join(", ")}`, [lost, ...later]));
          }
        });
      }
      return { exercised, findings };
    },
  },
};

/** The audit of one workspace's journal entries (seq order, as the journal answers them). */
export function auditJournal(entries: readonly JournalEntry[], options: AuditOptions): AuditReport {
  const all = entries.map(toSent).sort(byArrival);
  const logicals = groupWrites(all);
  const facts: Facts = { logicals, all };
  const results: AuditRuleResult[] = auditRuleIds.map((id) => {
    const rule = rules[id];
    const { exercised, findings } = rule.judge(facts);
    const verdict = exercised === 0 ? "not-exercised" : findings.length > 0 ? "failed" : "passed";
    return { id, title: rule.title, source: rule.source, verdict, exercised, findings };
  });
  const count = (verdict: AuditRuleResult["verdict"]): number => results.filter((result) => result.verdict === verdict).length;
  return {
    workspace: options.workspace,
    since: options.since,
    entries: entries.length,
    lastSeq: entries.reduce<number | null>((max, entry) => (max === null || entry.seq > max ? entry.seq : max), null),
    rules: results,
    operations: logicals.map(presentOperation),
    summary: { passed: count("passed"), failed: count("failed"), notExercised: count("not-exercised") },
    tolerances: { ...auditTolerances },
  };
}
