import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildUi } from "../../src/ui/build.js";
import { browserOrSkip } from "../helpers/browser.js";
import { AUTH, call, startEmulatorOnDisk, tempDir, TOKEN, type EmulatorOnDisk } from "../helpers/emulator.js";

// Where no Chromium can be launched this file is skipped with one line saying so (and how to run
// it); under CI=true that throws instead, so CI never skips the dashboard silently.
const launched = await browserOrSkip("the dashboard's browser tests (test/e2e/dashboard.test.ts)");

/**
 * The dashboard in a real browser (Debian's chromium), against a real emulator: what a person
 * sees when their client writes, fails, retries, and when they click around. Screenshots of each
 * view go to test-results/dashboard/ for review.
 */

const SHOTS = join(process.cwd(), "test-results", "dashboard");
// Generous: under `npm test` the browser shares two cores with every other test file.
const WAIT = { timeout: 10_000 };

let env: EmulatorOnDisk;
let browser: Browser;
let page: Page;
/** Uncaught errors and console errors in the page, and the control-plane calls it made that failed. */
const failures: string[] = [];
const refused: string[] = [];

const publicUrl = (path: string): string => `${env.url}/public/v1${path}`;
const upsert = (record: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call(publicUrl("/records/profiles/upsert"), { headers: { ...AUTH, ...headers }, body: { record } });

async function show(view: string): Promise<void> {
  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: view }).click();
}

/** Retries `check` until it passes or `timeoutMs` is over, then throws its last failure. */
async function eventually(check: () => Promise<void>, timeoutMs = WAIT.timeout): Promise<void> {
  await vi.waitFor(check, { timeout: timeoutMs, interval: 50 });
}

/** The whole page, or with `fullPage: false` what the window shows (a list of 151 rows is mostly below it). */
async function shot(name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: options.fullPage ?? true });
}

/**
 * What keeps each named column header of `table` from being read whole: outside the window,
 * outside its table's box (scrolled or cut off), or its text wider than its column. Empty when
 * every one is fully visible; the table scrolling sideways at all is reported too. (Page code as
 * text, as elsewhere here: this project's type check knows no DOM.)
 */
const HIDDEN_HEADERS = String.raw`({ table, names }) => {
  const problems = [];
  const element = document.querySelector(table);
  const wrap = element?.closest(".table-wrap");
  if (!element || !wrap) return ["no table " + table];
  if (wrap.scrollWidth > wrap.clientWidth) problems.push(table + " scrolls sideways (" + wrap.scrollWidth + " > " + wrap.clientWidth + ")");
  const box = wrap.getBoundingClientRect();
  const headers = [...element.querySelectorAll("thead th")];
  for (const name of names) {
    const th = headers.find((candidate) => (candidate.textContent ?? "").trim() === name);
    if (!th) {
      problems.push(name + ": no such column");
      continue;
    }
    const cell = th.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(th);
    const text = range.getBoundingClientRect();
    if (cell.left < 0 || cell.right > window.innerWidth || cell.top < 0 || cell.bottom > window.innerHeight) problems.push(name + ": outside the window");
    if (cell.left < box.left - 0.5 || cell.right > box.right + 0.5) problems.push(name + ": outside its table's box");
    if (text.width === 0 || text.left < cell.left - 0.5 || text.right > cell.right + 0.5) problems.push(name + ": its text does not fit its column");
  }
  return problems;
}`;

async function hiddenHeaders(table: string, names: readonly string[]): Promise<string[]> {
  return (await page.evaluate(`(${HIDDEN_HEADERS})(${JSON.stringify({ table, names })})`)) as string[];
}

