import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { startEmulator, type StartedEmulator, type StartEmulatorOptions } from "../../src/index.js";

export const TOKEN = "dev-token";
export const AUTH = { Authorization: `Bearer ${TOKEN}` };

/** A fresh directory under the OS's temporary folder; the caller removes it. */
export function tempDir(prefix = "cdp-emulator-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Temporary directories made one by one and removed together. */
export function tempDirs(prefix = "cdp-emulator-test-"): { make(): string; removeAll(): void } {
  const dirs: string[] = [];
  return {
    make: () => {
      const dir = tempDir(prefix);
      dirs.push(dir);
      return dir;
    },
    removeAll: () => {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The published `StartedEmulator`, its SQLite file in a temporary directory that outlives `stop()`. */
export interface EmulatorOnDisk extends StartedEmulator {
  /** The temporary directory; `stop()` keeps it, so a second emulator can open the same file. */
  readonly dir: string;
  /** The SQLite file the emulator opened (`dir`/cdp.sqlite unless `db` was given). */
  readonly db: string;
  /** Stops the emulator and deletes `dir`. */
  dispose(): Promise<void>;
}

/**
 * The published `startEmulator` on a real SQLite file in a temporary directory (`dir` to reuse
 * one, `db` to reopen a file), everything else passed through as given (a `clock` to inject).
 */
export async function startEmulatorOnDisk(options: StartEmulatorOptions & { dir?: string } = {}): Promise<EmulatorOnDisk> {
  const { dir = tempDir(), ...rest } = options;
  const db = rest.db ?? join(dir, "cdp.sqlite");
  const started = await startEmulator({ ...rest, db });
  const dispose = async (): Promise<void> => {
    await started.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { ...started, dir, db, dispose };
}

export interface PerTest {
  /** `startEmulatorOnDisk(options)`, disposed of after the test. */
  emulator(options?: StartEmulatorOptions & { dir?: string }): Promise<EmulatorOnDisk>;
  /** A temporary directory, removed after the test. */
  dir(): string;
}

/**
 * Emulators and directories that last one test: registers an `afterEach` (so call it at the top
 * of a file or a describe) that disposes of every emulator and removes every directory it made.
 */
export function perTest(prefix = "cdp-emulator-test-"): PerTest {
  const running: EmulatorOnDisk[] = [];
  const dirs = tempDirs(prefix);
  afterEach(async () => {
    // The last started first: a later emulator may have reopened an earlier one's file.
    for (const env of running.splice(0).reverse()) await env.dispose();
    dirs.removeAll();
  });
  return {
    emulator: async (options = {}) => {
      const env = await startEmulatorOnDisk(options);
      running.push(env);
      return env;
    },
    dir: () => dirs.make(),
  };
}

/**
 * One emulator for the enclosing file or describe: `startEmulatorOnDisk(options)` before its first
 * test, disposed of after its last. The object is filled in by that `beforeAll`, so read it in
 * tests and hooks, not while the suite is being collected.
 */
export function perSuite(options: StartEmulatorOptions & { dir?: string } = {}): EmulatorOnDisk {
  const env = {} as EmulatorOnDisk;
  beforeAll(async () => {
    Object.assign(env, await startEmulatorOnDisk(options));
  });
  afterAll(async () => {
    // Nothing to dispose of when the start failed: that failure is the one to see.
    if ("dispose" in env) await env.dispose();
  });
  return env;
}

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

/**
 * fetch() against the emulator, reading the body once as text and as JSON: `body` is sent as JSON,
 * `rawBody` as it is, `token` as `Authorization: Bearer`.
 */
export async function call<T = Record<string, unknown>>(
  url: string,
  init: { method?: string; headers?: Record<string, string>; token?: string; body?: unknown; rawBody?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers["Authorization"] = `Bearer ${init.token}`;
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["Content-Type"] ??= "application/json";
  }
  const response = await fetch(url, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed as T };
}
