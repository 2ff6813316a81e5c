import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StartupError, ControlClient, ControlPlaneError, createEmulator, resolveConfig, startEmulator, type StartedEmulator } from "../../src/index.js";
import { cliPerTest, startCli as start } from "../helpers/cli.js";
import { tempDir } from "../helpers/emulator.js";

/*
 * The control plane (/_emulator) and the dashboard answer only the developer's own tools: no other
 * web page (Origin), no DNS-rebinding name (Host), and, when one is configured, only callers with
 * the control token. All through real HTTP; Host and Origin are set with node:http, since fetch
 * sends no Origin and may not set Host.
 */

const CONTROL_TOKEN = "control-secret-0123456789abcdef";
const FOREIGN_ORIGIN = "https://attacker.example";
const FORBIDDEN = "CDP_ETL.AUTH.FORBIDDEN";

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: { success?: boolean; data?: unknown; error?: { code?: string; message?: string } } | undefined;
}

/** One request with exactly the headers given (Host included); the default Host is the URL's. */
function raw(url: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<RawResponse> {
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  const headers: Record<string, string> = { ...init.headers };
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: init.method ?? "GET", headers, agent: false, timeout: 5_000 });
    req.once("timeout", () => req.destroy(new Error(`${path} timed out`)));
    req.once("error", reject);
    req.once("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.once("end", () => {
        let body: RawResponse["body"];
        try {
          body = JSON.parse(text) as RawResponse["body"];
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
    });
    req.end(payload);
  });
}

const portOf = (url: string): string => new URL(url).port;
const corsHeaders = (headers: IncomingHttpHeaders): string[] => Object.keys(headers).filter((name) => name.startsWith("access-control-"));

/** A dashboard build stand-in: the guard and the headers are what is under test, not the bundle. */
function fakeUi(): string {
  const dir = join(tempDir("cdp-emulator-ui-"), "ui");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "index.html"), '<!doctype html><script type="module" src="/_emulator/ui/app.js"></script>');
  writeFileSync(join(dir, "app.js"), "export {};\n");
  return dir;
}

