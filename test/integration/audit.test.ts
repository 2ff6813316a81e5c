import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { AuditReport, AuditRuleResult } from "../../src/domain/control-plane.js";
import { auditRuleIds, type AuditRuleId } from "../../src/domain/vocabulary.js";
import { ControlPlaneError } from "../../src/testing/control-client.js";
import { call, perSuite } from "../helpers/emulator.js";
import { writeWithRetry } from "../helpers/retry-client.js";

/*
 * GET /_emulator/audit through a real emulator: clients that retry as the guides say, and ones
 * that do not, under fault rules; the JSON report, the JUnit XML, and ControlClient.audit().
 */

const env = perSuite();

/** A fresh workspace of its own per test, so each audit sees that test's requests only. */
async function workspace(): Promise<{ workspace: string; token: string }> {
  return env.control.workspaces.create();
}

const upsertUrl = (): string => `${env.apiUrl}/records/profiles/upsert`;
const body = (): unknown => ({ record: { email: `${randomUUID()}@example.com` }, matchKey: "email" });

function rule(report: AuditReport, id: AuditRuleId): AuditRuleResult {
  const found = report.rules.find((result) => result.id === id);
  if (!found) throw new Error(`no rule ${id} in the report`);
  return found;
}

describe("the retry audit of a workspace's journal", () => {
  it("passes a client that retries a 503 with Retry-After under one key, after waiting it out", async () => {
    const { workspace: name, token } = await workspace();
    await env.control.faults.add({ match: { operation: "upsert", workspace: name }, action: { status: 503, retryAfter: 0.2 }, schedule: { times: 2 } });
    const outcome = await writeWithRetry({ url: upsertUrl(), token, body: body(), keys: "stable", baseDelayMs: 50 });
    expect(outcome).toMatchObject({ status: 200, attempts: 3 });

    const report = await env.control.audit({ workspace: name });
    expect(report).toMatchObject({ workspace: name, since: null, entries: 3 });
    const verdicts = Object.fromEntries(report.rules.map((result) => [result.id, result.verdict]));
    expect(verdicts).toEqual({
      "idempotency-key-on-writes": "passed",
      "same-key-on-retry": "passed",
      "no-retry-on-client-error": "not-exercised",
      "honours-retry-after": "passed",
      "backs-off": "passed",
      "attempt-cap": "passed",
      "polls-job-with-backoff": "not-exercised",
      "backpressure-when-low": "not-exercised",
      "lost-ack-replayed": "not-exercised",
    });
    expect(rule(report, "honours-retry-after").exercised).toBe(2);
    expect(report.operations).toHaveLength(1);
    expect(report.operations[0]?.attempts.map((attempt) => attempt.status)).toEqual([503, 503, 200]);
  });

  it("passes a client that retries a 409 under the same key", async () => {
    const { workspace: name, token } = await workspace();
    await env.control.faults.add({ match: { operation: "upsert", workspace: name }, action: { status: 409 }, schedule: { times: 1 } });
    expect(await writeWithRetry({ url: upsertUrl(), token, body: body(), keys: "stable", baseDelayMs: 30 })).toMatchObject({ status: 200, attempts: 2 });
    const report = await env.control.audit({ workspace: name });
    expect(rule(report, "same-key-on-retry")).toMatchObject({ verdict: "passed", exercised: 1 });
    expect(rule(report, "backs-off").verdict).toBe("passed");
  });

  it("fails same-key-on-retry for a client that mints a key per attempt, naming every attempt's seq", async () => {
    const { workspace: name, token } = await workspace();
    await env.control.faults.add({ match: { operation: "upsert", workspace: name }, action: { status: 503, retryAfter: 0.1 }, schedule: { times: 1 } });
    const outcome = await writeWithRetry({ url: upsertUrl(), token, body: body(), keys: "per-attempt", baseDelayMs: 50 });
    expect(outcome).toMatchObject({ status: 200, attempts: 2 });

    const journal = await env.control.journal.list({ workspace: name });
    const report = await env.control.audit({ workspace: name });
    const sameKey = rule(report, "same-key-on-retry");
    expect(sameKey.verdict).toBe("failed");
    expect(sameKey.findings).toHaveLength(1);
    expect(sameKey.findings[0]?.attempts.map((attempt) => [attempt.seq, attempt.status, attempt.idempotencyKey])).toEqual(
      journal.map((entry) => [entry.seq, entry.status, entry.idempotencyKey]),
    );
    expect(sameKey.findings[0]?.attempts.map((attempt) => attempt.idempotencyKey)).toEqual(outcome.keys);
    expect(report.operations).toMatchObject([{ keyChanged: true, idempotencyKey: outcome.keys[0] }]);
    expect(report.summary.failed).toBe(1);
  });

  it("passes a lost acknowledgement replayed under its key", async () => {
    const { workspace: name, token } = await workspace();
    await env.control.faults.add({ match: { operation: "upsert", workspace: name }, action: { reset: true, afterCommit: true }, schedule: { times: 1 } });
    expect(await writeWithRetry({ url: upsertUrl(), token, body: body(), keys: "stable", baseDelayMs: 30 })).toMatchObject({ status: 200, attempts: 2 });
    const report = await env.control.audit({ workspace: name });
    expect(rule(report, "lost-ack-replayed")).toMatchObject({ verdict: "passed", exercised: 1 });
    expect(report.operations[0]?.attempts.map((attempt) => attempt.status)).toEqual([null, 200]);
  });

  it("fails honours-retry-after for a client that retries a 503 at once, ignoring its Retry-After", async () => {
    const { workspace: name, token } = await workspace();
    await env.control.faults.add({ match: { operation: "upsert", workspace: name }, action: { status: 503, retryAfter: 1 }, schedule: { times: 1 } });
    const send = () => call(upsertUrl(), { token, body: { record: { email: "eager@example.com" }, matchKey: "email" }, headers: { "Idempotency-Key": "eager-1" } });
    expect((await send()).status).toBe(503);
    expect((await send()).status).toBe(200);
    const report = await env.control.audit({ workspace: name });
    const retryAfter = rule(report, "honours-retry-after");
    expect(retryAfter).toMatchObject({ verdict: "failed", exercised: 1 });
    expect(retryAfter.findings[0]?.attempts.map((attempt) => attempt.status)).toEqual([503, 200]);
    expect(rule(report, "same-key-on-retry").verdict).toBe("passed");
  });

  it("judges waits on real time: the journal's wallMs moves while the emulator clock is frozen", async () => {
    const { workspace: name, token } = await workspace();
    await env.control.clock.freeze();
    try {
      await call(upsertUrl(), { token, body: body(), headers: { "Idempotency-Key": randomUUID() } });
      await new Promise((resolve) => setTimeout(resolve, 60));
      await call(upsertUrl(), { token, body: body(), headers: { "Idempotency-Key": randomUUID() } });
    } finally {
      await env.control.clock.unfreeze();
    }
    const [first, second] = await env.control.journal.list({ workspace: name });
    expect(second?.at).toBe(first?.at);
    expect((second?.wallMs ?? 0) - (first?.wallMs ?? 0)).toBeGreaterThanOrEqual(55);
    expect(Math.abs((first?.wallMs ?? 0) - Date.now())).toBeLessThan(10_000);
  });

  it("passes a client that polls a batch job with growing waits until it ends, and counts nothing after", async () => {
    const { workspace: name, token } = await workspace();
    await env.control.jobs.hold();
    let jobId = "";
    try {
      const submitted = await call<{ data: { jobId: string } }>(`${env.apiUrl}/records/profiles/upsert-batch`, {
        token,
        body: { records: [{ email: `${randomUUID()}@example.com` }], matchKey: "email" },
        headers: { "Idempotency-Key": randomUUID() },
      });
      expect(submitted.status).toBe(202);
      jobId = submitted.body.data.jobId;
      for (const waitMs of [20, 30]) {
        expect((await call<{ data: { state: string } }>(`${env.apiUrl}/records/profiles/jobs/${jobId}`, { token })).body.data.state).toBe("queued");
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    } finally {
      await env.control.jobs.release();
    }
    let state = "queued";
    for (let waitMs = 45; state !== "completed" && state !== "failed"; waitMs *= 1.5) {
      state = (await call<{ data: { state: string } }>(`${env.apiUrl}/records/profiles/jobs/${jobId}`, { token })).body.data.state;
      if (state !== "completed" && state !== "failed") await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
    // Read again at once: the job has ended, so this is no poll.
    await call(`${env.apiUrl}/records/profiles/jobs/${jobId}`, { token });
    const report = await env.control.audit({ workspace: name });
    expect(rule(report, "polls-job-with-backoff")).toMatchObject({ verdict: "passed", exercised: 1, findings: [] });
  });

  it("judges only the entries after `since`, and reports the last seq for the next call", async () => {
    const { workspace: name, token } = await workspace();
    const first = await call(upsertUrl(), { token, body: body() });
    expect(first.status).toBe(200);
    const before = await env.control.audit({ workspace: name });
    expect(rule(before, "idempotency-key-on-writes").verdict).toBe("failed");
    expect(before.lastSeq).not.toBeNull();

    expect(await writeWithRetry({ url: upsertUrl(), token, body: body(), keys: "stable" })).toMatchObject({ status: 200 });
    const after = await env.control.audit({ workspace: name, since: before.lastSeq ?? 0 });
    expect(after).toMatchObject({ since: before.lastSeq, entries: 1 });
    expect(rule(after, "idempotency-key-on-writes")).toMatchObject({ verdict: "passed", exercised: 1 });
  });

  it("answers ControlClient.audit() with the very report GET /_emulator/audit sends", async () => {
    const { workspace: name, token } = await workspace();
    await writeWithRetry({ url: upsertUrl(), token, body: body(), keys: "stable" });
    const raw = await call<{ success: boolean; data: AuditReport }>(`${env.url}/_emulator/audit?workspace=${name}`);
    expect(raw.status).toBe(200);
    expect(raw.body.success).toBe(true);
    expect(await env.control.audit({ workspace: name })).toEqual(raw.body.data);
  });
});

describe("the audit as JUnit XML", () => {
  it("is well-formed, one testcase per rule, a failure with the evidence and skipped where not exercised", async () => {
    const { workspace: name, token } = await workspace();
    await env.control.faults.add({ match: { operation: "upsert", workspace: name }, action: { status: 503, retryAfter: 0.1 }, schedule: { times: 1 } });
    await writeWithRetry({ url: upsertUrl(), token, body: body(), keys: "per-attempt", baseDelayMs: 50 });
    const response = await fetch(`${env.url}/_emulator/audit?workspace=${name}&format=junit`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/xml/);
    const xml = await response.text();
    expect(await env.control.auditJunit({ workspace: name })).toBe(xml);

    // A small check of well-formedness: every tag closes in order, attributes are quoted.
    const stack: string[] = [];
    for (const match of xml.replace(/^<\?xml[^>]*\?>/, "").matchAll(/<(\/?)([\w-]+)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>/g)) {
      const [, closing, tag = "", , selfClosing] = match;
      if (selfClosing) continue;
      if (closing) expect(stack.pop()).toBe(tag);
      else stack.push(tag);
    }
    expect(stack).toEqual([]);
    expect(xml.replace(/<[^>]*>/g, "")).not.toMatch(/[<>]|&(?!amp;|lt;|gt;|quot;|apos;|#\d+;)/);

    expect(xml).toContain(`<testsuite name="cdp-emulator audit: ${name}"`);
    const cases = [...xml.matchAll(/<testcase classname="cdp-emulator\.audit" name="([^"]+)">([\s\S]*?)<\/testcase>/g)];
    expect(cases.map((match) => match[1])).toEqual([...auditRuleIds]);
    const testcase = (id: string): string => cases.find((match) => match[1] === id)?.[2] ?? "";
    expect(testcase("same-key-on-retry")).toContain("<failure ");
    const journal = await env.control.journal.list({ workspace: name });
    expect(journal).toHaveLength(2);
    for (const entry of journal) expect(testcase("same-key-on-retry")).toContain(`seq ${entry.seq}: POST`);
    expect(testcase("polls-job-with-backoff")).toContain("<skipped ");
    expect(testcase("idempotency-key-on-writes")).not.toMatch(/<failure|<skipped/);
  });
});

describe("docs/audit.md", () => {
  it("shows the failed testcase the emulator answers for its example (seqs and times aside)", async () => {
    const { workspace: name, token } = await workspace();
    const headers = { "Idempotency-Key": `audit-example-${randomUUID()}` };
    await call(upsertUrl(), { token, headers, body: { record: { email: "ada@example.com" }, matchKey: "email" } });
    await call(upsertUrl(), { token, body: { record: { email: "grace@example.com" }, matchKey: "email" } });
    const xml = await env.control.auditJunit({ workspace: name });
    const doc = readFileSync(join(resolve(import.meta.dirname, "../.."), "docs/audit.md"), "utf8");
    const shown = /^```text\n(<testcase [\s\S]*?)^```$/m.exec(doc)?.[1] ?? "";
    const answered = /^ *<testcase classname="cdp-emulator\.audit" name="idempotency-key-on-writes">[\s\S]*?<\/testcase>$/m.exec(xml)?.[0] ?? "";
    const plain = (text: string): string =>
      text
        .split("\n")
        .map((line) => line.trim())
        .join("\n")
        .replace(/seq \d+/g, "seq <n>")
        .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, "<time>")
        .trim();
    expect(answered).not.toBe("");
    expect(plain(shown)).toBe(plain(answered));
  });
});

describe("GET /_emulator/audit's parameters", () => {
  it.each([
    ["since=abc", "since"],
    ["since=-1", "since"],
    ["format=html", "format"],
    ["sinse=3", "sinse"],
  ])("refuses %s with a 400 naming %s", async (queryText, param) => {
    const response = await call<{ success: boolean; error: { code: string; message: string } }>(`${env.url}/_emulator/audit?${queryText}`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
    expect(response.body.error.message).toContain(param);
  });

  it("answers 404 for a workspace that does not exist, from both ControlClient methods", async () => {
    const response = await call<{ success: boolean }>(`${env.url}/_emulator/audit?workspace=no-such-workspace`);
    expect(response.status).toBe(404);
    expect(response.body.success).toBe(false);
    await expect(env.control.audit({ workspace: "no-such-workspace" })).rejects.toMatchObject({ status: 404 });
    await expect(env.control.auditJunit({ workspace: "no-such-workspace" })).rejects.toBeInstanceOf(ControlPlaneError);
  });

  it("audits the default workspace when none is named", async () => {
    const report = await env.control.audit();
    expect(report.workspace).toBe("default");
    expect(report.rules.map((result) => result.id)).toEqual([...auditRuleIds]);
  });
});
