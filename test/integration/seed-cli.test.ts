import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

/*
 * `cdp-emulator seed` and `start --seed-data`, as the real built CLI in a child process
 * (`node dist/cli.js …`). `npm test` builds dist/ first; on its own, run `npm run build --silent`.
 */

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const TIMEOUT_MS = 15_000;
const READY_LINE = /^cdp-emulator \S+ ready at (http:\/\/127\.0\.0\.1:\d+) /m;
const SEEDED_LINE = /^seeded (\d+) (\w+) into workspace (\S+) \(seed (\d+), db (.+)\) in \d+\.\d s\n$/;

interface Child {
  child: ChildProcessByStdio<null, Readable, Readable>;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<Child>();
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "cdp-emulator-seed-cli-"));
  dirs.push(dir);
  return dir;
}

/** The runner's environment without any CDP_EMULATOR_* setting, plus the given ones. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("CDP_EMULATOR_")) env[name] = value;
  return { ...env, ...extra };
}

function spawnCli(args: string[], options: { cwd: string; env?: Record<string, string> }): Child {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: childEnv(options.env ?? {}), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  const handle: Child = { child, stdout: () => out, stderr: () => err, exited };
  children.add(handle);
  void exited.finally(() => children.delete(handle));
  return handle;
}

async function runCli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const cli = spawnCli(args, { cwd, env });
  const exit = await cli.exited;
  return { ...exit, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** Starts `cdp-emulator start …` and resolves with its URL once the ready line is out. */
async function startCli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ url: string; cli: Child }> {
  const cli = spawnCli(["start", "--port", "0", "--log-level", "silent", ...args], { cwd, env });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in time; stderr: ${cli.stderr()}`)), TIMEOUT_MS);
    const check = (): void => {
      const match = READY_LINE.exec(cli.stdout());
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    cli.child.stdout.on("data", check);
    void cli.exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`exited ${JSON.stringify(exit)} before it was ready; stderr: ${cli.stderr()}`));
    });
  });
  return { url, cli };
}

async function exportLines(url: string, object: string, workspace = "default"): Promise<string[]> {
  const response = await fetch(`${url}/_emulator/export/${object}?workspace=${workspace}`);
  expect(response.status).toBe(200);
  return (await response.text()).split("\n").filter((line) => line !== "");
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; run "npm run build" first (npm test does)`);
});

afterEach(async () => {
  const alive = [...children];
  for (const cli of alive) cli.child.kill("SIGKILL");
  await Promise.allSettled(alive.map((cli) => cli.exited));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("cdp-emulator seed", () => {
  it("writes 10,000 profiles into the database, prints one line and exits 0; the emulator then serves them", async () => {
    const dir = tempDir();
    const db = join(dir, "cdp.sqlite");
    const result = await runCli(["seed", "--object", "profiles", "--count", "10000", "--seed", "42", "--db", db], dir);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(SEEDED_LINE);
    expect(SEEDED_LINE.exec(result.stdout)?.slice(1, 6)).toEqual(["10000", "profiles", "default", "42", db]);

    const { url } = await startCli(["--db", db], dir);
    expect(await exportLines(url, "profiles")).toHaveLength(10_000);
  });

  it("writes the same records for the same seed on every run, into the named workspace", async () => {
    const dir = tempDir();
    const first = join(dir, "first.sqlite");
    const second = join(dir, "second.sqlite");
    for (const db of [first, second]) {
      const result = await runCli(["seed", "--object", "orders", "--count", "100", "--seed", "7", "--workspace", "shop", "--db", db], dir);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain("into workspace shop");
    }
    const a = await startCli(["--db", first], dir);
    const b = await startCli(["--db", second], dir);
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
    const result = await runCli(["seed", ...args, "--db", join(dir, "cdp.sqlite")], dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("exits 1 naming the database when a running emulator holds it, and writes nothing", async () => {
    const dir = tempDir();
    const db = join(dir, "cdp.sqlite");
    const { url } = await startCli(["--db", db], dir);
    const result = await runCli(["seed", "--object", "profiles", "--count", "10", "--db", db], dir);
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
    const { url } = await startCli(["--db", join(dir, "cdp.sqlite"), "--seed-data", file], dir);
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
    const first = await startCli(["--db", db], dir, { CDP_EMULATOR_SEED_DATA: file });
    expect(await exportLines(first.url, "profiles")).toHaveLength(1);
    first.cli.child.kill("SIGTERM");
    expect((await first.cli.exited).code).toBe(0);

    const second = await startCli(["--db", db], dir, { CDP_EMULATOR_SEED_DATA: file });
    expect(await exportLines(second.url, "profiles")).toHaveLength(1);
  });

  it("exits 2 naming the file and line when a line is bad", async () => {
    const dir = tempDir();
    const file = join(dir, "fixtures.ndjson");
    writeFileSync(file, `${FIXTURES}{"object":"profiles","record":{"email":"nope"}}\n`);
    const result = await runCli(["start", "--port", "0", "--log-level", "silent", "--db", join(dir, "cdp.sqlite"), "--seed-data", file], dir);
    expect(result.code).toBe(2);
    expect(result.stdout).not.toMatch(/ready at/);
    expect(result.stderr).toContain(`${file} line 3: record.email: invalid email format`);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});
