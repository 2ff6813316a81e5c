import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliPerTest, exitOf, runCli, startCli, withTimeout } from "../helpers/cli.js";
import type { SuccessEnvelope } from "../../src/domain/errors.js";
import { call } from "../helpers/emulator.js";
import { GUIDE_ORDER } from "../helpers/records.js";

/* The real command line, as a child process: `node dist/cli.js ...`. */

const { dir: tempDir } = cliPerTest();

const UPSERT_PATH = "/public/v1/records/profiles/upsert";
const UPSERT_BODY = { record: { email: "a@example.com" }, matchKey: "email" };
const ORDER_BODY = { record: GUIDE_ORDER };

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

type RecordsPage = SuccessEnvelope<{ records: { rowId: string; fields: Record<string, unknown> }[] }>;

async function listRecords(url: string, object: string): Promise<RecordsPage["data"]["records"]> {
  const result = await call<RecordsPage>(`${url}/_emulator/records/${object}`);
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
      const alphaRows = await call<RecordsPage>(`${cli.url}/_emulator/records/profiles`, { token: "alpha" });
      const betaRows = await call<RecordsPage>(`${cli.url}/_emulator/records/profiles`, { token: "beta" });
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
      const result = await runCli(startArgs(dir, ["--schemas", schemas]), { cwd: dir });

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
      const result = await runCli(startArgs(dir, ["--schemas", schemas]), { cwd: dir });

      expect(result.code).not.toBe(0);
      expect(result.code).not.toBeNull();
      expect(result.stderr).toContain("garbled.json");
      expect(result.stderr).toMatch(/not valid JSON/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it("exits non-zero with a clear message when the schemas folder is empty", async () => {
      const schemas = schemasDir({});
      const dir = tempDir();
      const result = await runCli(startArgs(dir, ["--schemas", schemas]), { cwd: dir });

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
      const result = await runCli(["start", "--db", join(dir, "cdp.sqlite"), flag, value], { cwd: dir });

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
        { cwd: dir },
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
      const result = await runCli(["--port", "0", "--db", dir, "--log-level", "silent"], { cwd: dir });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("cannot open the database");
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it("refuses to start on a database file another emulator is using, and says so", async () => {
      const dir = tempDir();
      const db = join(dir, "shared.sqlite");
      const first = await startCli(["--port", "0", "--db", db, "--log-level", "silent"], { cwd: dir });

      const result = await runCli(["--port", "0", "--db", db, "--log-level", "silent"], { cwd: dir });
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