beforeAll(async () => {
  if (launched === null) return;
  mkdirSync(SHOTS, { recursive: true });
  const uiDir = join(tempDir("cdp-emulator-ui-"), "ui");
  await buildUi({ outDir: uiDir });
  env = await startEmulatorOnDisk({ uiDir });
  env.emulator.clock.freeze(Date.parse("2026-04-21T15:30:00Z"));
  browser = launched;
  // The clipboard, so "Copy as curl" can be read back.
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, permissions: ["clipboard-read", "clipboard-write"] });
  page.setDefaultTimeout(WAIT.timeout);
  page.on("pageerror", (error) => failures.push(error.message));
  page.on("console", (message) => {
    // A refused request is also logged by the browser; those are checked one by one below.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) failures.push(message.text());
  });
  page.on("response", (response) => {
    if (response.status() >= 400) refused.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
  });
  await page.goto(`${env.url}/_emulator/ui/`);
  await page.getByText("live", { exact: true }).waitFor(WAIT);
  expect(failures).toEqual([]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await env?.dispose();
});

describe.skipIf(launched === null)("the dashboard at /_emulator/ui", { timeout: 60_000 }, () => {
  it("shows rows written through the public API as they arrive, with a row's fields, times and identifiers, collisions highlighted", async () => {
    await show("Objects");
    await page.getByText("No rows yet in this workspace.").waitFor(WAIT);
    const ann = await upsert({ email: "ann@example.com", customer_id: "c-1", tier: "gold" });
    const bob = await upsert({ email: "bob@example.com", customer_id: "c-1" });
    const annId = ann.headers.get("x-emulator-record-id")!;
    const bobId = bob.headers.get("x-emulator-record-id")!;

    const annRow = page.getByRole("row").filter({ hasText: "ann@example.com" });
    await annRow.waitFor(WAIT);
    await page.getByRole("row").filter({ hasText: "bob@example.com" }).waitFor(WAIT);
    expect(await annRow.getAttribute("class")).toContain("collision");
    // Newest first, with the count of every row.
    await page.getByTestId("row-count").filter({ hasText: "2 rows" }).waitFor(WAIT);
    expect(await page.locator("table.rows tbody tr").first().textContent()).toContain("bob@example.com");

    await page.getByRole("button", { name: annId }).click();
    const detail = page.getByRole("region", { name: `Row ${annId}` });
    await detail.waitFor(WAIT);
    await detail.getByText("resolves to another row").waitFor(WAIT);
    expect(await detail.getByRole("row").filter({ hasText: "tier" }).textContent()).toContain('"gold"');
    expect(await detail.textContent()).toContain("2026-04-21 15:30:00Z");
    expect(await detail.getByRole("button", { name: bobId }).count()).toBe(1);

    await page.getByLabel("Value").fill("bob@example.com");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("row").filter({ hasText: "ann@example.com" }).waitFor({ state: "detached", ...WAIT });
    expect(await page.getByRole("row").filter({ hasText: "bob@example.com" }).count()).toBe(1);
    await page.getByRole("button", { name: "Clear" }).click();
    await annRow.waitFor(WAIT);
    await page.getByRole("button", { name: annId }).click();
    await shot("objects");
  });

  it("shows a job's progress and its per-row errors", async () => {
    await show("Jobs");
    const accepted = await call<{ data: { jobId: string } }>(publicUrl("/records/profiles/upsert-batch"), {
      headers: AUTH,
      body: { records: [{ email: "j1@example.com" }, { email: "j2@example.com" }, { email: 42 }] },
    });
    const { jobId } = accepted.body.data;
    const row = page.getByRole("row").filter({ hasText: jobId });
    await row.filter({ hasText: "completed" }).waitFor(WAIT);
    expect(await row.textContent()).toContain("3/3");
    await page.getByRole("button", { name: jobId }).click();
    const detail = page.getByRole("region", { name: `Job ${jobId}` });
    await detail.getByRole("listitem").filter({ hasText: "Row 2" }).filter({ hasText: "records[2].email: must be" }).waitFor(WAIT);
    expect(await detail.textContent()).toContain("2 inserted, 0 merged, 1 invalid");
    await shot("jobs");
  });

  it("streams the journal live and groups the retries of one idempotency key, 503 → no response → 200 (replayed)", async () => {
    await show("Journal");
    const key = "order-77";
    await upsert({ email: "retry@example.com" }, { "Idempotency-Key": key, "X-Emulator-Fault": "503" });
    await upsert({ email: "retry@example.com" }, { "Idempotency-Key": key, "X-Emulator-Fault": "reset;after-commit" }).catch(() => undefined);
    await upsert({ email: "retry@example.com" }, { "Idempotency-Key": key });

    const chain = page.getByTestId("retry-chain").filter({ hasText: "503 → no response → 200 (replayed)" });
    await chain.waitFor(WAIT);
    await page.getByLabel("Idempotency key", { exact: true }).fill(key);
    await page.getByRole("button", { name: "Show the 3 attempts" }).click();
    const attempts = page.locator("tr.attempt");
    expect(await attempts.count()).toBe(3);
    expect(await attempts.first().textContent()).toContain("503");

    // Clicking the first attempt shows what was sent and what came back.
    await attempts.first().click();
    const detail = page.getByRole("region", { name: /^Request \d+$/ });
    await detail.waitFor(WAIT);
    expect(await detail.getByRole("figure").filter({ hasText: "Request body" }).textContent()).toContain("retry@example.com");
    expect(await detail.getByRole("figure").filter({ hasText: "Response body" }).textContent()).toContain("CDP_ETL.SERVICE.UNAVAILABLE");

    // Its headers, both ways, and never the token it was sent with.
    const sent = detail.getByRole("table", { name: "Request headers" });
    expect(await sent.getByRole("row").filter({ hasText: "idempotency-key" }).textContent()).toContain(key);
    expect(await sent.getByRole("row").filter({ hasText: "x-emulator-fault" }).textContent()).toContain("503");
    const answered = detail.getByRole("table", { name: "Response headers" });
    expect(await answered.getByRole("row").filter({ hasText: "x-emulator-fault" }).count()).toBe(1);
    expect(await detail.textContent()).not.toContain(TOKEN);
    expect(await detail.getByRole("rowheader", { name: "authorization" }).count()).toBe(0);

    // As curl: the same request, the token left to $CDP_TOKEN.
    const curl = await detail.getByLabel("The request as a curl command").textContent();
    expect(curl).toContain(`curl -X POST '${env.url}/public/v1/records/profiles/upsert'`);
    expect(curl).toContain(`-H "Authorization: Bearer $CDP_TOKEN"`);
    expect(curl).toContain(`-H 'idempotency-key: ${key}'`);
    expect(curl).toContain(`--data-raw '{"record":{"email":"retry@example.com"}}'`);
    expect(curl).not.toContain(TOKEN);
    await detail.getByRole("button", { name: "Copy as curl" }).click();
    await detail.getByRole("status").filter({ hasText: "Copied" }).waitFor(WAIT);
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(curl);
    await shot("journal");

    await page.getByLabel("Idempotency key", { exact: true }).fill("");
    await page.getByLabel("Status", { exact: true }).selectOption("5xx");
    expect(await page.getByText("order-77").count()).toBeGreaterThan(0);
    await page.getByLabel("Operation", { exact: true }).selectOption("append");
    await page.getByText("No request fits the filters.").waitFor(WAIT);
    await page.getByLabel("Status", { exact: true }).selectOption("");
    await page.getByLabel("Operation", { exact: true }).selectOption("");
  });

  it("says when a request's body was too large to copy as curl, and leaves it out of the command", async () => {
    await show("Journal");
    const big = await upsert({ email: "big@example.com", notes: "x".repeat(20_000) }, { "Idempotency-Key": "big-body" });
    expect(big.status).toBeGreaterThanOrEqual(400);
    await page.getByLabel("Idempotency key", { exact: true }).fill("big-body");
    await page.getByRole("button", { name: /^Request \d+: POST/ }).first().click();
    const detail = page.getByRole("region", { name: /^Request \d+$/ });
    await detail.getByText(/the journal keeps only the first 16 KB/).first().waitFor(WAIT);
    const curl = await detail.getByLabel("The request as a curl command").textContent();
    expect(curl).toMatch(/^# The request body was [\d,]+ bytes; the journal keeps only the first 16 KB/);
    expect(curl).not.toContain("--data-raw");
    await detail.getByRole("button", { name: "Close" }).click();
    await page.getByLabel("Idempotency key", { exact: true }).fill("");
  });

  it("adds a fault rule from the form and the next request fails with it; a preset and removal work too", async () => {
    await show("Faults & scenarios");
    const form = page.getByRole("form", { name: "Add a fault rule" });
    await form.getByLabel("Operation").selectOption("upsert");
    await form.getByLabel("Status", { exact: true }).selectOption("502");
    await form.getByLabel("First N matches").fill("1");
    await form.getByRole("button", { name: "Add rule" }).click();
    const ruleRow = page.getByRole("row").filter({ hasText: "status 502" });
    await ruleRow.waitFor(WAIT);

    expect((await upsert({ email: "after-rule@example.com" })).status).toBe(502);
    expect((await upsert({ email: "after-rule@example.com" })).status).toBe(200);
    await eventually(async () => expect(await ruleRow.locator("td.num").allTextContents()).toEqual(["2", "1"]));

    // Switched off, it stays listed but neither fires nor counts; switched on, it counts again.
    const toggle = ruleRow.getByRole("switch");
    expect(await toggle.isChecked()).toBe(true);
    await toggle.click();
    await eventually(async () => expect(await ruleRow.getAttribute("class")).toContain("off"));
    const listed = async () => (await call<{ data: { faults: { enabled: boolean; matched: number }[] } }>(`${env.url}/_emulator/faults`)).body.data.faults[0];
    expect(await listed()).toMatchObject({ enabled: false, matched: 2 });
    expect((await upsert({ email: "while-off@example.com" })).status).toBe(200);
    await page.waitForTimeout(300);
    expect(await ruleRow.locator("td.num").allTextContents()).toEqual(["2", "1"]);
    await toggle.click();
    await eventually(async () => expect(await ruleRow.getAttribute("class")).not.toContain("off"));
    expect((await upsert({ email: "back-on@example.com" })).status).toBe(200);
    await eventually(async () => expect(await ruleRow.locator("td.num").allTextContents()).toEqual(["3", "1"]));
    expect(await listed()).toMatchObject({ enabled: true, matched: 3 });

    // A refused rule says which field is wrong, in the form that sent it, on the field at fault.
    await form.getByLabel("Every Nth").fill("0");
    await form.getByRole("button", { name: "Add rule" }).click();
    await form.getByRole("alert").filter({ hasText: "schedule.every: must be at least 1" }).waitFor(WAIT);
    expect(await form.getByLabel("Every Nth").getAttribute("aria-invalid")).toBe("true");
    await eventually(async () => expect(await page.evaluate("document.activeElement?.getAttribute('name')")).toBe("every"));
    expect(await page.getByRole("region", { name: "Active fault rules" }).getByRole("alert").count()).toBe(0);
    await shot("faults-refused");
    await form.getByRole("button", { name: "Clear form" }).click();
    expect(await form.getByRole("alert").count()).toBe(0);

    await page.getByRole("button", { name: "503 for 30 s" }).click();
    await page.getByRole("row").filter({ hasText: "until 2026-04-21 15:30:30Z" }).waitFor(WAIT);
    expect((await call(publicUrl("/metadata/objects"), { headers: AUTH })).status).toBe(503);
    await shot("faults");

    env.emulator.clock.advance(30_000);
    expect((await call(publicUrl("/metadata/objects"), { headers: AUTH })).status).toBe(200);
    await page.getByRole("button", { name: "Remove all" }).click();
    await page.getByText("No fault rules").waitFor(WAIT);

    await page.getByRole("combobox", { name: "Scenario" }).selectOption("maintenance-window");
    await page.getByRole("button", { name: "Apply scenario" }).click();
    await page.getByText("Active: maintenance-window").waitFor(WAIT);
    expect((await upsert({ email: "maintenance@example.com" })).status).toBe(503);
    await call(`${env.url}/_emulator/scenarios/happy-path`, { method: "POST" });
  });

  it("freezes and advances the emulator clock by a duration", async () => {
    await show("Clock");
    const now = page.getByTestId("clock-now");
    // happy-path left the clock running: freeze it, then put it somewhere known.
    await page.getByRole("button", { name: "Freeze", exact: true }).click();
    await page.getByRole("button", { name: "Unfreeze", exact: true }).waitFor(WAIT);
    expect((await call<{ data: { frozen: boolean } }>(`${env.url}/_emulator/clock`)).body.data.frozen).toBe(true);
    await page.getByLabel("Set to (RFC 3339 with an offset)").fill("2026-04-21T15:30:30Z");
    await page.getByRole("button", { name: "Set", exact: true }).click();
    await now.filter({ hasText: "2026-04-21T15:30:30.000Z" }).waitFor(WAIT);
    await page.getByLabel("Advance by (ISO 8601 duration)").fill("PT1H30M");
    await page.getByRole("button", { name: "Advance", exact: true }).click();
    await now.filter({ hasText: "2026-04-21T17:00:30.000Z" }).waitFor(WAIT);
    expect((await call<{ data: { now: string } }>(`${env.url}/_emulator/clock`)).body.data.now).toBe("2026-04-21T17:00:30.000Z");
    await page.getByRole("button", { name: "+24 h", exact: true }).click();
    await now.filter({ hasText: "2026-04-22T17:00:30.000Z" }).waitFor(WAIT);

    // A refused time is explained beside the form that sent it, and nothing moved.
    const setForm = page.getByRole("form", { name: "Set the clock" });
    await setForm.getByLabel("Set to (RFC 3339 with an offset)").fill("tomorrow");
    await setForm.getByRole("button", { name: "Set", exact: true }).click();
    await setForm.getByRole("alert").filter({ hasText: "set: must be an RFC 3339 timestamp" }).waitFor(WAIT);
    expect(await page.getByRole("form", { name: "Advance the clock" }).getByRole("alert").count()).toBe(0);
    expect((await call<{ data: { now: string } }>(`${env.url}/_emulator/clock`)).body.data.now).toBe("2026-04-22T17:00:30.000Z");
    await shot("clock-refused");
    await setForm.getByLabel("Set to (RFC 3339 with an offset)").fill("2026-04-22T17:00:30Z");
    await setForm.getByRole("button", { name: "Set", exact: true }).click();
    await setForm.getByRole("alert").waitFor({ state: "detached", ...WAIT });
    await shot("clock");
  });

  it("resets the workspace only after a confirmation", async () => {
    await show("Objects");
    await page.getByRole("row").filter({ hasText: "ann@example.com" }).waitFor(WAIT);
    await page.getByRole("button", { name: "Reset workspace…" }).click();
    const dialog = page.getByRole("dialog", { name: "Reset workspace “default”?" });
    await dialog.waitFor(WAIT);
    await shot("reset-dialog");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect((await call<{ data: { records: unknown[] } }>(`${env.url}/_emulator/records/profiles`)).body.data.records.length).toBeGreaterThan(0);

    await page.getByRole("button", { name: "Reset workspace…" }).click();
    await dialog.getByRole("button", { name: "Reset default" }).click();
    await page.getByText("No rows yet in this workspace.").waitFor(WAIT);
    expect((await call<{ data: { records: unknown[] } }>(`${env.url}/_emulator/records/profiles`)).body.data.records).toEqual([]);
  });

  it("lists an object's newest rows first with the real count, a write after a seed on top", async () => {
    await call(`${env.url}/_emulator/seed`, { body: { object: "profiles", count: 150, seed: 7 } });
    await upsert({ email: "after-seed@example.com", customer_id: "as-1" });
    await show("Objects");
    await page.getByTestId("row-count").filter({ hasText: "151 rows" }).waitFor(WAIT);
    const rows = page.locator("table.rows tbody tr");
    await eventually(async () => expect(await rows.first().textContent()).toContain("after-seed@example.com"));
    expect(await rows.count()).toBe(100);
    expect(await page.getByText("Showing 100 of 151, newest first.").count()).toBe(1);
    await shot("objects-newest", { fullPage: false });
    await page.getByRole("button", { name: "Load 100 more" }).click();
    await eventually(async () => expect(await rows.count()).toBe(151));
    expect(await page.getByRole("button", { name: "Load 100 more" }).count()).toBe(0);

    // Oldest first, the write after the seed is the last of 151: not on the first page.
    await page.getByLabel("Order", { exact: true }).selectOption("oldest");
    await eventually(async () => expect(await rows.count()).toBe(100));
    expect(await page.getByRole("row").filter({ hasText: "after-seed@example.com" }).count()).toBe(0);
    await page.getByLabel("Order", { exact: true }).selectOption("newest");
    await eventually(async () => expect(await rows.first().textContent()).toContain("after-seed@example.com"));
  });

  it("shows every column whole at 1280×800, with and without a detail open: Objects, Journal and Jobs", async () => {
    expect(page.viewportSize()).toEqual({ width: 1280, height: 800 });
    const objectColumns = ["Row", "email", "customer_id", "phone", "external_id", "anonymous_id", "Updated"];
    await show("Objects");
    await page.getByTestId("row-count").filter({ hasText: "151 rows" }).waitFor(WAIT);
    expect(await hiddenHeaders("table.rows", objectColumns)).toEqual([]);
    // Long values are cut in their own cells, their whole text in the title.
    const longEmail = page.locator("table.rows td.clip[title]").first();
    expect(await longEmail.getAttribute("title")).toBeTruthy();
    await page.locator("table.rows tbody tr").first().getByRole("button").first().click();
    await page.getByRole("region", { name: /^Row rec_/ }).waitFor(WAIT);
    expect(await hiddenHeaders("table.rows", objectColumns)).toEqual([]);
    await shot("objects-detail-1280", { fullPage: false });

    // Journal rows with long paths, keys and fault labels.
    await upsert({ email: "wide@example.com" }, { "Idempotency-Key": "checkout-2026-04-21-customer-000123-attempt", "X-Emulator-Fault": "delay=5;jitter=3;503;retry-after=1.5" });
    await call(publicUrl("/records/profiles/upsert-batch"), { headers: { ...AUTH, "Idempotency-Key": "batch-key-with-some-length-0001" }, body: { records: [{ email: "w1@example.com" }] } });
    const journalColumns = ["#", "Time", "Method", "Path", "Status", "Fault", "Idempotency key", "Duration"];
    await show("Journal");
    await page.getByRole("row").filter({ hasText: "batch-key-with" }).waitFor(WAIT);
    expect(await hiddenHeaders("table.journal", journalColumns)).toEqual([]);
    await page.getByRole("row").filter({ hasText: "checkout-2026" }).getByRole("button", { name: /^Request \d+/ }).click();
    await page.getByRole("region", { name: /^Request \d+$/ }).waitFor(WAIT);
    expect(await hiddenHeaders("table.journal", journalColumns)).toEqual([]);
    const key = page.getByRole("row").filter({ hasText: "checkout-2026" }).locator("td.clip").filter({ hasText: "checkout-2026" });
    expect(await key.getAttribute("title")).toBe("checkout-2026-04-21-customer-000123-attempt");
    await shot("journal-detail-1280", { fullPage: false });
    await page.getByRole("region", { name: /^Request \d+$/ }).getByRole("button", { name: "Close" }).click();

    // The batch above made a job.
    const jobColumns = ["Job", "Object", "Operation", "State", "Progress", "Inserted", "Merged", "Invalid", "Created"];
    await show("Jobs");
    const job = page.locator("table.jobs tbody tr").first();
    await job.filter({ hasText: "completed" }).waitFor(WAIT);
    expect(await hiddenHeaders("table.jobs", jobColumns)).toEqual([]);
    await job.getByRole("button").click();
    await page.getByRole("region", { name: /^Job rjob_/ }).waitFor(WAIT);
    expect(await hiddenHeaders("table.jobs", jobColumns)).toEqual([]);
    await shot("jobs-detail-1280", { fullPage: false });
  });

  it("fits a narrow window: nothing but the tables scrolls sideways", async () => {
    await upsert({ email: "narrow@example.com", customer_id: "n-1" }, { "Idempotency-Key": "narrow-1" });
    await page.setViewportSize({ width: 390, height: 800 });
    for (const view of ["Journal", "Jobs", "Clock", "Faults & scenarios", "Objects"]) {
      await show(view);
      await page.waitForTimeout(100);
      const overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth");
      expect(overflow, `${view} is wider than the window`).toBeLessThanOrEqual(0);
      if (view === "Faults & scenarios") await shot("faults-narrow");
    }
    await shot("objects-narrow");
    await show("Journal");
    await shot("journal-narrow");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("can be driven from the keyboard: views are links, a journal row opens with Enter", async () => {
    await page.getByRole("link", { name: "Journal" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Journal" }).waitFor(WAIT);
    await page.getByRole("button", { name: /^Request \d+: POST/ }).first().focus();
    await page.keyboard.press("Enter");
    await page.getByRole("region", { name: /^Request \d+$/ }).waitFor(WAIT);
  });

  it("logged no error in the browser while it was used, and only the refused rule and clock time were refused", () => {
    expect(failures).toEqual([]);
    expect(refused).toEqual(["400 POST /_emulator/faults", "400 POST /_emulator/clock"]);
  });
});

describe.skipIf(launched === null)("the dashboard of an emulator started with a control token", { timeout: 60_000 }, () => {
  const CONTROL_TOKEN = "dashboard-control-token-0123456789";
  let locked: EmulatorOnDisk;
  let lockedPage: Page;
  const lockedFailures: string[] = [];
  const write = (email: string) => call(`${locked.url}/public/v1/records/profiles/upsert`, { headers: AUTH, body: { record: { email } } });

  beforeAll(async () => {
    const uiDir = join(tempDir("cdp-emulator-ui-"), "ui");
    await buildUi({ outDir: uiDir });
    locked = await startEmulatorOnDisk({ uiDir, controlToken: CONTROL_TOKEN });
    lockedPage = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    lockedPage.setDefaultTimeout(WAIT.timeout);
    lockedPage.on("pageerror", (error) => lockedFailures.push(error.message));
    lockedPage.on("console", (message) => {
      // The refused calls before the token is entered are logged by the browser as failed loads.
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) lockedFailures.push(message.text());
    });
  }, 60_000);

  afterAll(async () => {
    await lockedPage?.close();
    await locked?.dispose();
  });

  it("asks for the token once, refuses a wrong one, then shows the data and streams live, and keeps it for the tab", async () => {
    await write("before-unlock@example.com");
    await lockedPage.goto(`${locked.url}/_emulator/ui/`);
    const prompt = lockedPage.getByRole("dialog", { name: "Control token needed" });
    await prompt.waitFor(WAIT);
    await lockedPage.screenshot({ path: join(SHOTS, "control-token-prompt.png") });

    await prompt.getByLabel("Control token", { exact: true }).fill("not-the-control-token");
    await prompt.getByRole("button", { name: "Unlock" }).click();
    await prompt.getByRole("alert").filter({ hasText: "refused" }).waitFor(WAIT);
    await prompt.getByLabel("Control token", { exact: true }).fill(CONTROL_TOKEN);
    await prompt.getByRole("button", { name: "Unlock" }).click();
    await prompt.waitFor({ state: "hidden", ...WAIT });

    await lockedPage.getByRole("row").filter({ hasText: "before-unlock@example.com" }).waitFor(WAIT);
    await lockedPage.getByText("live", { exact: true }).waitFor(WAIT);
    // The live view (the event stream, read with the token): a write made now shows up without a reload.
    await write("while-watching@example.com");
    await lockedPage.getByRole("row").filter({ hasText: "while-watching@example.com" }).waitFor(WAIT);

    // Kept in sessionStorage for the tab: a reload does not ask again.
    await lockedPage.reload();
    await lockedPage.getByText("live", { exact: true }).waitFor(WAIT);
    expect(await prompt.isVisible()).toBe(false);
    expect(lockedFailures).toEqual([]);
  });
});
