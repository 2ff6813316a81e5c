import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AuditReport, JournalEntry } from "../../src/domain/control-plane.js";
import { auditToJunit, escapeXml } from "../../src/domain/junit.js";
import { auditJournal, auditTolerances } from "../../src/domain/retry-audit.js";
import { auditRuleIds, type AuditRuleId, type AuditVerdict } from "../../src/domain/vocabulary.js";

/** What a hand-built entry varies; the rest is a plain successful upsert. */
interface Sketch {
  seq: number;
  /** Real ms when it arrived. */
  t: number;
  status?: number | null;
  key?: string | null;
  durationMs?: number;
  body?: unknown;
  retryAfter?: string;
  remaining?: number;
  operation?: string;
  method?: string;
  path?: string;
  /** A job status answer's state. */
  state?: string;
}

function entry(sketch: Sketch): JournalEntry {
  const status = sketch.status === undefined ? 200 : sketch.status;
  const responseHeaders: Record<string, string> = {};
  if (sketch.retryAfter !== undefined) responseHeaders["retry-after"] = sketch.retryAfter;
  if (sketch.remaining !== undefined) responseHeaders["x-ratelimit-remaining"] = String(sketch.remaining);
  const operation = sketch.operation ?? "upsert";
  return {
    seq: sketch.seq,
    at: "2026-04-21T15:30:00.000Z",
    wallMs: 1_000_000 + sketch.t,
    method: sketch.method ?? "POST",
    path: sketch.path ?? "/public/v1/records/profiles/upsert",
    operation,
    object: "profiles",
    workspace: "ws",
    idempotencyKey: sketch.key === undefined ? "key-a" : sketch.key,
    correlationId: `c${sketch.seq}`,
    status,
    fault: null,
    replayed: false,
    durationMs: sketch.durationMs ?? 5,
    requestBody: operation === "job-status" ? null : (sketch.body ?? { record: { email: "a@example.com" }, matchKey: "email" }),
    responseBody: sketch.state === undefined ? null : { success: true, data: { state: sketch.state } },
    requestHeaders: {},
    responseHeaders: status === null ? null : responseHeaders,
    headersDropped: null,
  };
}

const audit = (sketches: Sketch[]): AuditReport => auditJournal(sketches.map(entry), { workspace: "ws", since: null });
const rule = (report: AuditReport, id: AuditRuleId) => {
  const found = report.rules.find((result) => result.id === id);
  if (!found) throw new Error(`no rule ${id}`);
  return found;
};
const poll = (seq: number, t: number): Sketch => ({ seq, t, operation: "job-status", method: "GET", path: "/public/v1/records/profiles/jobs/rjob_1", key: null, state: "processing" });
const other = { record: { email: "b@example.com" }, matchKey: "email" };

interface Case {
  rule: AuditRuleId;
  name: string;
  sketches: Sketch[];
  verdict: AuditVerdict;
  /** The evidence seqs of each finding, when failed. */
  evidence?: number[][];
}