describe("the control plane without a control token", () => {
  let emu: StartedEmulator;
  let own: string;

  beforeAll(async () => {
    emu = await startEmulator({ uiDir: fakeUi(), allowedHosts: ["cdp-emulator"] });
    own = `http://127.0.0.1:${portOf(emu.url)}`;
  });
  afterAll(async () => {
    await emu?.stop();
  });

  it.each([
    { what: "a GET of records", method: "GET", path: "/_emulator/records/profiles" },
    { what: "a POST that wipes everything", method: "POST", path: "/_emulator/reset", body: {} },
    { what: "a POST that mints a token", method: "POST", path: "/_emulator/tokens", body: { workspace: "default" } },
    { what: "the dashboard", method: "GET", path: "/_emulator/ui/" },
  ])("refuses $what from another web page (foreign Origin) with a 403 envelope", async ({ method, path, body }) => {
    await emu.control.records.put("profiles", [{ email: "kept@example.com" }]);
    const answer = await raw(emu.url, path, { method, body, headers: { Origin: FOREIGN_ORIGIN } });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ success: false, error: { code: FORBIDDEN, message: expect.stringMatching(/cross-origin requests to the control plane are refused/i) } });
    expect(corsHeaders(answer.headers)).toEqual([]);
    // Nothing happened: the row is still there.
    expect(await emu.control.records.list("profiles")).toHaveLength(1);
    await emu.control.reset();
  });

  it.each([
    { what: "null (a sandboxed frame or a file: page)", origin: "null" },
    { what: "the same host on another port", origin: "http://127.0.0.1:1" },
    { what: "https on the same host and port", origin: "https://127.0.0.1:PORT" },
    { what: "a localhost page while Host is 127.0.0.1", origin: "http://localhost:PORT" },
  ])("treats an Origin of $what as foreign", async ({ origin }) => {
    const answer = await raw(emu.url, "/_emulator/faults", { headers: { Origin: origin.replace("PORT", portOf(emu.url)) } });
    expect(answer.status).toBe(403);
    expect(answer.body?.error?.code).toBe(FORBIDDEN);
  });

  it("answers its own origin (the dashboard's calls), for a GET and a POST", async () => {
    const read = await raw(emu.url, "/_emulator/faults", { headers: { Origin: own } });
    expect(read.status).toBe(200);
    const write = await raw(emu.url, "/_emulator/jobs/release", { method: "POST", body: {}, headers: { Origin: own } });
    expect(write.status).toBe(200);
    const viaLocalhost = await raw(emu.url, "/_emulator/faults", {
      headers: { Host: `LocalHost:${portOf(emu.url)}`, Origin: `http://localhost:${portOf(emu.url)}` },
    });
    expect(viaLocalhost.status).toBe(200);
  });

  it.each([
    { what: "a rebound name, same-origin to itself", host: "attacker.example:PORT", origin: "http://attacker.example:PORT" },
    { what: "a rebound name, no Origin", host: "attacker.example:PORT" },
    { what: "a name that only ends like an allowed one", host: "evil-cdp-emulator:PORT" },
    { what: "a name with a path trick", host: "127.0.0.1@attacker.example" },
  ])("refuses a foreign Host ($what) with a 403 that names --allowed-host", async ({ host, origin }) => {
    const port = portOf(emu.url);
    const headers: Record<string, string> = { Host: host.replace("PORT", port) };
    if (origin !== undefined) headers["Origin"] = origin.replace("PORT", port);
    for (const path of ["/_emulator/records/profiles", "/_emulator/ui/"]) {
      const answer = await raw(emu.url, path, { headers });
      expect(answer.status, path).toBe(403);
      expect(answer.body).toMatchObject({ success: false, error: { code: FORBIDDEN, message: expect.stringContaining("--allowed-host") } });
    }
    const minted = await raw(emu.url, "/_emulator/tokens", { method: "POST", body: { workspace: "default" }, headers });
    expect(minted.status).toBe(403);
  });

  it.each(["localhost", "LOCALHOST", "127.0.0.1", "[::1]", "dashboard.localhost", "127.0.0.2", "cdp-emulator", "CDP-Emulator"])(
    "answers Host %s (loopback, or given with --allowed-host), with or without the port",
    async (name) => {
      for (const host of [name, `${name}:${portOf(emu.url)}`]) {
        const answer = await raw(emu.url, "/_emulator/faults", { headers: { Host: host } });
        expect(answer.status, host).toBe(200);
      }
    },
  );

  it("keeps GET /_emulator/health open to any host and origin", async () => {
    const answer = await raw(emu.url, "/_emulator/health", { headers: { Host: "attacker.example", Origin: FOREIGN_ORIGIN } });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ success: true, data: { status: "ok" } });
  });

  it("sends no Access-Control-Allow-* header on any answer, preflights included", async () => {
    const requests: { path: string; method?: string; headers?: Record<string, string> }[] = [
      { path: "/_emulator/health", headers: { Origin: FOREIGN_ORIGIN } },
      { path: "/_emulator/faults", headers: { Origin: own } },
      { path: "/_emulator/faults", headers: { Origin: FOREIGN_ORIGIN } },
      { path: "/_emulator/reset", method: "OPTIONS", headers: { Origin: FOREIGN_ORIGIN, "Access-Control-Request-Method": "POST" } },
      { path: "/_emulator/ui/", headers: { Origin: own } },
      { path: "/public/v1/metadata/objects", headers: { Origin: FOREIGN_ORIGIN, Authorization: `Bearer ${emu.token}` } },
      { path: "/public/v1/metadata/objects", method: "OPTIONS", headers: { Origin: FOREIGN_ORIGIN, "Access-Control-Request-Method": "GET" } },
    ];
    for (const request of requests) {
      const answer = await raw(emu.url, request.path, request);
      expect(corsHeaders(answer.headers), `${request.method ?? "GET"} ${request.path}`).toEqual([]);
    }
  });

  it("serves the dashboard with a strict Content-Security-Policy, nosniff and no referrer", async () => {
    for (const path of ["/_emulator/ui/", "/_emulator/ui/app.js"]) {
      const answer = await raw(emu.url, path);
      expect(answer.status, path).toBe(200);
      const policy = String(answer.headers["content-security-policy"]);
      const directives = Object.fromEntries(policy.split(";").map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(" ")]));
      expect(directives).toMatchObject({
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "connect-src": "'self'",
        "frame-ancestors": "'none'",
      });
      expect(policy).not.toContain("unsafe-inline");
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      expect(answer.headers["referrer-policy"]).toBe("no-referrer");
    }
  });

  it("ships a dashboard page with no inline script or style, which that policy would block", () => {
    const html = readFileSync(fileURLToPath(new URL("../../src/ui/index.html", import.meta.url)), "utf8");
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes = "", content = ""] of scripts) {
      expect(attributes).toMatch(/\bsrc=/);
      expect(content.trim()).toBe("");
    }
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });
});

