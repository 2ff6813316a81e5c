import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

/*
 * The real command line, as a child process: `node dist/cli.js ...`. `npm test` builds dist/
 * before vitest runs; on its own, run `npm run build --silent` first.
 */

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const READY_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 10_000;
const READY_LINE = /^cdp-emulator \S+ ready at (http:\/\/127\.0\.0\.1:(\d+)) /;

const UPSERT_PATH = "/public/v1/records/profiles/upsert";
const UPSERT_BODY = { record: { email: "a@example.com" }, matchKey: "email" };
const ORDER_BODY = {
  record: {
    order_id: "ord_9182",
    customer_email: "jane@example.com",
    total: 129.99,
    currency: "USD",
    placed_at: "2026-04-21T15:30:00Z",
  },
};

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface CliProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Settles once the process has exited and its output streams are closed. */
  exited: Promise<Exit>;
}

interface RunningCli extends CliProcess {
  url: string;
  port: number;
  readyLine: string;
}

interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

const children = new Set<CliProcess>();
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "cdp-emulator-cli-"));
  dirs.push(dir);
  return dir;
}

/** The test runner's environment without any CDP_EMULATOR_* setting, plus the given ones. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("CDP_EMULATOR_")) env[name] = value;
  }
  return { ...env, ...extra };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Spawns `node dist/cli.js ...args` in `cwd` (so a default db path lands in the temp dir too). */
function spawnCli(args: string[], options: { cwd: string; env?: Record<string, string> }): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: childEnv(options.env ?? {}),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once("error", reject);
    // 'close' rather than 'exit': it comes after 'exit', once stdout and stderr are drained.
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  const cli: CliProcess = { child, stdout: () => out, stderr: () => err, exited };
  children.add(cli);
  void exited.then(
    () => children.delete(cli),
    () => children.delete(cli),
  );
  return cli;
}

/** Resolves with the ready line once stdout has it; rejects if the process exits first. */
function readyLineOf(cli: CliProcess): Promise<string> {
  const ready = new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const line = cli
        .stdout()
        .split("\n")
        .slice(0, -1) // only complete lines
        .find((candidate) => READY_LINE.test(candidate));
      if (line !== undefined) {
        cli.child.stdout.off("data", check);
        resolve(line);
      }
    };
    cli.child.stdout.on("data", check);
    check();
    void cli.exited.then(
      (exit) => reject(new Error(`exited (${JSON.stringify(exit)}) before it was ready; stderr: ${cli.stderr()}`)),
      reject,
    );
  });
  return withTimeout(ready, READY_TIMEOUT_MS, () => `waiting for the ready line; stdout: ${cli.stdout()} stderr: ${cli.stderr()}`);
}

async function startCli(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<RunningCli> {
  const cli = spawnCli(args, options);
  const readyLine = await readyLineOf(cli);
  const match = READY_LINE.exec(readyLine);
  const url = match?.[1];
  const port = Number(match?.[2]);
  if (url === undefined || !Number.isInteger(port)) throw new Error(`unreadable ready line: ${readyLine}`);
  return { ...cli, url, port, readyLine };
}

function exitOf(cli: CliProcess): Promise<Exit> {
  return withTimeout(cli.exited, EXIT_TIMEOUT_MS, () => `waiting for exit; stdout: ${cli.stdout()} stderr: ${cli.stderr()}`);
}

/** Runs the CLI to completion (for invocations that must refuse to start). */
async function runCli(args: string[], cwd: string): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = spawnCli(args, { cwd });
  const exit = await exitOf(cli);
  return { ...exit, stdout: cli.stdout(), stderr: cli.stderr() };
}

