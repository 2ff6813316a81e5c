import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { join } from "node:path";
import express from "express";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Journal, type NewJournalEntry } from "../../src/runtime/journal.js";
import { EventStream } from "../../src/control/events.js";
import type { JobsStore } from "../../src/store/jobs-store.js";
import { AUTH, call, startEmulatorOnDisk, tempDir, type EmulatorOnDisk, perSuite } from "../helpers/emulator.js";
import { openEvents } from "../helpers/event-stream.js";

const upsert = (env: EmulatorOnDisk, record: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call(`${env.url}/public/v1/records/profiles/upsert`, { headers: { ...AUTH, ...headers }, body: { record } });

describe("GET /_emulator/events", () => {
  const env = perSuite();
  afterEach(async () => {
    await env.control.reset();
  });

  it("answers with an event stream and sends each journal entry as it is recorded, with its seq as the id", async () => {
    const stream = await openEvents(env.url);
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      await upsert(env, { email: "live@example.com" }, { "Idempotency-Key": "k-live" });
      await stream.until(() => stream.entries().length === 1);
      const [event] = stream.seen;
      const entry = stream.entries()[0]!;
      expect(entry).toMatchObject({
        method: "POST",
        path: "/public/v1/records/profiles/upsert",
        status: 200,
        idempotencyKey: "k-live",
        requestBody: { record: { email: "live@example.com" } },
        responseBody: { success: true, data: { operation: "upsert", objectName: "profiles", accepted: true } },
      });
      expect(event?.id).toBe(String(entry["seq"]));
    } finally {
      stream.close();
    }
  });

  it("first sends the entries after Last-Event-ID, so a reconnecting page misses nothing", async () => {
    await upsert(env, { email: "one@example.com" });
    await upsert(env, { email: "two@example.com" });
    await upsert(env, { email: "three@example.com" });
    const [first] = (await call<{ data: { entries: { seq: number }[] } }>(`${env.url}/_emulator/journal`)).body.data.entries;
    const stream = await openEvents(env.url, { headers: { "Last-Event-ID": String(first!.seq) } });
    try {
      await stream.until(() => stream.entries().length === 2);
      expect(stream.entries().map((entry) => (entry["requestBody"] as { record: { email: string } }).record.email)).toEqual([
        "two@example.com",
        "three@example.com",
      ]);
    } finally {
      stream.close();
    }
  });

  it("refuses a since that is not a seq with a 400 envelope", async () => {
    const response = await call<{ error: { code: string } }>(`${env.url}/_emulator/events?since=yesterday`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
  });

  it("tells listeners when the journal is cleared, naming the workspace or null for all", async () => {
    const stream = await openEvents(env.url);
    try {
      await call(`${env.url}/_emulator/reset?workspace=default`, { method: "POST" });
      await call(`${env.url}/_emulator/journal`, { method: "DELETE" });
      await stream.until(() => stream.seen.filter((event) => event.event === "cleared").length === 2);
      expect(stream.seen.filter((event) => event.event === "cleared").map((event) => JSON.parse(event.data) as unknown)).toEqual([
        { workspace: "default" },
        { workspace: null },
      ]);
    } finally {
      stream.close();
    }
  });

  it("sends a batch job's state changes through to completed, with its metrics", async () => {
    const stream = await openEvents(env.url);
    try {
      const accepted = await call<{ data: { jobId: string } }>(`${env.url}/public/v1/records/profiles/upsert-batch`, {
        headers: AUTH,
        body: { records: [{ email: "b1@example.com" }, { email: "b2@example.com" }, { email: 7 }] },
      });
      expect(accepted.status).toBe(202);
      const jobEvents = () =>
        stream.seen.filter((event) => event.event === "job").map((event) => JSON.parse(event.data) as { jobId: string; state: string; metrics: Record<string, number> });
      await stream.until(() => jobEvents().some((job) => job.state === "completed"));
      const states = jobEvents().map((job) => job.state);
      expect(states[0]).toBe("processing");
      expect(jobEvents().at(-1)).toMatchObject({
        jobId: accepted.body.data.jobId,
        workspace: "default",
        objectName: "profiles",
        state: "completed",
        metrics: { totalRows: 3, processedRows: 3, insertedRows: 2, invalidRows: 1 },
      });
    } finally {
      stream.close();
    }
  });

  it("keeps serving public requests while a stream is open, and forgets a stream its client closed", async () => {
    const stream = await openEvents(env.url);
    await upsert(env, { email: "x@example.com" });
    await stream.until(() => stream.entries().length === 1);
    expect(await env.control.journal.count()).toBe(1);
    stream.close();
    // Wall time on purpose: the close reaches the emulator over TCP, and nothing outside shows when.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await upsert(env, { email: "y@example.com" });
    expect(after.status).toBe(200);
  });
});

describe("stopping the emulator with event streams open", () => {
  it("ends the streams and stops promptly instead of waiting on them", async () => {
    const env = await startEmulatorOnDisk();
    const streams = [await openEvents(env.url), await openEvents(env.url)];
    const started = performance.now();
    await env.dispose();
    const tookMs = performance.now() - started;
    for (const stream of streams) {
      await stream.until(() => false, 2000).catch((error: Error) => expect(error.message).toBe("the event stream ended"));
      expect(stream.ended).toBe(true);
    }
    expect(tookMs).toBeLessThan(2000);
  });
});

describe("EventStream on its own", () => {
  const entry = (body: unknown): NewJournalEntry => ({
    at: new Date().toISOString(),
    wallMs: 0,
    method: "POST",
    path: "/public/v1/records/profiles/upsert",
    operation: "upsert",
    object: "profiles",
    workspace: "default",
    idempotencyKey: null,
    correlationId: "c",
    status: 200,
    fault: null,
    replayed: false,
    durationMs: 1,
    requestBody: JSON.stringify(body),
  });

  let server: Server | undefined;
  let events: EventStream | undefined;
  afterEach(async () => {
    events?.close();
    server?.closeAllConnections();
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  async function serve(journal: Journal, options: { heartbeatMs?: number; maxBufferedBytes?: number }): Promise<string> {
    events = new EventStream({ journal, jobs: {} as JobsStore, ...options });
    const app = express();
    const stream = events;
    app.get("/_emulator/events", (req, res) => stream.open(req, res));
    server = createServer(app);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("sends a heartbeat comment while nothing happens", async () => {
    const url = await serve(new Journal({ capacity: 10 }), { heartbeatMs: 30 });
    const stream = await openEvents(url);
    try {
      await stream.until(() => stream.comments.includes("heartbeat"));
    } finally {
      stream.close();
    }
  });

  it("cuts off a client that stops reading instead of buffering for it, and recording goes on", async () => {
    const journal = new Journal({ capacity: 50 });
    const url = new URL(await serve(journal, { maxBufferedBytes: 64 * 1024 }));
    // A raw client that sends the request and then never reads a byte.
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    await once(socket, "connect");
    socket.write(`GET /_emulator/events HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    socket.pause();
    const closed = once(socket, "close");
    await expect.poll(() => events!.size).toBe(1);
    const big = "x".repeat(15_000);
    const started = performance.now();
    for (let i = 0; i < 2000 && events!.size > 0; i++) journal.record(entry({ big, i }));
    expect(events!.size).toBe(0);
    expect(performance.now() - started).toBeLessThan(5000);
    socket.resume(); // let the close arrive
    await closed;
    expect(journal.record(entry({ after: true })).seq).toBeGreaterThan(1);
  });

  it("drops a journal listener that throws, and goes on recording", () => {
    const journal = new Journal({ capacity: 5 });
    const heard: number[] = [];
    journal.subscribe(() => {
      throw new Error("broken listener");
    });
    const unsubscribe = journal.subscribe((event) => {
      if (event.kind === "entry") heard.push(event.entry.seq);
    });
    journal.record(entry({ a: 1 }));
    journal.record(entry({ a: 2 }));
    unsubscribe();
    journal.record(entry({ a: 3 }));
    expect(heard).toEqual([1, 2]);
  });
});

describe("journal entries and the response", () => {
  const env = perSuite();

  it("keeps the response body beside the request body, the error envelope of a fault included", async () => {
    await upsert(env, { email: "r@example.com" }, { "X-Emulator-Fault": "503;retry-after=2" });
    await call(`${env.url}/public/v1/records/profiles/upsert`, {
      headers: { ...AUTH, "X-Emulator-Fault": "malformed" },
      body: { record: { email: "m@example.com" } },
    });
    const entries = (await call<{ data: { entries: Record<string, unknown>[] } }>(`${env.url}/_emulator/journal`)).body.data.entries;
    expect(entries[0]).toMatchObject({
      status: 503,
      responseBody: { success: false, error: { code: "CDP_ETL.SERVICE.UNAVAILABLE" } },
    });
    expect(entries[1]).toMatchObject({ status: 200, responseBody: { unparsed: true } });
  });

  it("has no response body for a connection that was reset", async () => {
    await upsert(env, { email: "gone@example.com" }, { "X-Emulator-Fault": "reset" }).catch(() => undefined);
    // The journal notes a reset connection once the emulator has seen it close.
    await expect.poll(async () => (await env.control.journal.list({ limit: 1 }))[0]?.fault).toBe("reset");
    const entries = (await call<{ data: { entries: Record<string, unknown>[] } }>(`${env.url}/_emulator/journal`)).body.data.entries;
    expect(entries.at(-1)).toMatchObject({ status: null, fault: "reset", responseBody: null });
  });
});

describe("inspection endpoints for the dashboard", () => {
  const env = perSuite();

  it("GET /_emulator/objects lists each object with its keys, policy and fields", async () => {
    const response = await call<{ data: { objects: { objectName: string; primaryKey: string; identityKeys: string[]; collisionPolicy: string; fields: { name: string }[] }[] } }>(
      `${env.url}/_emulator/objects`,
    );
    const profiles = response.body.data.objects.find((object) => object.objectName === "profiles");
    expect(profiles).toMatchObject({ primaryKey: "email", identityKeys: ["email", "customer_id", "phone", "external_id", "anonymous_id"], collisionPolicy: "record" });
    expect(profiles?.fields.map((field) => field.name)).toContain("tier");
    expect(response.body.data.objects.map((object) => object.objectName).sort()).toEqual(["events", "orders", "profiles"]);
  });

  it("names the identifiers that point at a row, and which of them a lookup resolves elsewhere after a collision", async () => {
    const first = await upsert(env, { email: "ann@example.com", customer_id: "c-1" });
    const second = await upsert(env, { email: "bob@example.com", customer_id: "c-1" });
    const annId = first.headers.get("x-emulator-record-id")!;
    const bobId = second.headers.get("x-emulator-record-id")!;
    const response = await call<{ data: unknown }>(`${env.url}/_emulator/records/profiles/${annId}/identifiers`);
    expect(response.body.data).toEqual({
      rowId: annId,
      identifiers: [
        { field: "email", value: "ann@example.com", resolvesHere: true, holders: [annId] },
        { field: "customer_id", value: "c-1", resolvesHere: false, holders: [bobId, annId] },
      ],
    });
  });

  it("answers 404 for the identifiers of a row that does not exist", async () => {
    const response = await call<{ error: { code: string } }>(`${env.url}/_emulator/records/profiles/rec_nope/identifiers`);
    expect(response.status).toBe(404);
  });
});

describe("fault rules with an end", () => {
  let env: EmulatorOnDisk;
  beforeAll(async () => {
    env = await startEmulatorOnDisk();
    env.emulator.clock.freeze(Date.parse("2026-04-21T15:30:00Z"));
  });
  afterAll(async () => {
    await env.dispose();
  });

  it("forSeconds becomes until on the emulator clock, and the rule stops firing once the clock passes it", async () => {
    const added = await call<{ data: { id: string; schedule: Record<string, unknown> } }>(`${env.url}/_emulator/faults`, {
      body: { match: { operation: "upsert" }, action: { status: 503 }, schedule: { forSeconds: 30 } },
    });
    expect(added.status).toBe(201);
    expect(added.body.data.schedule).toEqual({ until: "2026-04-21T15:30:30.000Z" });
    expect((await upsert(env, { email: "w1@example.com" })).status).toBe(503);
    env.emulator.clock.advance(29_999);
    expect((await upsert(env, { email: "w2@example.com" })).status).toBe(503);
    env.emulator.clock.advance(1);
    expect((await upsert(env, { email: "w3@example.com" })).status).toBe(200);
    const [rule] = (await call<{ data: { faults: { hits: number; matched: number }[] } }>(`${env.url}/_emulator/faults`)).body.data.faults;
    expect(rule).toMatchObject({ hits: 2, matched: 2 });
  });

  it.each([
    [{ until: "2026-04-21 15:30:00" }, "schedule.until: must be an RFC 3339 timestamp with an offset"],
    [{ until: "2026-04-21T15:30:00Z", forSeconds: 5 }, "schedule.forSeconds: give until or forSeconds, not both"],
    [{ forSeconds: 0 }, "schedule.forSeconds: must be more than 0"],
  ])("refuses the schedule %j", async (schedule, message) => {
    const response = await call<{ error: { message: string } }>(`${env.url}/_emulator/faults`, { body: { action: { status: 503 }, schedule } });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toContain(message);
  });
});

describe("a scenario's rule with forSeconds", () => {
  it("counts from the time the scenario sets the clock to", async () => {
    const dir = tempDir();
    const scenarios = join(dir, "scenarios");
    mkdirSync(scenarios);
    writeFileSync(
      join(scenarios, "short-outage.yaml"),
      [
        "name: short-outage",
        "description: 503 for ten seconds from noon.",
        "faults:",
        "  - action: { status: 503 }",
        "    schedule: { forSeconds: 10 }",
        'clock: { set: "2030-01-01T12:00:00Z", freeze: true }',
        "",
      ].join("\n"),
    );
    const env = await startEmulatorOnDisk({ dir, scenariosDir: scenarios });
    try {
      const applied = await call<{ data: { faults: string[] } }>(`${env.url}/_emulator/scenarios/short-outage`, { method: "POST" });
      expect(applied.status).toBe(200);
      const rules = (await call<{ data: { faults: { schedule: unknown }[] } }>(`${env.url}/_emulator/faults`)).body.data.faults;
      expect(rules.map((rule) => rule.schedule)).toEqual([{ until: "2030-01-01T12:00:10.000Z" }]);
    } finally {
      await env.dispose();
    }
  });
});

describe("the dashboard's files", () => {
  it("serves index.html at /_emulator/ui with a policy that allows nothing from other origins", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>dash</title>");
    const env = await startEmulatorOnDisk({ uiDir: dir });
    try {
      const page = await fetch(`${env.url}/_emulator/ui/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>dash</title>");
      expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
      const bare = await fetch(`${env.url}/_emulator/ui`, { redirect: "manual" });
      expect(bare.status).toBe(301);
      expect(bare.headers.get("location")).toBe("/_emulator/ui/");
    } finally {
      await env.dispose();
    }
  });

  it("says how to build the dashboard when its files are missing", async () => {
    const env = await startEmulatorOnDisk({ uiDir: join(tempDir(), "not-built") });
    try {
      const response = await call<{ success: boolean; error: { message: string } }>(`${env.url}/_emulator/ui/`);
      expect(response.status).toBe(404);
      expect(response.body.error.message).toContain("npm run build");
    } finally {
      await env.dispose();
    }
  });
});
