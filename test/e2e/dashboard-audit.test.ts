import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AuditReport, JournalEntry } from "../../src/domain/control-plane.js";
import { buildUi } from "../../src/ui/build.js";
import { browserOrSkip } from "../helpers/browser.js";
import { AUTH, call, startEmulatorOnDisk, tempDir, type EmulatorOnDisk } from "../helpers/emulator.js";

// Where no Chromium can be launched this file is skipped with one line saying so; under CI=true that throws instead.
const launched = await browserOrSkip("the dashboard's Audit view tests (test/e2e/dashboard-audit.test.ts)");

/**
 * The Audit view in a real browser against a real emulator: a client that retried a failed write
 * under a new Idempotency-Key is caught, the rule it broke opens to the requests that broke it,
 * and a rule nothing exercised says so. Screenshots go to test-results/dashboard/.
 */

const SHOTS = join(process.cwd(), "test-results", "dashboard");
const WAIT = { timeout: 10_000 };

let env: EmulatorOnDisk;
let browser: Browser;
let page: Page;
const failures: string[] = [];
const refused: string[] = [];

const upsert = (record: Record<string, unknown>, headers: Record<string, string>) =>
  call(`${env.url}/public/v1/records/profiles/upsert`, { headers: { ...AUTH, ...headers }, body: { record } });

/** The one journal entry sent with `key`. */
async function seqOf(key: string): Promise<number> {
  const { body } = await call<{ data: { entries: JournalEntry[] } }>(`${env.url}/_emulator/journal?idempotencyKey=${encodeURIComponent(key)}`);
  expect(body.data.entries).toHaveLength(1);
  return body.data.entries[0]!.seq;
}

/** Retries `check` until it passes or the wait is over, then throws its last failure. */
const eventually = (check: () => Promise<void>): Promise<void> => vi.waitFor(check, { timeout: WAIT.timeout, interval: 50 });

const ruleRow = (id: string) => page.locator(`table.audit-rules tbody tr[data-rule="${id}"]`);
/** The verdict as the page shows it (styles.css sets it in capitals). */
const verdictOf = async (id: string): Promise<string> => ruleRow(id).locator(".verdict").innerText();

beforeAll(async () => {
  if (launched === null) return;
  mkdirSync(SHOTS, { recursive: true });
  const uiDir = join(tempDir("cdp-emulator-ui-"), "ui");
  await buildUi({ outDir: uiDir });
  env = await startEmulatorOnDisk({ uiDir });
  env.emulator.clock.freeze(Date.parse("2026-04-21T15:30:00Z"));
  browser = launched;
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(WAIT.timeout);
  page.on("pageerror", (error) => failures.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) failures.push(message.text());
  });
  page.on("response", (response) => {
    if (response.status() >= 400) refused.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await env?.dispose();
});

