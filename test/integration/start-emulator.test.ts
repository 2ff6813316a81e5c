import { execFile } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { CdpClient } from "../../src/client/index.js";
import { createEmulator, ControlPlaneError, startEmulator, type StartedEmulator } from "../../src/index.js";
import { emulatorInternals } from "../../src/server.js";
import { tempDir } from "../helpers/emulator.js";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

describe("startEmulator", () => {
  const started: StartedEmulator[] = [];
  const start = async (options: Parameters<typeof startEmulator>[0] = {}): Promise<StartedEmulator> => {
    const emu = await startEmulator(options);
    started.push(emu);
    return emu;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((emu) => emu.stop()));
  });

  it("listens on a free loopback port with an in-memory database and no logs unless told otherwise", async () => {
    const emu = await start();
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.url).not.toBe("http://127.0.0.1:4010");
    expect(emu.apiUrl).toBe(`${emu.url}/public/v1`);
    expect(emu.emulator.config).toMatchObject({ db: ":memory:", logLevel: "silent", host: "127.0.0.1" });
    expect(await emu.control.health()).toMatchObject({ status: "ok", db: { path: ":memory:", open: true } });
  });

  it("hands out dev-token, which writes, reads metadata and lands in the default workspace", async () => {
    const emu = await start();
    expect(emu).toMatchObject({ token: "dev-token", workspace: "default" });
    const cdp = new CdpClient({ baseUrl: emu.apiUrl, token: emu.token });
    await cdp.upsert("profiles", { email: "jane@example.com", tier: "gold" });
    expect((await cdp.getObject("profiles")).objectName).toBe("profiles");
    const rows = await emu.control.records.list("profiles", { workspace: emu.workspace });
    expect(rows.map((row) => row["fields"])).toEqual([{ email: "jane@example.com", tier: "gold" }]);
  });

  it("hands out the first configured token that has every scope, skipping narrower ones", async () => {
    const emu = await start({
      tokens: [
        { token: "reader", workspace: "ci", scopes: ["metadata:read"], expiresAt: null },
        { token: "writer", workspace: "ci", scopes: ["records:write", "records:read", "metadata:read"], expiresAt: null },
      ],
    });
    expect(emu).toMatchObject({ token: "writer", workspace: "ci" });
  });

  it("mints an all-scopes token in the first token's workspace when every configured token is narrow", async () => {
    const emu = await start({ tokens: [{ token: "reader", workspace: "ci", scopes: ["metadata:read"], expiresAt: null }] });
    expect(emu.token).not.toBe("reader");
    expect(emu.workspace).toBe("ci");
    await new CdpClient({ baseUrl: emu.apiUrl, token: emu.token }).upsert("profiles", { email: "sam@example.com" });
    expect(await emu.control.records.list("profiles", { workspace: "ci" })).toHaveLength(1);
  });

  it("applies the scenario it is given before it resolves", async () => {
    const emu = await start({ scenario: "rate-limited" });
    expect((await emu.control.scenarios.list()).active).toBe("rate-limited");
    const response = await fetch(`${emu.apiUrl}/metadata/objects`, { headers: { Authorization: `Bearer ${emu.token}` } });
    expect(response.headers.get("x-ratelimit-limit")).toBe("5");
  });

  it("passes the other createEmulator options through", async () => {
    const emu = await start({ latencyMs: 150, journalSize: 3 });
    const cdp = new CdpClient({ baseUrl: emu.apiUrl, token: emu.token });
    const startedAt = performance.now();
    await cdp.append("events", { event: "signup", occurred_at: "2026-04-21T15:30:00Z" });
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(140);
    expect(emu.emulator.config.journalSize).toBe(3);
  });

  it("stops once however often stop is called, and the port then refuses connections", async () => {
    const emu = await start();
    await Promise.all([emu.stop(), emu.stop()]);
    await emu.stop();
    expect(emulatorInternals(emu.emulator).store.isOpen()).toBe(false);
    await expect(fetch(`${emu.url}/_emulator/health`)).rejects.toThrow();
  });

  it("rejects on a taken port and leaves its database file free for the next emulator", async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, "127.0.0.1", done));
    const { port } = blocker.address() as { port: number };
    const dir = tempDir();
    try {
      const db = join(dir, "cdp.sqlite");
      await expect(startEmulator({ port, db })).rejects.toMatchObject({ code: "EADDRINUSE" });
      // The failed start released its exclusive lock on the file, or this would throw "in use".
      const next = await start({ db });
      expect(await next.control.health()).toMatchObject({ db: { path: db, open: true } });
    } finally {
      blocker.close();
      await Promise.all(started.splice(0).map((emu) => emu.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reaches the control plane through control: seed, records, jobs, scenarios, clock, reset", async () => {
    const emu = await start();
    const { control } = emu;
    expect(await control.seed({ object: "profiles", count: 3, seed: 7 })).toMatchObject({ count: 3, seed: 7, inserted: 3, merged: 0 });
    const [first] = await control.records.list("profiles", { limit: 1 });
    expect(await control.records.get("profiles", String(first!["rowId"]))).toEqual(first);

    const job = await control.jobs.create({ object: "profiles", operation: "upsert-batch", records: [{ email: "a@example.com" }] });
    expect((await control.jobs.list({ state: "completed" })).map((listed) => listed["jobId"])).toEqual([job.jobId]);

    expect((await control.scenarios.list()).scenarios.map((scenario) => scenario.name)).toContain("flaky-5xx");
    expect(await control.scenarios.apply("write-races")).toMatchObject({ applied: "write-races", faults: [expect.any(String)] });
    await control.clock.set("2026-04-21T15:30:00Z");
    expect((await control.clock.get()).now).toMatch(/^2026-04-21T15:30:0/);

    await control.reset();
    expect(await control.records.list("profiles")).toEqual([]);
    await expect(control.records.get("profiles", "rec_missing")).rejects.toBeInstanceOf(ControlPlaneError);
  });

  it("still offers createEmulator from the same entry", () => {
    const emulator = createEmulator({ db: ":memory:", logLevel: "silent" });
    expect(emulator.url).toBeUndefined();
    emulatorInternals(emulator).store.close();
  });
});

describe("the package root", () => {
  it("exports startEmulator, createEmulator and ControlClient from dist, and importing it starts nothing", async () => {
    const cwd = tempDir();
    try {
      const entry = pathToFileURL(join(ROOT, "dist/index.js")).href;
      // A process that stays alive would mean something listens or holds a handle at import time.
      const { stdout } = await run(
        process.execPath,
        ["--input-type=module", "-e", `const m = await import(${JSON.stringify(entry)}); console.log(Object.keys(m).sort().join(" "));`],
        { cwd, timeout: 10_000 },
      );
      expect(stdout.trim().split(" ")).toEqual(expect.arrayContaining(["ControlClient", "createEmulator", "startEmulator", "resolveConfig"]));
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("has the docs' vitest example as a test file that runs it", () => {
    const doc = readFileSync(join(ROOT, "docs/programmatic.md"), "utf8");
    const block = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? "").find((code) => code.startsWith("// docs example: vitest\n"));
    expect(block).toBe(readFileSync(join(ROOT, "test/integration/readme-start-emulator.test.ts"), "utf8"));
  });
});