describe("the control plane with a control token", () => {
  let emu: StartedEmulator;

  beforeAll(async () => {
    emu = await startEmulator({ uiDir: fakeUi(), controlToken: CONTROL_TOKEN });
  });
  afterAll(async () => {
    await emu?.stop();
  });

  it.each([
    { method: "GET", path: "/_emulator/records/profiles" },
    { method: "POST", path: "/_emulator/reset", body: {} },
    { method: "POST", path: "/_emulator/workspaces", body: {} },
    { method: "GET", path: "/_emulator/events" },
    { method: "GET", path: "/_emulator/export/profiles" },
  ])("refuses $method $path without it (401 UNAUTHORIZED) and with a wrong one (401 TOKEN_INVALID)", async ({ method, path, body }) => {
    const missing = await raw(emu.url, path, { method, body });
    expect(missing.status).toBe(401);
    expect(missing.body?.error?.code).toBe("CDP_ETL.AUTH.UNAUTHORIZED");
    expect(missing.body?.error?.message).toContain("--control-token");
    expect(missing.headers["www-authenticate"]).toBe('Bearer realm="cdp-emulator-control"');
    for (const authorization of [`Bearer ${CONTROL_TOKEN.slice(0, -1)}x`, `Bearer ${emu.token}`, `Basic ${CONTROL_TOKEN}`, `Bearer ${CONTROL_TOKEN} extra`]) {
      const wrong = await raw(emu.url, path, { method, body, headers: { Authorization: authorization } });
      expect(wrong.status, authorization).toBe(401);
      expect(wrong.body?.error?.code).toBe("CDP_ETL.AUTH.TOKEN_INVALID");
      expect(wrong.text).not.toContain(CONTROL_TOKEN);
    }
  });

  it("answers a call that carries it, and then picks the workspace from ?workspace=, not from the header", async () => {
    const { workspace, token } = await emu.control.workspaces.create();
    const written = await fetch(`${emu.apiUrl}/records/profiles/upsert`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ record: { email: "ws@example.com" } }),
    });
    expect(written.status).toBe(200);
    const listed = await raw(emu.url, `/_emulator/records/profiles?workspace=${workspace}`, { headers: { Authorization: `bearer ${CONTROL_TOKEN}` } });
    expect(listed.status).toBe(200);
    expect(listed.body?.data).toMatchObject({ records: [{ fields: { email: "ws@example.com" } }] });
  });

  it("still checks Host and Origin before the token", async () => {
    const foreign = await raw(emu.url, "/_emulator/faults", { headers: { Authorization: `Bearer ${CONTROL_TOKEN}`, Host: "attacker.example" } });
    expect(foreign.status).toBe(403);
    const crossOrigin = await raw(emu.url, "/_emulator/faults", { headers: { Authorization: `Bearer ${CONTROL_TOKEN}`, Origin: FOREIGN_ORIGIN } });
    expect(crossOrigin.status).toBe(403);
  });

  it("keeps health open without it", async () => {
    const answer = await raw(emu.url, "/_emulator/health", { headers: { Host: "attacker.example" } });
    expect(answer.status).toBe(200);
  });

  it("serves the dashboard's files without it (they hold no data), but not to a foreign Host or Origin", async () => {
    expect((await raw(emu.url, "/_emulator/ui/")).status).toBe(200);
    expect((await raw(emu.url, "/_emulator/ui/app.js")).status).toBe(200);
    expect((await raw(emu.url, "/_emulator/ui/", { headers: { Host: "attacker.example" } })).status).toBe(403);
    expect((await raw(emu.url, "/_emulator/ui/", { headers: { Origin: FOREIGN_ORIGIN } })).status).toBe(403);
  });

  it("lets the ControlClient of startEmulator in, since it sends the token; one without it is refused", async () => {
    await emu.control.records.put("profiles", [{ email: "client@example.com" }]);
    expect(await emu.control.records.list("profiles")).toHaveLength(1);
    expect(await emu.control.faults.list()).toEqual([]);
    const bare = new ControlClient(emu.url);
    await expect(bare.faults.list()).rejects.toMatchObject({ status: 401, code: "CDP_ETL.AUTH.UNAUTHORIZED" });
    const wrong = new ControlClient(emu.url, { controlToken: "not-the-control-token" });
    const refusal = await wrong.faults.list().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ControlPlaneError);
    expect(refusal).toMatchObject({ status: 401, code: "CDP_ETL.AUTH.TOKEN_INVALID" });
    expect(await new ControlClient(emu.url, { controlToken: CONTROL_TOKEN }).health()).toMatchObject({ status: "ok" });
  });

  it("streams events to a caller with the token in the header", async () => {
    const abort = new AbortController();
    const response = await fetch(`${emu.url}/_emulator/events`, { headers: { Authorization: `Bearer ${CONTROL_TOKEN}` }, signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    abort.abort();
  });
});

