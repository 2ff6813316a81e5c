import { beforeEach, describe, expect, it } from "vitest";
import { EmulatorClock } from "../../src/server.js";
import { AUTH, call, startEmulatorOnDisk, perSuite } from "../helpers/emulator.js";
import type { JournalEntry } from "../../src/domain/control-plane.js";
import type { ErrorEnvelope } from "../../src/domain/errors.js";

const T0 = Date.parse("2026-04-21T15:30:00.000Z");

describe("rate limits, the clock and the journal over the control plane", () => {
  const clock = new EmulatorClock();
  const allScopes = ["records:write", "records:read", "metadata:read"] as ("records:write" | "records:read" | "metadata:read")[];

  const env = perSuite({
    clock,
    tokens: [
      { token: "dev-token", workspace: "default", scopes: allScopes, expiresAt: null },
      { token: "other-token", workspace: "other", scopes: allScopes, expiresAt: null },
    ],
  });
  beforeEach(async () => {
    clock.freeze(T0);
    await env.control.reset();
    await call(`${env.url}/_emulator/rate-limits`, {
      method: "PUT",
      body: { single: { limit: 1000, windowSeconds: 1 }, batch: { limit: 100, windowSeconds: 1 } },
    });
  });

  const upsert = (email: string, token = "dev-token", headers: Record<string, string> = {}) =>
    call<ErrorEnvelope>(`${env.url}/public/v1/records/profiles/upsert`, {
      headers: { Authorization: `Bearer ${token}`, ...headers },
      body: { record: { email } },
    });
  const batch = (token = "dev-token") =>
    call<ErrorEnvelope>(`${env.url}/public/v1/records/profiles/upsert-batch`, {
      headers: { Authorization: `Bearer ${token}` },
      body: { records: [{ email: "b@example.com" }] },
    });

  describe("rate limits", () => {
    it("reads and changes the quotas at run time", async () => {
      const changed = await call<{ data: unknown }>(`${env.url}/_emulator/rate-limits`, { method: "PUT", body: { single: { limit: 3, windowSeconds: 1 } } });
      expect(changed.body.data).toEqual({ single: { limit: 3, windowSeconds: 1 }, batch: { limit: 100, windowSeconds: 1 } });
      expect((await call<{ data: unknown }>(`${env.url}/_emulator/rate-limits`)).body.data).toEqual(changed.body.data);
    });

    it("answers 429 RATE_LIMIT.EXCEEDED with Retry-After once a token's bucket is empty, until time refills it", async () => {
      await call(`${env.url}/_emulator/rate-limits`, { method: "PUT", body: { single: { limit: 2, windowSeconds: 5 } } });
      const first = await upsert("a@example.com");
      expect(first.headers.get("x-ratelimit-limit")).toBe("2");
      expect(first.headers.get("x-ratelimit-remaining")).toBe("1");
      expect((await upsert("b@example.com")).headers.get("x-ratelimit-remaining")).toBe("0");
      const refused = await upsert("c@example.com");
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe("CDP_ETL.RATE_LIMIT.EXCEEDED");
      expect(refused.headers.get("retry-after")).toBe("2.5");
      expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
      expect(Number(refused.headers.get("x-ratelimit-reset"))).toBe((T0 + 5000) / 1000);
      clock.advance(2500);
      expect((await upsert("c@example.com")).status).toBe(200);
    });

    it("keeps batches in their own bucket: a batch counts once and does not spend single writes", async () => {
      await call(`${env.url}/_emulator/rate-limits`, { method: "PUT", body: { batch: { limit: 1, windowSeconds: 10 }, single: { limit: 1, windowSeconds: 10 } } });
      const accepted = await batch();
      expect(accepted.status).toBe(202);
      expect(accepted.headers.get("x-ratelimit-limit")).toBe("1");
      expect((await batch()).status).toBe(429);
      expect((await upsert("single@example.com")).status).toBe(200);
    });

    it("gives each token its own bucket and lets reads through without spending", async () => {
      await call(`${env.url}/_emulator/rate-limits`, { method: "PUT", body: { single: { limit: 1, windowSeconds: 10 } } });
      expect((await upsert("a@example.com")).status).toBe(200);
      expect((await upsert("a@example.com")).status).toBe(429);
      expect((await upsert("a@example.com", "other-token")).status).toBe(200);
      for (let i = 0; i < 3; i += 1) expect((await call(`${env.url}/public/v1/metadata/objects`, { headers: AUTH })).status).toBe(200);
    });

    it("starts buckets full again when the quota changes", async () => {
      await call(`${env.url}/_emulator/rate-limits`, { method: "PUT", body: { single: { limit: 1, windowSeconds: 60 } } });
      await upsert("a@example.com");
      expect((await upsert("b@example.com")).status).toBe(429);
      await call(`${env.url}/_emulator/rate-limits`, { method: "PUT", body: { single: { limit: 1, windowSeconds: 60 } } });
      expect((await upsert("b@example.com")).status).toBe(200);
    });

    it.each([{ single: { limit: 0, windowSeconds: 1 } }, { single: { limit: 5 } }, { bulk: { limit: 1, windowSeconds: 1 } }, {}])(
      "refuses a bad quota change %j with 400",
      async (body) => {
        expect((await call(`${env.url}/_emulator/rate-limits`, { method: "PUT", body })).status).toBe(400);
      },
    );
  });

  describe("the clock", () => {
    it("reads, sets, freezes and advances, by ISO 8601 duration or milliseconds", async () => {
      expect((await call<{ data: unknown }>(`${env.url}/_emulator/clock`)).body.data).toEqual({ now: "2026-04-21T15:30:00.000Z", frozen: true });
      const set = await call<{ data: unknown }>(`${env.url}/_emulator/clock`, { body: { set: "2030-01-01T00:00:00Z", freeze: true } });
      expect(set.body.data).toEqual({ now: "2030-01-01T00:00:00.000Z", frozen: true });
      expect((await call<{ data: unknown }>(`${env.url}/_emulator/clock`, { body: { advance: "PT24H1S" } })).body.data).toEqual({
        now: "2030-01-02T00:00:01.000Z",
        frozen: true,
      });
      expect((await call<{ data: { now: string } }>(`${env.url}/_emulator/clock`, { body: { advanceMs: 500 } })).body.data.now).toBe("2030-01-02T00:00:01.500Z");
      const running = await call<{ data: { frozen: boolean } }>(`${env.url}/_emulator/clock`, { body: { freeze: false } });
      expect(running.body.data.frozen).toBe(false);
    });

    it("drives acceptedAt and idempotency expiry: past 24 h a replayed key runs again", async () => {
      const first = await upsert("clock@example.com", "dev-token", { "Idempotency-Key": "day" });
      expect((first.body as unknown as { data: { acceptedAt: string } }).data.acceptedAt).toBe("2026-04-21T15:30:00.000Z");
      await call(`${env.url}/_emulator/clock`, { body: { advance: "PT23H59M59S" } });
      expect((await upsert("clock@example.com", "dev-token", { "Idempotency-Key": "day" })).headers.get("idempotent-replayed")).toBe("true");
      await call(`${env.url}/_emulator/clock`, { body: { advance: "PT1S" } });
      const rerun = await upsert("clock@example.com", "dev-token", { "Idempotency-Key": "day" });
      expect(rerun.headers.get("idempotent-replayed")).toBeNull();
      expect((rerun.body as unknown as { data: { acceptedAt: string } }).data.acceptedAt).toBe("2026-04-22T15:30:00.000Z");
    });

    it("expires a minted token when the clock passes its expiry", async () => {
      const workspace = (await call<{ data: { workspace: string } }>(`${env.url}/_emulator/workspaces`, { body: {} })).body.data.workspace;
      const { token } = (await call<{ data: { token: string } }>(`${env.url}/_emulator/tokens`, { body: { workspace, expiresIn: 3600 } })).body.data;
      expect((await upsert("t@example.com", token)).status).toBe(200);
      await call(`${env.url}/_emulator/clock`, { body: { advance: "PT1H" } });
      const expired = await upsert("t@example.com", token);
      expect(expired.status).toBe(401);
      expect(expired.body.error.code).toBe("CDP_ETL.AUTH.TOKEN_EXPIRED");
    });

    it.each([{ advance: "P1M" }, { advance: "tomorrow" }, { set: "2026-04-21" }, { freeze: "yes" }, { advance: "PT1S", advanceMs: 5 }, { rewind: 1 }])(
      "refuses %j with 400",
      async (body) => {
        expect((await call(`${env.url}/_emulator/clock`, { body })).status).toBe(400);
      },
    );
  });

  describe("the journal", () => {
    it("records every public request with its outcome, never the Authorization header", async () => {
      await upsert("j@example.com", "dev-token", { "Idempotency-Key": "jk", "X-Correlation-Id": "corr-1" });
      await upsert("j@example.com", "dev-token", { "Idempotency-Key": "jk" });
      await upsert("j@example.com", "dev-token", { "X-Emulator-Fault": "503" });
      await call(`${env.url}/public/v1/metadata/objects`);
      const journal = await call<{ data: { entries: JournalEntry[] } }>(`${env.url}/_emulator/journal`);
      expect(journal.text).not.toContain("dev-token");
      const [first, replay, faulted, unauthorized] = journal.body.data.entries;
      expect(first).toMatchObject({
        at: "2026-04-21T15:30:00.000Z",
        method: "POST",
        path: "/public/v1/records/profiles/upsert",
        operation: "upsert",
        object: "profiles",
        workspace: "default",
        idempotencyKey: "jk",
        correlationId: "corr-1",
        status: 200,
        fault: null,
        replayed: false,
        requestBody: { record: { email: "j@example.com" } },
      });
      expect(replay).toMatchObject({ status: 200, replayed: true });
      expect(faulted).toMatchObject({ status: 503, fault: "503" });
      expect(unauthorized).toMatchObject({ status: 401, workspace: null, operation: null });
      expect(journal.body.data.entries.map((entry) => entry.seq)).toEqual([...journal.body.data.entries.map((entry) => entry.seq)].sort((a, b) => a - b));
    });

    it("notes a request whose connection was reset as having no status", async () => {
      await fetch(`${env.url}/public/v1/records/profiles/upsert`, {
        method: "POST",
        headers: { ...AUTH, "Content-Type": "application/json", "X-Emulator-Fault": "reset" },
        body: JSON.stringify({ record: { email: "r@example.com" } }),
      }).catch(() => undefined);
      // The journal notes a reset connection once the emulator has seen it close.
      await expect.poll(async () => (await env.control.journal.list({ limit: 1 }))[0]?.fault).toBe("reset");
      const journal = await call<{ data: { entries: JournalEntry[] } }>(`${env.url}/_emulator/journal`);
      expect(journal.body.data.entries.at(-1)).toMatchObject({ status: null, fault: "reset" });
    });

    it("filters by operation, object, status, idempotency key, workspace and since, and counts", async () => {
      await upsert("a@example.com", "dev-token", { "Idempotency-Key": "k1" });
      clock.advance(1000);
      await upsert("a@example.com", "dev-token", { "Idempotency-Key": "k1", "X-Emulator-Fault": "502" });
      await upsert("b@example.com", "other-token");
      await batch();
      const count = async (query: string) => (await call<{ data: { count: number } }>(`${env.url}/_emulator/journal/count?${query}`)).body.data.count;
      expect(await count("")).toBe(4);
      expect(await count("operation=upsert")).toBe(3);
      expect(await count("operation=upsert-batch&object=profiles")).toBe(1);
      expect(await count("status=502")).toBe(1);
      expect(await count("idempotencyKey=k1")).toBe(2);
      expect(await count("workspace=other")).toBe(1);
      expect(await count("since=2026-04-21T15:30:01Z")).toBe(3);
      const latest = await call<{ data: { entries: JournalEntry[] } }>(`${env.url}/_emulator/journal?limit=2`);
      expect(latest.body.data.entries.map((entry) => entry.operation)).toEqual(["upsert", "upsert-batch"]);
      const sinceSeq = await call<{ data: { entries: JournalEntry[] } }>(`${env.url}/_emulator/journal?since=${latest.body.data.entries[0]!.seq}`);
      expect(sinceSeq.body.data.entries.map((entry) => entry.operation)).toEqual(["upsert-batch"]);
    });

    it("clears on DELETE, and a workspace reset clears only that workspace's entries", async () => {
      await upsert("a@example.com");
      await upsert("b@example.com", "other-token");
      await call(`${env.url}/_emulator/reset?workspace=other`, { method: "POST" });
      expect((await call<{ data: { count: number } }>(`${env.url}/_emulator/journal/count`)).body.data.count).toBe(1);
      expect((await call<{ data: { cleared: number } }>(`${env.url}/_emulator/journal`, { method: "DELETE" })).body.data.cleared).toBe(1);
      expect((await call<{ data: { count: number } }>(`${env.url}/_emulator/journal/count`)).body.data.count).toBe(0);
    });

    it.each(["status=abc", "since=yesterday", "limit=0", "colour=red"])("refuses a bad filter %s with 400", async (query) => {
      expect((await call(`${env.url}/_emulator/journal?${query}`)).status).toBe(400);
    });
  });
});