const cases: Case[] = [
  { rule: "idempotency-key-on-writes", name: "a write with a key", sketches: [{ seq: 1, t: 0 }], verdict: "passed" },
  { rule: "idempotency-key-on-writes", name: "a write without a key", sketches: [{ seq: 1, t: 0 }, { seq: 2, t: 50, key: null, body: other }], verdict: "failed", evidence: [[2]] },
  { rule: "idempotency-key-on-writes", name: "only reads", sketches: [poll(1, 0)], verdict: "not-exercised" },

  { rule: "same-key-on-retry", name: "a 503 retried under the same key", sketches: [{ seq: 1, t: 0, status: 503 }, { seq: 2, t: 1000 }], verdict: "passed" },
  { rule: "same-key-on-retry", name: "a 503 retried under a new key", sketches: [{ seq: 1, t: 0, status: 503 }, { seq: 2, t: 1000, key: "key-b" }], verdict: "failed", evidence: [[1, 2]] },
  { rule: "same-key-on-retry", name: "a lost response re-sent without a key", sketches: [{ seq: 1, t: 0, status: null }, { seq: 2, t: 1000, key: null }], verdict: "failed", evidence: [[1, 2]] },
  { rule: "same-key-on-retry", name: "a success then the same body under a new key (a new write)", sketches: [{ seq: 1, t: 0 }, { seq: 2, t: 1000, key: "key-b" }], verdict: "not-exercised" },

  { rule: "no-retry-on-client-error", name: "a 422 given up on", sketches: [{ seq: 1, t: 0, status: 422 }], verdict: "passed" },
  { rule: "no-retry-on-client-error", name: "a 400 retried", sketches: [{ seq: 1, t: 0, status: 400 }, { seq: 2, t: 1000, status: 400 }], verdict: "failed", evidence: [[1, 2]] },
  { rule: "no-retry-on-client-error", name: "only successes and 5xx", sketches: [{ seq: 1, t: 0, status: 500 }, { seq: 2, t: 1000 }], verdict: "not-exercised" },

  { rule: "honours-retry-after", name: "a 429 waited out", sketches: [{ seq: 1, t: 0, status: 429, retryAfter: "1" }, { seq: 2, t: 1005 }], verdict: "passed" },
  { rule: "honours-retry-after", name: "a 503 waited out within the timer tolerance", sketches: [{ seq: 1, t: 0, status: 503, retryAfter: "0.5" }, { seq: 2, t: 5 + 500 - 20 }], verdict: "passed" },
  { rule: "honours-retry-after", name: "a 429 retried too soon", sketches: [{ seq: 1, t: 0, status: 429, retryAfter: "2.5" }, { seq: 2, t: 1000 }], verdict: "failed", evidence: [[1, 2]] },
  { rule: "honours-retry-after", name: "a 503 without Retry-After", sketches: [{ seq: 1, t: 0, status: 503 }, { seq: 2, t: 1000 }], verdict: "not-exercised" },

  { rule: "backs-off", name: "the guide's growing waits", sketches: [{ seq: 1, t: 0, status: 503 }, { seq: 2, t: 1_500, status: 503 }, { seq: 3, t: 4_000, status: 500 }, { seq: 4, t: 8_300 }], verdict: "passed" },
  { rule: "backs-off", name: "a constant wait", sketches: [{ seq: 1, t: 0, status: 503 }, { seq: 2, t: 505, status: 503 }, { seq: 3, t: 1010, status: 503 }, { seq: 4, t: 1515 }], verdict: "passed" },
  { rule: "backs-off", name: "an immediate retry", sketches: [{ seq: 1, t: 0, status: 503 }, { seq: 2, t: 7 }], verdict: "failed", evidence: [[1, 2]] },
  { rule: "backs-off", name: "a wait that shrinks by more than the jitter", sketches: [{ seq: 1, t: 0, status: 503 }, { seq: 2, t: 4_005, status: 503 }, { seq: 3, t: 5_010 }], verdict: "failed", evidence: [[2, 3]] },
  { rule: "backs-off", name: "a long Retry-After then the client's own shorter backoff", sketches: [{ seq: 1, t: 0, status: 429, retryAfter: "10" }, { seq: 2, t: 10_005, status: 503 }, { seq: 3, t: 12_010 }], verdict: "passed" },
  { rule: "backs-off", name: "writes that never failed", sketches: [{ seq: 1, t: 0 }, { seq: 2, t: 1, key: "key-b", body: other }], verdict: "not-exercised" },

  { rule: "attempt-cap", name: "five attempts", sketches: [0, 1, 2, 3, 4].map((i) => ({ seq: i + 1, t: i * 1000, status: i < 4 ? 503 : 200 })), verdict: "passed" },
  { rule: "attempt-cap", name: "six attempts", sketches: [0, 1, 2, 3, 4, 5].map((i) => ({ seq: i + 1, t: i * 1000, status: 503 })), verdict: "failed", evidence: [[1, 2, 3, 4, 5, 6]] },
  { rule: "attempt-cap", name: "one attempt each", sketches: [{ seq: 1, t: 0 }], verdict: "not-exercised" },

  { rule: "polls-job-with-backoff", name: "the guide's 2 s growing by 1.5", sketches: [poll(1, 0), poll(2, 2_005), poll(3, 5_010), poll(4, 9_515)], verdict: "passed" },
  { rule: "polls-job-with-backoff", name: "a tight polling loop", sketches: [poll(1, 0), poll(2, 6), poll(3, 12)], verdict: "failed", evidence: [[1, 2], [2, 3]] },
  { rule: "polls-job-with-backoff", name: "one poll", sketches: [poll(1, 0)], verdict: "not-exercised" },
  { rule: "polls-job-with-backoff", name: "a read right after the job was seen completed", sketches: [{ ...poll(1, 0), state: "completed" }, poll(2, 6)], verdict: "not-exercised" },
  { rule: "polls-job-with-backoff", name: "paging through a job's errors", sketches: [0, 6, 12].map((t, i) => ({ ...poll(i + 1, t), path: "/public/v1/records/profiles/jobs/rjob_1/errors" })), verdict: "not-exercised" },

  { rule: "backpressure-when-low", name: "a pause after a low remaining count", sketches: [{ seq: 1, t: 0, remaining: 5 }, { seq: 2, t: 505, key: "key-b", body: other }], verdict: "passed" },
  { rule: "backpressure-when-low", name: "no pause after a low remaining count", sketches: [{ seq: 1, t: 0, remaining: 9 }, { seq: 2, t: 100, key: "key-b", body: other }], verdict: "failed", evidence: [[1, 2]] },
  { rule: "backpressure-when-low", name: "plenty remaining", sketches: [{ seq: 1, t: 0, remaining: 10 }, { seq: 2, t: 6, key: "key-b", body: other }], verdict: "not-exercised" },
  { rule: "backpressure-when-low", name: "a low count as the last response", sketches: [{ seq: 1, t: 0, remaining: 0 }], verdict: "not-exercised" },

  { rule: "lost-ack-replayed", name: "a lost response replayed under its key", sketches: [{ seq: 1, t: 0, status: null }, { seq: 2, t: 1000 }], verdict: "passed" },
  { rule: "lost-ack-replayed", name: "a lost response re-sent under a new key", sketches: [{ seq: 1, t: 0, status: null }, { seq: 2, t: 1000, key: "key-b" }], verdict: "failed", evidence: [[1, 2]] },
  { rule: "lost-ack-replayed", name: "a lost response abandoned", sketches: [{ seq: 1, t: 0, status: null }], verdict: "failed", evidence: [[1]] },
  { rule: "lost-ack-replayed", name: "every response arrived", sketches: [{ seq: 1, t: 0 }], verdict: "not-exercised" },
];

