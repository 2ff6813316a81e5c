import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEmulator, EmulatorClock, type Emulator, type EmulatorOptions } from "../../src/server.js";

export const TOKEN = "dev-token";
export const AUTH = { Authorization: `Bearer ${TOKEN}` };

export interface TestEmulator {
  emulator: Emulator;
  url: string;
  clock: EmulatorClock;
  dbPath: string;
  dir: string;
  /** Stops the server and closes the db; the directory is kept for restart tests. */
  stop(): Promise<void>;
  /** Stops and deletes the temporary directory. */
  dispose(): Promise<void>;
}

export function tempDir(prefix = "cdp-emulator-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A real emulator on a free loopback port with its own SQLite file and a frozen-able clock. */
export async function startEmulator(options: EmulatorOptions & { dir?: string } = {}): Promise<TestEmulator> {
  const { dir: givenDir, ...rest } = options;
  const dir = givenDir ?? tempDir();
  const dbPath = rest.db ?? join(dir, "cdp.sqlite");
  const clock = rest.clock ?? new EmulatorClock();
  const emulator = createEmulator({ port: 0, host: "127.0.0.1", logLevel: "silent", ...rest, db: dbPath, clock });
  const { url } = await emulator.start();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await emulator.stop();
  };
  return {
    emulator,
    url,
    clock,
    dbPath,
    dir,
    stop,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

/** fetch() against the emulator, reading the body once as text and as JSON. */
export async function call<T = Record<string, unknown>>(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
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