async function call(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<CallResult> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers["Authorization"] = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

/** Resolves with the error's code once a new connection to `url` is refused. */
async function connectionError(url: string): Promise<string | undefined> {
  try {
    await fetch(`${url}/_emulator/health`, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(error);
  }
  return undefined;
}

interface RecordsPage {
  success: boolean;
  data: { records: { rowId: string; fields: Record<string, unknown> }[] };
}

async function listRecords(url: string, object: string): Promise<RecordsPage["data"]["records"]> {
  const result = await call(`${url}/_emulator/records/${object}`);
  expect(result.status).toBe(200);
  return (result.body as RecordsPage).data.records;
}

/**
 * A POST sent with `Expect: 100-continue` (which fetch cannot send, hence node:http): the server
 * answers `100 Continue` only once it has read the request line and headers, so `accepted`
 * resolving proves the request is in flight on the server, not still in a socket buffer, before
 * the test signals the process. `agent: false` sends `Connection: close`, so the socket does not
 * linger as an idle keep-alive connection once the response is sent.
 */
function postInFlight(
  url: string,
  path: string,
  body: unknown,
  token: string,
): { accepted: Promise<void>; response: Promise<{ status: number; text: string }> } {
  const payload = JSON.stringify(body);
  let onAccepted: () => void = () => undefined;
  const accepted = new Promise<void>((resolve) => (onAccepted = resolve));
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, {
      method: "POST",
      agent: false,
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(payload),
        Expect: "100-continue",
      },
      timeout: 5_000,
    });
    req.once("continue", () => {
      req.end(payload);
      onAccepted();
    });
    req.once("timeout", () => req.destroy(new Error("request timed out")));
    req.once("error", reject);
    req.once("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.once("error", reject);
    });
    req.flushHeaders();
  });
  return { accepted: withTimeout(accepted, 5_000, () => "waiting for 100 Continue"), response };
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; run "npm run build" first (npm test does)`);
});

afterEach(async () => {
  const running = [...children];
  for (const cli of running) cli.child.kill("SIGKILL");
  await Promise.allSettled(running.map((cli) => withTimeout(cli.exited, 5_000, () => "waiting for a killed child")));
  children.clear();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("cdp-emulator CLI", () => {
  describe("start-up", () => {
    it("prints one ready line with the URL, the dashboard and the token when started with --port 0", async () => {
      const dir = tempDir();
      const db = join(dir, "cdp.sqlite");
      const cli = await startCli(["start", "--port", "0", "--db", db, "--log-level", "silent"], { cwd: dir });

      expect(cli.port).toBeGreaterThan(0);
      expect(cli.readyLine).toContain(cli.url);
      expect(cli.readyLine).toContain(`dashboard ${cli.url}/_emulator/ui/`);
      expect(cli.readyLine).toContain("token dev-token");
      expect(cli.readyLine).toContain(db);

      const health = await call(`${cli.url}/_emulator/health`);
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ success: true, data: { status: "ok" } });

      // Exactly one line on stdout, and nothing else, even after serving a request.
      expect(cli.stdout()).toBe(`${cli.readyLine}\n`);
    });

    it("starts the emulator when no subcommand is given", async () => {
      const dir = tempDir();
      const cli = await startCli(["--port", "0", "--db", join(dir, "cdp.sqlite"), "--log-level", "silent"], { cwd: dir });

      const health = await call(`${cli.url}/_emulator/health`);
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ success: true, data: { status: "ok" } });
    });
  });

  describe("environment variables", () => {
    it("takes port, db and tokens from CDP_EMULATOR_* when no flag is given", async () => {
      const dir = tempDir();
      const db = join(dir, "env.sqlite");
      const cli = await startCli([], {
        cwd: dir,
        env: {
          CDP_EMULATOR_PORT: "0",
          CDP_EMULATOR_DB: db,
          CDP_EMULATOR_TOKENS: "alpha,beta@other",
          CDP_EMULATOR_LOG_LEVEL: "silent",
        },
      });
      expect(cli.port).toBeGreaterThan(0);
      // Configured tokens are secrets: the ready line only says there are some.
      expect(cli.readyLine).toContain("token <configured>");
      expect(cli.readyLine).not.toMatch(/alpha|beta/);
      expect(cli.readyLine).toContain(db);
      expect(existsSync(db)).toBe(true);

      const accepted = await call(`${cli.url}${UPSERT_PATH}`, { token: "alpha", body: UPSERT_BODY });
      expect(accepted.status).toBe(200);
      expect(accepted.body).toMatchObject({ success: true, data: { operation: "upsert", accepted: true } });

      const refused = await call(`${cli.url}${UPSERT_PATH}`, { token: "dev-token", body: UPSERT_BODY });
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ success: false, error: { code: "CDP_ETL.AUTH.TOKEN_INVALID" } });

      // beta@other is a token for another workspace: it works, and does not see alpha's row.
      const alphaRows = await call(`${cli.url}/_emulator/records/profiles`, { token: "alpha" });
      const betaRows = await call(`${cli.url}/_emulator/records/profiles`, { token: "beta" });
      expect((alphaRows.body as RecordsPage).data.records).toHaveLength(1);
      expect(betaRows.status).toBe(200);
      expect((betaRows.body as RecordsPage).data.records).toHaveLength(0);
    });

    it("lets a --token flag override CDP_EMULATOR_TOKENS", async () => {
      const dir = tempDir();
      const cli = await startCli(["--token", "gamma"], {
        cwd: dir,
        env: {
          CDP_EMULATOR_PORT: "0",
          CDP_EMULATOR_DB: join(dir, "override.sqlite"),
          CDP_EMULATOR_TOKENS: "alpha,beta@other",
          CDP_EMULATOR_LOG_LEVEL: "silent",
        },
      });
      expect(cli.readyLine).toContain("token <configured>,");

      const accepted = await call(`${cli.url}${UPSERT_PATH}`, { token: "gamma", body: UPSERT_BODY });
      expect(accepted.status).toBe(200);

      const refused = await call(`${cli.url}${UPSERT_PATH}`, { token: "alpha", body: UPSERT_BODY });
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ success: false, error: { code: "CDP_ETL.AUTH.TOKEN_INVALID" } });
    });
  });

  describe("shutdown", () => {
    it.each(["SIGTERM", "SIGINT"] as const)(
      "answers the in-flight write with 200, exits 0 and stops accepting on %s",
      async (signal) => {
        const dir = tempDir();
        const cli = await startCli(
          ["start", "--port", "0", "--db", join(dir, "cdp.sqlite"), "--log-level", "silent", "--latency", "400"],
          { cwd: dir },
        );

        const inFlight = postInFlight(cli.url, UPSERT_PATH, UPSERT_BODY, "dev-token");
        await inFlight.accepted;
        const signalledAt = performance.now();
        expect(cli.child.kill(signal)).toBe(true);

        const response = await withTimeout(inFlight.response, 5_000, () => `waiting for the in-flight response; stderr: ${cli.stderr()}`);
        expect(response.status).toBe(200);
        expect(JSON.parse(response.text)).toMatchObject({ success: true, data: { operation: "upsert", accepted: true } });

        const exit = await exitOf(cli);
        expect(exit).toEqual({ code: 0, signal: null });
        // Shutdown waited for the 400 ms write, not for the 10 s grace period.
        expect(performance.now() - signalledAt).toBeLessThan(3_000);
        expect(await connectionError(cli.url)).toBe("ECONNREFUSED");

        // The acknowledged write was committed before the process went away.
        const again = await startCli(["--port", "0", "--db", join(dir, "cdp.sqlite"), "--log-level", "silent"], { cwd: dir });
        const rows = await listRecords(again.url, "profiles");
        expect(rows.map((row) => row.fields)).toEqual([{ email: "a@example.com" }]);
      },
    );
  });

  describe("restart", () => {
    it("keeps acknowledged writes and idempotency keys across a SIGKILL and restart on the same db", async () => {
      const dir = tempDir();
      const db = join(dir, "cdp.sqlite");
      const args = ["start", "--port", "0", "--db", db, "--log-level", "silent"];

      const first = await startCli(args, { cwd: dir });
      const upsert = await call(`${first.url}${UPSERT_PATH}`, {
        token: "dev-token",
        body: UPSERT_BODY,
        headers: { "Idempotency-Key": "k1" },
      });
      expect(upsert.status).toBe(200);
      expect(upsert.headers.get("idempotent-replayed")).toBeNull();
      const append = await call(`${first.url}/public/v1/records/orders/append`, { token: "dev-token", body: ORDER_BODY });
      expect(append.status).toBe(200);

      first.child.kill("SIGKILL");
      expect(await exitOf(first)).toEqual({ code: null, signal: "SIGKILL" });

      const second = await startCli(args, { cwd: dir });

      const profiles = await listRecords(second.url, "profiles");
      expect(profiles.map((row) => row.fields)).toEqual([{ email: "a@example.com" }]);
      const orders = await listRecords(second.url, "orders");
      expect(orders.map((row) => row.fields)).toEqual([ORDER_BODY.record]);

      const replay = await call(`${second.url}${UPSERT_PATH}`, {
        token: "dev-token",
        body: UPSERT_BODY,
        headers: { "Idempotency-Key": "k1" },
      });
      expect(replay.status).toBe(200);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.text).toBe(upsert.text);

      const after = await listRecords(second.url, "profiles");
      expect(after.map((row) => row.rowId)).toEqual(profiles.map((row) => row.rowId));
    });
  });

  describe("refusing to start", () => {
    function schemasDir(files: Record<string, string>): string {
      const dir = join(tempDir(), "schemas");
      mkdirSync(dir);
      for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
      return dir;
    }

    const startArgs = (dir: string, extra: string[]): string[] => [
      "start",
      "--port",
      "0",
      "--db",
      join(dir, "cdp.sqlite"),
      "--log-level",
      "silent",
      ...extra,
    ];

    it("exits non-zero naming broken.json when its primaryKey is not one of its identityKeys", async () => {
      const schemas = schemasDir({
        "broken.json": JSON.stringify({
          type: "object",
          primaryKey: "id",
          identityKeys: ["email"],
          properties: { id: { type: "string" }, email: { type: "string" } },
        }),
      });
      const dir = tempDir();
      const result = await runCli(startArgs(dir, ["--schemas", schemas]), dir);

      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stdout).not.toMatch(/ready at/);
      expect(result.stderr).toContain("broken.json");
      expect(result.stderr).toMatch(/primaryKey "id" must be one of identityKeys/);
      expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    });

    it("exits non-zero naming a schema file that is not valid JSON", async () => {
      const schemas = schemasDir({ "garbled.json": '{"type": "object", "primaryKey": ' });
      const dir = tempDir();
      const result = await runCli(startArgs(dir, ["--schemas", schemas]), dir);

      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stderr).toContain("garbled.json");
      expect(result.stderr).toMatch(/not valid JSON/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it("exits non-zero with a clear message when the schemas folder is empty", async () => {
      const schemas = schemasDir({});
      const dir = tempDir();
      const result = await runCli(startArgs(dir, ["--schemas", schemas]), dir);

      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stderr).toContain(schemas);
      expect(result.stderr).toMatch(/no \*\.json object schemas/);
    });

    it.each([
      { flag: "--port", value: "abc" },
      { flag: "--log-level", value: "loud" },
    ])("exits non-zero with a message naming $flag when given $flag $value", async ({ flag, value }) => {
      const dir = tempDir();
      const result = await runCli(["start", "--db", join(dir, "cdp.sqlite"), flag, value], dir);

      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(flag);
      expect(result.stderr).toContain(`"${value}"`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it("exits non-zero saying the port is in use when another emulator holds it", async () => {
      const dir = tempDir();
      const first = await startCli(["--port", "0", "--db", join(dir, "first.sqlite"), "--log-level", "silent"], { cwd: dir });

      const result = await runCli(
        ["--port", String(first.port), "--db", join(dir, "second.sqlite"), "--log-level", "silent"],
        dir,
      );
      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stdout).not.toMatch(/ready at/);
      expect(result.stderr).toMatch(new RegExp(`port ${first.port} .*is in use`));

      // The first emulator is untouched.
      const health = await call(`${first.url}/_emulator/health`);
      expect(health.status).toBe(200);
    });

    it("exits 2 with one line, no stack, when --db cannot be opened", async () => {
      const dir = tempDir();
      const result = await runCli(["--port", "0", "--db", dir, "--log-level", "silent"], dir);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("cannot open the database");
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it("refuses to start on a database file another emulator is using, and says so", async () => {
      const dir = tempDir();
      const db = join(dir, "shared.sqlite");
      const first = await startCli(["--port", "0", "--db", db, "--log-level", "silent"], { cwd: dir });

      const result = await runCli(["--port", "0", "--db", db, "--log-level", "silent"], dir);
      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stdout).not.toMatch(/ready at/);
      expect(result.stderr).toContain(`database ${db} is in use by another process`);
      expect(result.stderr).not.toMatch(/\n\s+at /);

      const health = await call(`${first.url}/_emulator/health`);
      expect(health.status).toBe(200);
    });
  });
});