describe("the retry audit's rules", () => {
  it.each(cases.map((c) => [c.rule, c.name, c] as const))("%s: %s", (_id, _name, c) => {
    const result = rule(audit(c.sketches), c.rule);
    expect(result.verdict).toBe(c.verdict);
    expect(result.exercised > 0).toBe(c.verdict !== "not-exercised");
    if (c.evidence) expect(result.findings.map((found) => found.attempts.map((attempt) => attempt.seq))).toEqual(c.evidence);
    else expect(result.findings).toEqual([]);
  });

  it("covers every rule as passed, failed and not exercised", () => {
    for (const id of auditRuleIds) {
      expect(new Set(cases.filter((c) => c.rule === id).map((c) => c.verdict)), id).toEqual(new Set(["passed", "failed", "not-exercised"]));
    }
  });

  it("groups a body re-sent under a new key after a failure into one operation, marked keyChanged", () => {
    const report = audit([{ seq: 1, t: 0, status: 503 }, { seq: 2, t: 1000, key: "key-b" }, { seq: 3, t: 3000, key: "key-c", body: other }]);
    expect(report.operations.map((op) => ({ key: op.idempotencyKey, keyChanged: op.keyChanged, seqs: op.attempts.map((a) => a.seq) }))).toEqual([
      { key: "key-a", keyChanged: true, seqs: [1, 2] },
      { key: "key-c", keyChanged: false, seqs: [3] },
    ]);
  });

  it("reads a body re-sent with its keys in another order as the same write", () => {
    const report = audit([
      { seq: 1, t: 0, status: 502, body: { matchKey: "email", record: { email: "a@example.com", city: "Oslo" } } },
      { seq: 2, t: 1000, key: "key-b", body: { record: { city: "Oslo", email: "a@example.com" }, matchKey: "email" } },
    ]);
    expect(report.operations).toHaveLength(1);
    expect(rule(report, "same-key-on-retry").verdict).toBe("failed");
  });

  it("measures the wait after a lost response from that attempt's start: the emulator's hold is not the client's", () => {
    // The emulator held the request 5 s before dropping it; the client gave up and retried after 2 s.
    const report = audit([{ seq: 1, t: 0, status: null, durationMs: 5_000 }, { seq: 2, t: 2_000 }]);
    expect(rule(report, "backs-off").verdict).toBe("passed");
    expect(rule(report, "lost-ack-replayed").verdict).toBe("passed");
  });

  it("judges waits on real time, whatever the emulator clock said", () => {
    // Both attempts stamped with the same frozen emulator time, a second apart in real time.
    const report = audit([{ seq: 1, t: 0, status: 429, retryAfter: "1" }, { seq: 2, t: 1_010 }]);
    expect(rule(report, "honours-retry-after").verdict).toBe("passed");
  });

  it("reports its tolerances, the entries it read, the last seq and a summary", () => {
    const report = auditJournal([entry({ seq: 7, t: 0 }), entry({ seq: 9, t: 10, key: null, body: other })], { workspace: "ws", since: 6 });
    expect(report).toMatchObject({ workspace: "ws", since: 6, entries: 2, lastSeq: 9, tolerances: { ...auditTolerances } });
    expect(report.summary).toEqual({ passed: 0, failed: 1, notExercised: 8 });
    expect(auditJournal([], { workspace: "ws", since: null })).toMatchObject({ entries: 0, lastSeq: null, summary: { passed: 0, failed: 0, notExercised: 9 } });
  });
});