describe("control-plane settings", () => {
  it.each([
    { what: "shorter than 16 characters", token: "short-token", message: /at least 16 characters/ },
    { what: "holding whitespace", token: "a long token with spaces", message: /whitespace/ },
  ])("refuses a control token $what, without quoting it", ({ token, message }) => {
    for (const settings of [
      () => resolveConfig({ controlToken: token }, {}),
      () => resolveConfig({}, { CDP_EMULATOR_CONTROL_TOKEN: token }),
      () => createEmulator({ controlToken: token, db: ":memory:", logLevel: "silent" }),
    ]) {
      expect(settings).toThrowError(StartupError);
      expect(settings).toThrowError(message);
      expect(settings).not.toThrowError(token);
    }
  });

  it("reads the control token and allowed hosts from flags or environment, a flag winning", () => {
    const env = { CDP_EMULATOR_CONTROL_TOKEN: CONTROL_TOKEN, CDP_EMULATOR_ALLOWED_HOSTS: "cdp-emulator, Emulator.Internal,[::1]" };
    expect(resolveConfig({}, env)).toMatchObject({ controlToken: CONTROL_TOKEN, allowedHosts: ["cdp-emulator", "emulator.internal", "[::1]"] });
    expect(resolveConfig({ allowedHost: ["a", "b"], controlToken: `${CONTROL_TOKEN}-2` }, env)).toMatchObject({
      controlToken: `${CONTROL_TOKEN}-2`,
      allowedHosts: ["a", "b"],
    });
    expect(resolveConfig({}, {})).toMatchObject({ controlToken: null, allowedHosts: [] });
  });

  it.each(["http://cdp-emulator", "cdp-emulator:4010", "cdp emulator", "host/path"])("refuses --allowed-host %s", (host) => {
    expect(() => resolveConfig({ allowedHost: [host] }, {})).toThrowError(/--allowed-host/);
  });
});

/*
 * The real command line, as a child process (`node dist/cli.js`, built by `npm test` first; on
 * its own, run `npm run build --silent` first).
 */
