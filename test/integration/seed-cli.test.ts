import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliPerTest, runCli, startCli } from "../helpers/cli.js";

/* `cdp-emulator seed` and `start --seed-data`, as the real built CLI in a child process (`node dist/cli.js …`). */

const SEEDED_LINE = /^seeded (\d+) (\w+) into workspace (\S+) \(seed (\d+), db (.+)\) in \d+\.\d s\n$/;

const { dir: tempDir } = cliPerTest("cdp-emulator-seed-cli-");

/** `cdp-emulator start --port 0 --log-level silent …args`, once its ready line is out. */
const serve = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  startCli(["start", "--port", "0", "--log-level", "silent", ...args], { cwd, env });

async function exportLines(url: string, object: string, workspace = "default"): Promise<string[]> {
  const response = await fetch(`${url}/_emulator/export/${object}?workspace=${workspace}`);
  expect(response.status).toBe(200);
  return (await response.text()).split("\n").filter((line) => line !== "");
}

describe("cdp-emulator seed", () => {
  it("writes 10,000 profiles into the database, prints one line and exits 0; the emulator then serves them", async () => {
    const dir = tempDir();
    const db = join(dir, "cdp.sqlite");
    const result = await runCli(["seed", "--object", "profiles", "--count", "10000", "--seed", "42", "--db", db], { cwd: dir });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(SEEDED_LINE);
    expect(SEEDED_LINE.exec(result.stdout)?.slice(1, 6)).toEqual(["10000", "profiles", "default", "42", db]);

    const { url } = await serve(["--db", db], dir);
    expect(await exportLines(url, "profiles")).toHaveLength(10_000);
  });

  it("writes the same records for the same seed on every run, into the named workspace", async () => {
    const dir = tempDir();
    const first = join(dir, "first.sqlite");
    const second = join(dir, "second.sqlite");
    for (const db of [first, second]) {
      const result = await runCli(["seed", "--object", "orders", "--count", "100", "--seed", "7", "--workspace", "shop", "--db", db], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain("into workspace shop");
    }
    const a = await serve(["--db", first], dir);
    const b = await serve(["--db", second], dir);
    const lines = await exportLines(a.url, "orders", "shop");
    expect(lines).toHaveLength(100);
    expect(await exportLines(b.url, "orders", "shop")).toEqual(lines);
  });

  it.each([
    { what: "an unknown object", args: ["--object", "invoices", "--count", "10"], message: /--object "invoices" is not an object of the schemas; objects: events, orders, profiles/ },
    { what: "a count of 0", args: ["--object", "profiles", "--count", "0"], message: /--count must be a whole number from 1 to 1000000 \(got 0\)/ },
    { what: "a count that is not a number", args: ["--object", "profiles", "--count", "lots"], message: /--count must be a whole number from 1 to 1000000 \(got "lots"\)/ },
    { what: "no object", args: ["--count", "10"], message: /--object must be an object name/ },
    { what: "a negative seed", args: ["--object", "profiles", "--count", "10", "--seed", "-3"], message: /--seed must be a whole number/ },
  ])("exits 2 with one line for $what", async ({ args, message }) => {
    const dir = tempDir();
    const result = await runCli(["seed", ...args, "--db", join(dir, "cdp.sqlite")], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("exits 1 naming the database when a running emulator holds it, and writes nothing", async () => {
    const dir = tempDir();
    const db = join(dir, "cdp.sqlite");
    const { url } = await serve(["--db", db], dir);
    const result = await runCli(["seed", "--object", "profiles", "--count", "10", "--db", db], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`database ${db} is in use by another process`);
    expect(result.stderr).toContain("POST /_emulator/seed");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await exportLines(url, "profiles")).toEqual([]);
  });
});

describe("cdp-emulator start --seed-data", () => {
  const FIXTURES =
    '{"object":"profiles","record":{"email":"jane@example.com","tier":"gold"}}\n' +
    '{"object":"orders","workspace":"shop","record":{"order_id":"ord_1","total":12.5,"currency":"EUR","placed_at":"2026-04-21T15:30:00Z"}}\n';

  it("loads the file's records at start", async () => {
    const dir = tempDir();
    const file = join(dir, "fixtures.ndjson");
    writeFileSync(file, FIXTURES);
    const { url } = await serve(["--db", join(dir, "cdp.sqlite"), "--seed-data", file], dir);
    expect(await exportLines(url, "profiles")).toEqual([
      '{"object":"profiles","workspace":"default","record":{"email":"jane@example.com","tier":"gold"}}',
    ]);
    expect(await exportLines(url, "orders", "shop")).toHaveLength(1);
  });

  it("takes the file from CDP_EMULATOR_SEED_DATA, and loading it again on restart does not duplicate keyed rows", async () => {
    const dir = tempDir();
    const file = join(dir, "fixtures.ndjson");
    writeFileSync(file, FIXTURES);
    const db = join(dir, "cdp.sqlite");
    const first = await serve(["--db", db], dir, { CDP_EMULATOR_SEED_DATA: file });
    expect(await exportLines(first.url, "profiles")).toHaveLength(1);
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);

    const second = await serve(["--db", db], dir, { CDP_EMULATOR_SEED_DATA: file });
    expect(await exportLines(second.url, "profiles")).toHaveLength(1);
  });

  it("exits 2 naming the file and line when a line is bad", async () => {
    const dir = tempDir();
    const file = join(dir, "fixtures.ndjson");
    writeFileSync(file, `${FIXTURES}{"object":"profiles","record":{"email":"nope"}}\n`);
    const result = await runCli(["start", "--port", "0", "--log-level", "silent", "--db", join(dir, "cdp.sqlite"), "--seed-data", file], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).not.toMatch(/ready at/);
    expect(result.stderr).toContain(`${file} line 3: record.email: invalid email format`);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});
