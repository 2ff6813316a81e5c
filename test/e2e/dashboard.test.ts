import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildUi } from "../../src/ui/build.js";
import { browserOrSkip } from "../helpers/browser.js";
import { AUTH, call, startEmulator, tempDir, type TestEmulator } from "../helpers/emulator.js";

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

let env: TestEmulator;
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
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  if (launched === null) return;
  mkdirSync(SHOTS, { recursive: true });
  const uiDir = join(tempDir("cdp-emulator-ui-"), "ui");
  await buildUi({ outDir: uiDir });
  env = await startEmulator({ uiDir });
  env.clock.freeze(Date.parse("2026-04-21T15:30:00Z"));
  browser = launched;
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
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
    await shot("journal");

    await page.getByLabel("Idempotency key", { exact: true }).fill("");
    await page.getByLabel("Status", { exact: true }).selectOption("5xx");
    expect(await page.getByText("order-77").count()).toBeGreaterThan(0);
    await page.getByLabel("Operation", { exact: true }).selectOption("append");
    await page.getByText("No request fits the filters.").waitFor(WAIT);
    await page.getByLabel("Status", { exact: true }).selectOption("");
    await page.getByLabel("Operation", { exact: true }).selectOption("");
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

    // A refused rule says which field is wrong.
    await form.getByLabel("Every Nth").fill("0");
    await form.getByRole("button", { name: "Add rule" }).click();
    await page.getByRole("alert").filter({ hasText: "schedule.every" }).waitFor(WAIT);
    await form.getByRole("button", { name: "Clear form" }).click();

    await page.getByRole("button", { name: "503 for 30 s" }).click();
    await page.getByRole("row").filter({ hasText: "until 2026-04-21 15:30:30Z" }).waitFor(WAIT);
    expect((await call(publicUrl("/metadata/objects"), { headers: AUTH })).status).toBe(503);
    await shot("faults");

    env.clock.advance(30_000);
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

  it("logged no error in the browser while it was used, and only the refused rule was refused", () => {
    expect(failures).toEqual([]);
    expect(refused).toEqual(["400 POST /_emulator/faults"]);
  });
});

describe.skipIf(launched === null)("the dashboard of an emulator started with a control token", { timeout: 60_000 }, () => {
  const CONTROL_TOKEN = "dashboard-control-token-0123456789";
  let locked: TestEmulator;
  let lockedPage: Page;
  const lockedFailures: string[] = [];
  const write = (email: string) => call(`${locked.url}/public/v1/records/profiles/upsert`, { headers: AUTH, body: { record: { email } } });

  beforeAll(async () => {
    const uiDir = join(tempDir("cdp-emulator-ui-"), "ui");
    await buildUi({ outDir: uiDir });
    locked = await startEmulator({ uiDir, controlToken: CONTROL_TOKEN });
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