describe("the command line", () => {
  const CUSTOM_TOKEN = "custom-data-token-9f8e7d6c";
  const { dir: cliDir } = cliPerTest();

  /** `cdp-emulator start ...args` on a fresh database, with no CDP_EMULATOR_* from the test's environment; resolves at the ready line. */
  async function startCli(args: string[], env: Record<string, string> = {}) {
    const dir = cliDir();
    const cli = await start(["start", "--port", "0", "--db", join(dir, "cdp.sqlite"), ...args], { cwd: dir, env });
    // The ready line names the address it listens on (0.0.0.0 too); loopback reaches each one.
    return { ...cli, url: `http://127.0.0.1:${cli.port}` };
  }

  it("warns once on stderr, saying how to close it, when it listens on 0.0.0.0 without a control token", async () => {
    const cli = await startCli(["--host", "0.0.0.0", "--log-level", "silent"]);
    const lines = cli.stderr().split("\n").filter((line) => line !== "");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WARNING.*control plane .* open to anyone who can reach port \d+/);
    expect(lines[0]).toContain("--control-token");
    expect(lines[0]).toContain("CDP_EMULATOR_CONTROL_TOKEN");
    expect(lines[0]).toContain("--host 127.0.0.1");
    // Reached by an interface address of the machine: 127.0.0.1 is always one.
    expect((await fetch(`${cli.url}/_emulator/faults`)).status).toBe(200);
  });

  it.each<{ what: string; args: string[]; env: Record<string, string> }>([
    { what: "on 0.0.0.0 with a control token", args: ["--host", "0.0.0.0"], env: { CDP_EMULATOR_CONTROL_TOKEN: CONTROL_TOKEN } },
    { what: "on loopback without one", args: ["--host", "127.0.0.1"], env: {} },
  ])("does not warn $what", async ({ args, env }) => {
    const cli = await startCli([...args, "--log-level", "silent"], env);
    expect(cli.stderr()).toBe("");
  });

  it("prints dev-token on the ready line, but never a configured token or the control token", async () => {
    const dev = await startCli(["--log-level", "silent"]);
    expect(dev.readyLine).toContain("token dev-token");
    const configured = await startCli(["--token", CUSTOM_TOKEN, "--control-token", CONTROL_TOKEN, "--log-level", "silent"]);
    expect(configured.readyLine).toContain("token <configured>");
    expect(configured.readyLine).toContain("control token <configured>");
    expect(configured.stdout() + configured.stderr()).not.toContain(CUSTOM_TOKEN);
    expect(configured.stdout() + configured.stderr()).not.toContain(CONTROL_TOKEN);
  });

  it("keeps a configured token and the control token out of logs, journal, events and export", async () => {
    const cli = await startCli(["--token", CUSTOM_TOKEN, "--control-token", CONTROL_TOKEN, "--log-level", "trace"]);
    const control = { Authorization: `Bearer ${CONTROL_TOKEN}` };
    const write = (token: string, record: Record<string, unknown>) =>
      fetch(`${cli.url}/public/v1/records/profiles/upsert`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "X-Correlation-Id": "secrets-test" },
        body: JSON.stringify({ record }),
      });
    expect((await write(CUSTOM_TOKEN, { email: "secret@example.com" })).status).toBe(200);
    expect((await write(`${CUSTOM_TOKEN}x`, { email: "wrong@example.com" })).status).toBe(401);
    expect((await write(CUSTOM_TOKEN, { email: 42 })).status).toBe(400);
    expect((await fetch(`${cli.url}/_emulator/faults`, { headers: { Authorization: `Bearer ${CONTROL_TOKEN}x` } })).status).toBe(401);

    const journal = await fetch(`${cli.url}/_emulator/journal`, { headers: control });
    expect(journal.status).toBe(200);
    const journalText = await journal.text();
    expect(journalText).toContain("secret@example.com");

    const exported = await fetch(`${cli.url}/_emulator/export/profiles`, { headers: control });
    expect(exported.status).toBe(200);
    const exportText = await exported.text();
    expect(exportText).toContain("secret@example.com");

    const abort = new AbortController();
    const events = await fetch(`${cli.url}/_emulator/events?since=0`, { headers: control, signal: abort.signal });
    expect(events.status).toBe(200);
    let eventsText = "";
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    // The three public requests above, replayed from the journal (since=0).
    while ((eventsText.match(/^event: entry$/gm) ?? []).length < 3) {
      const { done, value } = await reader.read();
      if (done) break;
      eventsText += value;
    }
    abort.abort();
    expect(eventsText).toContain("secret@example.com");

    // The log lines reach stdout asynchronously.
    await expect.poll(() => cli.stdout()).toContain("secrets-test");
    expect(cli.stdout()).toContain("secrets-test");
    for (const [where, text] of Object.entries({ stdout: cli.stdout(), stderr: cli.stderr(), journal: journalText, events: eventsText, export: exportText })) {
      expect(text, where).not.toContain(CUSTOM_TOKEN);
      expect(text, where).not.toContain(CONTROL_TOKEN);
    }
  });
});
