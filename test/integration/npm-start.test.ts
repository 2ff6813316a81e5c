import { spawn } from "node:child_process";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { watchCli, type Exit } from "../helpers/cli.js";
import { tempDir } from "../helpers/emulator.js";

/*
 * `npm start` as a newcomer runs it: through npm, from the project's root. `npm test` builds dist/
 * before vitest runs, so the start script finds it fresh.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function npmStart(db: string): { pid: number; ready: Promise<string>; exited: Promise<Exit> } {
  const child = spawn("npm", ["start", "--silent", "--", "--port", "0", "--db", db, "--log-level", "warn"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { ready, exited } = watchCli(child, { timeoutMs: 30_000 });
  return { pid: child.pid as number, ready, exited };
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/_emulator/health`, { signal: AbortSignal.timeout(1_000) });
    return false;
  } catch {
    return true;
  }
}

describe("npm start", () => {
  it("stops the emulator itself when npm start's own pid gets SIGTERM, freeing the port and the database", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = join(dir, "cdp.sqlite");
    const first = npmStart(db);
    const url = await first.ready;
    expect((await fetch(`${url}/_emulator/health`)).status).toBe(200);

    process.kill(first.pid, "SIGTERM");
    await first.exited;
    await expect.poll(() => refused(url), { timeout: 10_000, interval: 100 }).toBe(true);

    // The database lock went with the emulator: a second start on the same file is ready.
    const second = npmStart(db);
    const again = await second.ready;
    process.kill(second.pid, "SIGTERM");
    await second.exited;
    await expect.poll(() => refused(again), { timeout: 10_000, interval: 100 }).toBe(true);
  }, 60_000);

  it("does not rebuild when dist/ is newer than src/", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const before = statSync(join(ROOT, "dist/cli.js")).mtimeMs;
    const run = npmStart(join(dir, "cdp.sqlite"));
    await run.ready;
    process.kill(run.pid, "SIGTERM");
    await run.exited;
    expect(statSync(join(ROOT, "dist/cli.js")).mtimeMs).toBe(before);
  }, 60_000);
});
