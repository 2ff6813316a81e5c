import { afterEach, describe, expect, it } from "vitest";
import { emulatorInternals } from "../../src/server.js";
import { AUTH, call, startEmulatorOnDisk, tempDir, type EmulatorOnDisk } from "../helpers/emulator.js";

describe("start and stop", () => {
  const running: EmulatorOnDisk[] = [];
  afterEach(async () => {
    for (const env of running.splice(0)) await env.dispose();
  });

  it("finishes an in-flight write on stop, then closes its keep-alive connection instead of waiting for the client", async () => {
    const env = await startEmulatorOnDisk({ latencyMs: 300 });
    running.push(env);
    // fetch keeps the connection alive after the response; stop() must not wait for it to time out.
    const inFlight = call(`${env.url}/public/v1/records/profiles/upsert`, { headers: AUTH, body: { record: { email: "late@example.com" } } });
    // Wall time on purpose: the write must be inside its 300 ms of latency when stop() comes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = env.stop().then(() => "stopped" as const);
    const response = await inFlight;
    expect(response.status).toBe(200);
    // Node's server keep-alive timeout is 5 s: finishing well before it shows the socket was closed.
    const outcome = await Promise.race([stopped, new Promise((resolve) => setTimeout(() => resolve("still waiting"), 3_000))]);
    expect(outcome).toBe("stopped");
    expect(emulatorInternals(env.emulator).store.isOpen()).toBe(false);
  });

  it("revokes a configured token that a later start no longer configures, on the same database", async () => {
    const dir = tempDir();
    const first = await startEmulatorOnDisk({ dir });
    running.push(first);
    await first.stop();
    const second = await startEmulatorOnDisk({
      dir,
      db: first.db,
      tokens: [{ token: "alpha", workspace: "default", scopes: ["records:write"], expiresAt: null }],
    });
    running.push(second);
    const old = await call<{ error: { code: string } }>(`${second.url}/public/v1/records/profiles/upsert`, {
      headers: AUTH,
      body: { record: { email: "a@example.com" } },
    });
    expect(old.status).toBe(401);
    expect(old.body.error.code).toBe("CDP_ETL.AUTH.TOKEN_INVALID");
    const current = await call(`${second.url}/public/v1/records/profiles/upsert`, {
      headers: { Authorization: "Bearer alpha" },
      body: { record: { email: "a@example.com" } },
    });
    expect(current.status).toBe(200);
  });
});