describe.skipIf(launched === null)("the dashboard's Audit view", { timeout: 60_000 }, () => {
  let sent503 = 0;
  let retried = 0;

  it("shows a retry under a changed key as a FAILED rule that opens to the requests that broke it, and an untouched rule as not exercised", async () => {
    expect((await upsert({ email: "ann@example.com" }, { "Idempotency-Key": "audit-ann" })).status).toBe(200);
    expect((await upsert({ email: "bob@example.com" }, { "Idempotency-Key": "audit-bob-1", "X-Emulator-Fault": "503" })).status).toBe(503);
    // The retry of the same body under a new key: what same-key-on-retry forbids.
    expect((await upsert({ email: "bob@example.com" }, { "Idempotency-Key": "audit-bob-2" })).status).toBe(200);
    sent503 = await seqOf("audit-bob-1");
    retried = await seqOf("audit-bob-2");

    await page.goto(`${env.url}/_emulator/ui/#audit`);
    await page.getByText("live", { exact: true }).waitFor(WAIT);
    await page.getByRole("heading", { name: "Retry audit" }).waitFor(WAIT);
    await ruleRow("same-key-on-retry").waitFor(WAIT);

    expect(await verdictOf("same-key-on-retry")).toBe("FAILED");
    expect(await verdictOf("polls-job-with-backoff")).toBe("NOT EXERCISED");
    expect(await ruleRow("polls-job-with-backoff").locator("td.num").textContent()).toBe("0");
    // Only a rule with findings opens.
    expect(await ruleRow("polls-job-with-backoff").getByRole("button").count()).toBe(0);
    expect(await page.getByTestId("audit-summary").textContent()).toMatch(/[1-9]\d* failed/);

    // What the page shows is what the endpoint says: the 503 and the retry under the new key.
    const report = (await call<{ data: AuditReport }>(`${env.url}/_emulator/audit?workspace=default`)).body.data;
    const rule = report.rules.find((candidate) => candidate.id === "same-key-on-retry")!;
    const evidence = [...new Set(rule.findings.flatMap((finding) => finding.attempts.map((attempt) => attempt.seq)))].sort((a, b) => a - b);
    expect(evidence).toEqual([sent503, retried]);

    const expander = page.getByRole("button", { name: "Show the findings of same-key-on-retry" });
    expect(await expander.getAttribute("aria-expanded")).toBe("false");
    await expander.click();
    const findings = page.getByRole("list", { name: "Findings of same-key-on-retry" });
    await findings.waitFor(WAIT);
    expect(await page.getByRole("button", { name: "Hide the findings of same-key-on-retry" }).getAttribute("aria-expanded")).toBe("true");
    expect(await findings.locator(".finding-message").count()).toBe(rule.findings.length);
    const shown = await Promise.all((await findings.locator("tr[data-seq]").all()).map(async (row) => Number(await row.getAttribute("data-seq"))));
    expect([...new Set(shown)].sort((a, b) => a - b)).toEqual(evidence);
    const retryRow = findings.locator(`tr[data-seq="${retried}"]`).first();
    expect(await retryRow.textContent()).toContain("audit-bob-2");
    expect(await retryRow.textContent()).toContain("15:30:00.000");

    // Beside it, the operation that holds the evidence is marked and opens to its attempts.
    const operations = page.getByRole("region", { name: "Operations" });
    const marked = operations.locator("table.operations tbody tr.evidence").first();
    await marked.waitFor(WAIT);
    await marked.getByRole("button", { name: /^Show the \d+ attempts? of upsert/ }).click();
    await operations.locator(`table.attempts tr[data-seq="${retried}"]`).waitFor(WAIT);
    const failed = operations.locator(`table.attempts tr[data-seq="${sent503}"]`);
    expect(await failed.textContent()).toContain("503");
    expect(await failed.getAttribute("class")).toContain("evidence");
    expect(await marked.textContent()).toContain("key changed");
    await page.screenshot({ path: join(SHOTS, "audit.png"), fullPage: true });
  });

  it("says when requests came after the report, reads them on Refresh, and judges only those after a seq given as Since", async () => {
    await upsert({ email: "cy@example.com" }, { "Idempotency-Key": "audit-cy" });
    await page.getByTestId("audit-newer").filter({ hasText: "1 new request since this report" }).waitFor(WAIT);
    await page.getByRole("button", { name: "Refresh" }).click();
    await eventually(async () => expect(await page.getByTestId("audit-newer").textContent()).toBe(""));

    await page.getByLabel("Since seq (optional)").fill(String(retried));
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.getByTestId("audit-summary").filter({ hasText: `after #${retried}` }).waitFor(WAIT);
    expect(await verdictOf("same-key-on-retry")).not.toBe("FAILED");

    // A since that is no seq is refused in the page, before anything is asked.
    await page.getByLabel("Since seq (optional)").fill("yesterday");
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.getByRole("alert").filter({ hasText: "Since must be a journal seq" }).waitFor(WAIT);
    expect(await page.getByLabel("Since seq (optional)").getAttribute("aria-invalid")).toBe("true");
    await page.getByLabel("Since seq (optional)").fill("");
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.getByRole("alert").waitFor({ state: "detached", ...WAIT });
    await eventually(async () => expect(await verdictOf("same-key-on-retry")).toBe("FAILED"));
  });

  it("fits a narrow window: nothing but the tables scrolls sideways", async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    await page.waitForTimeout(100);
    expect(await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, "audit-narrow.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("logged no error in the browser and had nothing refused", () => {
    expect(failures).toEqual([]);
    expect(refused).toEqual([]);
  });
});