describe("a full reset", () => {
  it("removes the active scenario's faults and forgets that it was active", async () => {
    const env = await startEmulatorOnDisk();
    try {
      await call(`${env.url}/_emulator/scenarios/write-races`, { method: "POST" });
      expect((await call<{ data: { active: string | null } }>(`${env.url}/_emulator/scenarios`)).body.data.active).toBe("write-races");
      await env.control.reset();
      expect((await call<{ data: { active: string | null } }>(`${env.url}/_emulator/scenarios`)).body.data.active).toBeNull();
      expect((await call<{ data: { faults: unknown[] } }>(`${env.url}/_emulator/faults`)).body.data.faults).toEqual([]);
    } finally {
      await env.dispose();
    }
  });
});

describe("a journal of a configured size", () => {
  it("keeps only the most recent entries", async () => {
    const env = await startEmulatorOnDisk({ journalSize: 3 });
    try {
      for (let i = 0; i < 5; i += 1) {
        await call(`${env.url}/public/v1/records/profiles/upsert`, { headers: AUTH, body: { record: { email: `r${i}@example.com` } } });
      }
      const journal = await call<{ data: { entries: JournalEntry[] } }>(`${env.url}/_emulator/journal`);
      expect(journal.body.data.entries.map((entry) => (entry.requestBody as { record: { email: string } }).record.email)).toEqual([
        "r2@example.com",
        "r3@example.com",
        "r4@example.com",
      ]);
    } finally {
      await env.dispose();
    }
  });
});
