import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ControlClient } from "../../src/testing/control-client.js";
import { perSuite } from "../helpers/emulator.js";

/*
 * The TypeScript examples of README.md and docs/*.md. Each begins with `// docs example: <name>`
 * and is either run here as pasted (written out, then run with tsx against the built package) or
 * is, byte for byte, a test file that npm test runs; a ts block without a known name fails, so no
 * example can go untested, and an edited example that no longer works fails here.
 */

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const MARKDOWN = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`)];

/** Examples that are test files of their own: the block must be exactly the file. */
const EXAMPLE_FILES: Record<string, string> = { vitest: "test/integration/readme-start-emulator.test.ts" };
/** Examples run below, from the markdown. */
const RUN_HERE = ["client", "contract", "create-emulator", "startup-error"];

const tsBlocks = MARKDOWN.flatMap((file) =>
  [...readFileSync(join(ROOT, file), "utf8").matchAll(/^```(ts|typescript|js|javascript|mts|tsx)\n([\s\S]*?)^```$/gm)].map((match) => ({
    file,
    code: match[2] ?? "",
    name: /^\/\/ docs example: ([\w-]+)\n/.exec(match[2] ?? "")?.[1],
  })),
);

/** The ts block that starts with `// docs example: <name>`. */
function example(name: string): string {
  const block = tsBlocks.find((candidate) => candidate.name === name);
  if (!block) throw new Error(`no ts block in README.md or docs/ is marked "// docs example: ${name}"`);
  return block.code;
}

describe("the TypeScript examples of README.md and docs/", () => {
  it("each carry a known name, once", () => {
    const names = tsBlocks.map((block) => `${block.file}: ${block.name ?? "(unmarked)"}`);
    for (const block of tsBlocks) expect([...Object.keys(EXAMPLE_FILES), ...RUN_HERE], names.join("\n")).toContain(block.name);
    expect(new Set(tsBlocks.map((block) => block.name)).size).toBe(tsBlocks.length);
    expect(tsBlocks.map((block) => block.name).sort()).toEqual([...Object.keys(EXAMPLE_FILES), ...RUN_HERE].sort());
  });

  it.each(Object.entries(EXAMPLE_FILES))("%s is exactly the test file %s", (name, path) => {
    expect(example(name)).toBe(readFileSync(join(ROOT, path), "utf8"));
  });

  it("say next to them that they need ESM (\"type\": \"module\" or .mts)", () => {
    for (const file of new Set(tsBlocks.map((block) => block.file))) {
      const text = readFileSync(join(ROOT, file), "utf8");
      expect(text, file).toContain('"type": "module"');
      expect(text, file).toContain(".mts");
    }
  });
});

describe("the client example (docs/client.md)", () => {
  const env = perSuite();

  it("runs as pasted against the built package, writing what it says", async () => {
    // Inside the repository, "cdp-emulator/client" resolves to this package's own dist/ (self-reference).
    const dir = join(ROOT, "test-results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "docs-client-example.ts");
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

describe("the contract-testing example (docs/contract-testing.md)", () => {
  it("writes a consumer pact that cdp-emulator verify then honours", async () => {
    // Run in a folder of its own inside the repository (so "cdp-emulator/client" resolves), where
    // the example's relative "pacts" folder is that folder's.
    const dir = join(ROOT, "test-results", "docs-contract-example");
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

describe("the createEmulator example (docs/programmatic.md)", () => {
  it("runs as pasted against the built package: starts, advances the clock, stops, exits 0", async () => {
    const dir = join(ROOT, "test-results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "docs-create-emulator-example.ts");
    writeFileSync(file, example("create-emulator"));
    // It must end by itself: a server left listening would keep the process alive past the timeout.
    const { stderr } = await run(process.execPath, ["--import", "tsx", file], { cwd: ROOT, timeout: 20_000 });
    expect(stderr).toBe("");
  }, 30_000);
});

describe("the StartupError example (docs/programmatic.md)", () => {
  it("runs as pasted against the built package and names the problem and its exit code", async () => {
    const dir = join(ROOT, "test-results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "docs-startup-error-example.ts");
    writeFileSync(file, example("startup-error"));
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", file], { cwd: ROOT, timeout: 20_000 });
    expect(stderr).toBe("");
    expect(stdout.trim()).toBe("schemas 2");
  }, 30_000);
});