describe("the retry audit's properties", () => {
  it("never fails distinct single writes sent with keys and answered 2xx", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom(200, 201, 202)), { maxLength: 30 }), (writes) => {
        const sketches = writes.map(([t, status], i) => ({ seq: i + 1, t, status, key: `k${i}`, body: { record: { email: `${i}@example.com` } } }));
        expect(audit(sketches).summary.failed).toBe(0);
      }),
    );
  });

  it("always passes the guide's own with_retry (growing backoff with up to 1 s of jitter, Retry-After respected)", () => {
    const failure = fc.record({ status: fc.constantFrom(409, 429, 500, 502, 503, 504), retryAfter: fc.option(fc.double({ min: 0, max: 30, noNaN: true }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(fc.tuple(failure, fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 300 })), { minLength: 1, maxLength: 4 }), (failures) => {
        const sketches: Sketch[] = [];
        let t = 0;
        failures.forEach(([fail, jitter, durationMs], attempt) => {
          sketches.push({ seq: attempt + 1, t, status: fail.status, durationMs, ...(fail.retryAfter === undefined ? {} : { retryAfter: String(fail.retryAfter) }) });
          const backoff = Math.min(60, 1 * 2 ** attempt + jitter);
          t += durationMs + Math.max(fail.retryAfter ?? 0, backoff) * 1000;
        });
        sketches.push({ seq: failures.length + 1, t });
        const report = audit(sketches);
        expect(report.rules.filter((result) => result.verdict === "failed")).toEqual([]);
      }),
    );
  });

  it("gives evidence only from its input, and a verdict that matches its counts", () => {
    const sketch = fc.record({
      t: fc.integer({ min: 0, max: 20_000 }),
      status: fc.constantFrom(200, 400, 409, 422, 429, 503, null),
      key: fc.constantFrom("a", "b", null),
      body: fc.constantFrom({ n: 1 }, { n: 2 }),
      retryAfter: fc.constantFrom(undefined, "0.1", "2"),
      remaining: fc.constantFrom(undefined, 3, 50),
      poll: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(sketch, { maxLength: 25 }), (drawn) => {
        const sketches: Sketch[] = drawn.map(({ poll: isPoll, retryAfter, remaining, ...rest }, i) => ({
          ...(isPoll ? poll(i + 1, rest.t) : { ...rest, seq: i + 1 }),
          ...(retryAfter === undefined ? {} : { retryAfter }),
          ...(remaining === undefined ? {} : { remaining }),
        }));
        const report = audit(sketches);
        const seqs = new Set(sketches.map((s) => s.seq));
        for (const result of report.rules) {
          for (const found of result.findings) for (const attempt of found.attempts) expect(seqs).toContain(attempt.seq);
          expect(result.verdict).toBe(result.exercised === 0 ? "not-exercised" : result.findings.length > 0 ? "failed" : "passed");
        }
        expect(report.summary.passed + report.summary.failed + report.summary.notExercised).toBe(auditRuleIds.length);
      }),
    );
  });
});

describe("the audit as JUnit XML", () => {
  it("escapes markup and drops characters XML cannot hold", () => {
    expect(escapeXml(`<a href="x">'&'</a>\u0001`)).toBe("&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
    expect(escapeXml("line 1\nline 2", { attribute: true })).toBe("line 1&#10;line 2");
    expect(escapeXml("lone \uD800 surrogate")).toBe("lone  surrogate");
  });

  it("has one testcase per rule, a failure carrying the evidence, and skipped for rules not exercised", () => {
    const xml = auditToJunit(audit([{ seq: 1, t: 0, status: 503 }, { seq: 2, t: 1000, key: "<key&b>" }]));
    expect(xml.match(/<testcase /g)).toHaveLength(auditRuleIds.length);
    expect(xml).toContain('<testsuite name="cdp-emulator audit: ws"');
    const sameKey = /<testcase classname="cdp-emulator.audit" name="same-key-on-retry">([\s\S]*?)<\/testcase>/.exec(xml)?.[1] ?? "";
    expect(sameKey).toContain("<failure message=");
    expect(sameKey).toContain("seq 2: POST /public/v1/records/profiles/upsert → 200, key &lt;key&amp;b&gt;");
    const polls = /<testcase classname="cdp-emulator.audit" name="polls-job-with-backoff">([\s\S]*?)<\/testcase>/.exec(xml)?.[1] ?? "";
    expect(polls).toContain("<skipped ");
  });
});
