import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findProviderState, providerStates } from "../../../src/contract/provider-states.js";
import { summarisePacts, verifyPacts } from "../../../src/contract/verify.js";
import { runCli } from "../../helpers/cli.js";
import { tempDir } from "../../helpers/emulator.js";

/**
 * Provider verification: every pact in pacts/ (the reference client's, written by the consumer
 * tests, which npm test runs first) replayed against a real emulator on a free port, with each
 * provider state set up through the control plane.
 */
const PACTS = resolve(import.meta.dirname, "../../../pacts");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("the emulator as the provider of the Records API contract", () => {
  it("honours every interaction of every pact in pacts/", async () => {
    const summary = await verifyPacts({ pacts: [PACTS] });
    expect(summary.interactions).toBeGreaterThanOrEqual(18);
  }, 120_000);

  it("fails verification when a pact expects what the emulator does not do", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const [file] = summarisePacts([join(PACTS, "cdp-emulator-client-cdp-records-api.json")]).files;
    const pact = JSON.parse(readFileSync(file!, "utf8")) as { interactions: { description: string; response: { body: { content: { error?: { code: string } } } } }[] };
    const interaction = pact.interactions.find((candidate) => candidate.description === "an upsert with a field not in the profiles schema");
    interaction!.response.body.content.error!.code = "CDP_ETL.VALIDATION.SOMETHING_ELSE";
    pact.interactions = [interaction!] as typeof pact.interactions;
    writeFileSync(join(dir, "broken.json"), JSON.stringify(pact));
    await expect(verifyPacts({ pacts: [dir], logLevel: "error" })).rejects.toThrow();
  }, 60_000);

  it("refuses, before starting anything, a pact whose provider state it does not know, naming the state", async () => {
    const dir = tempDir();
    dirs.push(dir);
    copyFileSync(join(PACTS, "cdp-emulator-client-cdp-records-api.json"), join(dir, "a.json"));
    const text = readFileSync(join(dir, "a.json"), "utf8").replace('"profile jane@example.com exists"', '"the moon is full"');
    writeFileSync(join(dir, "a.json"), text);
    await expect(verifyPacts({ pacts: [dir] })).rejects.toThrow(/unknown provider state: "the moon is full"/);
  });

  it("accepts the bearer tokens the pacts send, except in interactions that set a token state", () => {
    const summary = summarisePacts([join(PACTS, "cdp-emulator-client-cdp-records-api.json")]);
    expect(summary.tokens).toEqual(["dev-token"]);
    expect(summary.states).toEqual(expect.arrayContaining(["token is expired", "token lacks the records:write scope"]));
  });
});

describe("provider state sentences", () => {
  it.each([
    ["profile bob@example.com exists", "profile <email> exists"],
    ["orders record with order_id ord_1 exists", "<object> record with <field> <value> exists"],
    ["job rjob_… completed with 1 invalid row", "job <label> completed with <n> invalid row(s)"],
    ["the profiles job rjob_x completed with 3 invalid rows", "job <label> completed with <n> invalid row(s)"],
    ["job rjob_… completed", "job <label> completed"],
    ["job rjob_… is queued", "job <label> is queued"],
    ["token is expired", "token is expired"],
    ["token lacks the metadata:read scope", "token lacks the <scope> scope"],
    ["the next upsert races another write", "the next <operation> races another write"],
    ["the batch quota is spent", "the single-write quota is spent"],
    ["the service is in a maintenance window", "the service is in a maintenance window"],
    ["scenario flaky-5xx is active", "scenario <name> is active"],
  ])("reads %j as %j", (state, sentence) => {
    expect(findProviderState(state)?.definition.sentence).toBe(sentence);
  });

  it("knows no job state for an object other than profiles, so verify refuses it before starting", () => {
    expect(findProviderState("orders job rjob_… completed")).toBeUndefined();
  });

  it("documents every sentence in docs/contract-testing.md", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../../docs/contract-testing.md"), "utf8");
    for (const state of providerStates) expect(readme).toContain(state.sentence);
  });
});

describe("cdp-emulator verify", () => {
  const run = (args: string[]) => runCli(args, { cwd: process.cwd(), timeoutMs: 60_000 });

  it("verifies the pacts in a folder, prints Pact's report and exits 0", async () => {
    const result = await run(["verify", "--pact", PACTS]);
    expect(result.stdout).toContain("Verifying a pact between");
    expect(result.stdout).toMatch(/verified \d+ interactions in 1 pact file/);
    expect(result.code).toBe(0);
  }, 60_000);

  it("exits 1 when an interaction does not match", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const text = readFileSync(join(PACTS, "cdp-emulator-client-cdp-records-api.json"), "utf8").replace('"CDP_ETL.NOT_FOUND"', '"CDP_ETL.NOT_THERE"');
    writeFileSync(join(dir, "broken.json"), text);
    const result = await run(["verify", "--pact", join(dir, "broken.json"), "--log-level", "error"]);
    expect(result.stderr).toContain("verification failed");
    expect(result.code).toBe(1);
  }, 60_000);

  it.each([
    [["verify"], /needs --pact/],
    [["verify", "--pact", "/no/such/pacts"], /no such file or folder/],
  ])("exits 2 with one line for %j", async (args, message) => {
    const result = await run(args);
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
  });
});
