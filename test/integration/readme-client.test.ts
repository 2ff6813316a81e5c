import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlClient } from "../../src/testing/control-client.js";
import { startEmulator, type TestEmulator } from "../helpers/emulator.js";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The ts block that starts with `// README example: <name>`. */
function example(name: string): string {
  const block = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "").find((code) => code.startsWith(`// README example: ${name}\n`));
  if (!block) throw new Error(`README has no ts block marked "// README example: ${name}"`);
  return block;
}

describe("the README's client example", () => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startEmulator();
  });
  afterAll(async () => env.dispose());

  it("runs as pasted against the built package, writing what it says", async () => {
    // Inside the repository, "cdp-emulator/client" resolves to this package's own dist/ (self-reference).
    const dir = join(ROOT, "test-results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "readme-client-example.ts");
    writeFileSync(file, example("client").replaceAll("http://127.0.0.1:4010", env.url));
    const { stdout } = await run(process.execPath, ["--import", "tsx", file], { cwd: ROOT, timeout: 30_000 });
    expect(stdout).toMatch(/^upsert 1 \S+/m);
    expect(stdout).toMatch(/^rjob_\w+ completed 1 invalid$/m);

    const control = new ControlClient(env.url);
    const rows = await control.records.list("profiles");
    expect(rows.map((row) => (row["fields"] as Record<string, unknown>)["email"]).sort()).toEqual(["alice@example.com", "jane@example.com"]);
    expect((rows.find((row) => (row["fields"] as Record<string, unknown>)["email"] === "jane@example.com")?.["fields"] as Record<string, unknown>)["phone"]).toBe("+12125551234");
  }, 40_000);
});

describe("the README's contract-testing example", () => {
  it("writes a consumer pact that cdp-emulator verify then honours", async () => {
    // Run in a folder of its own inside the repository (so "cdp-emulator/client" resolves), where
    // the example's relative "pacts" folder is that folder's.
    const dir = join(ROOT, "test-results", "readme-contract-example");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "consumer.ts");
    writeFileSync(file, example("contract"));
    const consumer = await run(process.execPath, ["--import", "tsx", file], { cwd: dir, timeout: 30_000 });
    expect(consumer.stdout).toMatch(/^completed 1$/m);

    const verified = await run(process.execPath, [join(ROOT, "dist/cli.js"), "verify", "--pact", join(dir, "pacts")], { cwd: dir, timeout: 60_000 });
    expect(verified.stdout).toMatch(/verified 1 interaction in 1 pact file/);
  }, 90_000);
});
