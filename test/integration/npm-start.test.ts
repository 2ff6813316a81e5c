import { spawn } from "node:child_process";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/emulator.js";

/*
 * `npm start` as a newcomer runs it: through npm, from the project's root. `npm test` builds dist/
 * before vitest runs, so the start script finds it fresh.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const READY = /ready at (http:\/\/127\.0\.0\.1:\d+) /;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function npmStart(db: string): { pid: number; ready: Promise<string>; exited: Promise<number | null>; output: () => string } {
  const child = spawn("npm", ["start", "--silent", "--", "--port", "0", "--db", db, "--log-level", "warn"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = READY.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", () => reject(new Error(`npm start exited before it was ready:\n${output}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { pid: child.pid as number, ready, exited, output: () => output };
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
