import { beforeEach, describe, expect, it } from "vitest";
import { EmulatorClock } from "../../src/server.js";
import { AUTH, call, perSuite } from "../helpers/emulator.js";
import type { ErrorEnvelope } from "../../src/domain/errors.js";

interface Accepted {
  success: boolean;
  data: { operation: string; objectName: string; jobId: string; state: string; acceptedRecords: number; statusPath: string; matchKey?: string };
}
interface RowError {
  index: number | null;
  code: string;
  message: string;
  path: string | null;
  value: unknown;
}
interface Job {
  jobId: string;
  objectName: string;
  operation: string;
  state: string;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  metrics: { totalRows: number; processedRows: number; insertedRows: number; mergedRows: number; invalidRows: number };
  errors: RowError[];
  errorsPath: string;
}
/** batch-record-writes.txt, every example and failure mode, over HTTP. */
describe("batch writes", () => {
  const clock = new EmulatorClock();
  const api = () => `${env.url}/public/v1`;

  const env = perSuite({
    clock,
    tokens: [
      { token: "dev-token", workspace: "default", scopes: ["records:write", "records:read", "metadata:read"], expiresAt: null },
      { token: "other", workspace: "other", scopes: ["records:read"], expiresAt: null },
    ],
  });
  beforeEach(async () => {
    await env.control.reset();
    await env.control.jobs.release();
  });

  const send = <T = Accepted>(path: string, body: unknown, headers: Record<string, string> = {}) =>
    call<T>(`${api()}${path}`, { headers: { ...AUTH, ...headers }, body });
  const getJob = async (statusPath: string) => (await call<{ data: Job }>(`${api()}${statusPath}`, { headers: AUTH })).body.data;
  /** The guide's wait_for_batch_job: polls the status until the job has ended. */
  const waitForJob = async (statusPath: string): Promise<Job> => {
    await expect.poll(async () => (await getJob(statusPath)).state, { timeout: 10_000, interval: 10 }).toMatch(/^(completed|failed)$/);
    return getJob(statusPath);
  };
  const rows = async (object: string, query = "") =>
    (await call<{ data: { records: { rowId: string; fields: Record<string, unknown> }[] } }>(`${env.url}/_emulator/records/${object}?limit=1000${query}`)).body
      .data.records;

  it("accepts the guide's append-batch of events with 202 and the vendor's body, then appends every row", async () => {
    const response = await send("/records/events/append-batch", {
      records: [
        { session_id: "s_001", event: "page_view", url: "/pricing", occurred_at: "2026-04-21T15:00:00Z" },
        { session_id: "s_001", event: "cta_click", url: "/pricing", occurred_at: "2026-04-21T15:01:12Z" },
        { session_id: "s_002", event: "page_view", url: "/docs", occurred_at: "2026-04-21T15:02:44Z" },
      ],
    }, { "Idempotency-Key": crypto.randomUUID() });
    expect(response.status).toBe(202);
    const { jobId } = response.body.data;
    expect(jobId).toMatch(/^rjob_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(response.body).toStrictEqual({
      success: true,
      data: { operation: "append-batch", objectName: "events", jobId, state: "queued", acceptedRecords: 3, statusPath: `/records/events/jobs/${jobId}` },
    });
    const job = await waitForJob(response.body.data.statusPath);
    expect(job).toMatchObject({
      jobId,
      objectName: "events",
      operation: "append-batch",
      state: "completed",
      metrics: { totalRows: 3, processedRows: 3, insertedRows: 3, mergedRows: 0, invalidRows: 0 },
      errors: [],
      errorsPath: `/records/events/jobs/${jobId}/errors`,
    });
    expect(await rows("events")).toHaveLength(3);
  });

  it("accepts the guide's upsert-batch of profiles with matchKey in the 202, and merges on a second run", async () => {
    const body = {
      records: [
        { email: "alice@example.com", tier: "gold", last_seen_at: "2026-04-21T10:00:00Z" },
        { email: "bob@example.com", tier: "silver", last_seen_at: "2026-04-21T11:30:00Z" },
      ],
      matchKey: "email",
    };
    const first = await send("/records/profiles/upsert-batch", body);
    expect(first.status).toBe(202);
    expect(first.body.data).toMatchObject({ operation: "upsert-batch", objectName: "profiles", state: "queued", acceptedRecords: 2, matchKey: "email" });
    expect((await waitForJob(first.body.data.statusPath)).metrics).toEqual({ totalRows: 2, processedRows: 2, insertedRows: 2, mergedRows: 0, invalidRows: 0 });
    const second = await send("/records/profiles/upsert-batch", body);
    expect((await waitForJob(second.body.data.statusPath)).metrics).toEqual({ totalRows: 2, processedRows: 2, insertedRows: 0, mergedRows: 2, invalidRows: 0 });
    expect(await rows("profiles")).toHaveLength(2);
  });

  it("defaults an upsert-batch's matchKey to the primary key", async () => {
    const response = await send("/records/profiles/upsert-batch", { records: [{ email: "x@example.com" }] });
    expect(response.body.data.matchKey).toBe("email");
  });

  it("refuses 10,001 records with 400 naming the limit, and accepts 10,000", async () => {
    const make = (n: number) => Array.from({ length: n }, (_, i) => ({ event: "page_view", occurred_at: "2026-04-21T15:00:00Z", url: `/p/${i}` }));
    const over = await send<ErrorEnvelope>("/records/events/append-batch", { records: make(10_001) });
    expect(over.status).toBe(400);
    expect(over.body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
    expect(over.body.error.message).toMatch(/10,001 records is more than the limit of 10,000/);
    const atLimit = await send("/records/events/append-batch", { records: make(10_000) });
    expect(atLimit.status).toBe(202);
    expect(atLimit.body.data.acceptedRecords).toBe(10_000);
    const job = await waitForJob(atLimit.body.data.statusPath);
    expect(job.metrics).toEqual({ totalRows: 10_000, processedRows: 10_000, insertedRows: 10_000, mergedRows: 0, invalidRows: 0 });
  });

  it.each([
    { name: "an empty records array", body: { records: [] }, path: "records" },
    { name: "records that is not an array", body: { records: { email: "a@b.io" } }, path: "records" },
    { name: "no records at all", body: { matchKey: "email" }, path: "records" },
    { name: "a record that is not an object", body: { records: [{ email: "a@b.io" }, "b@b.io"] }, path: "records[1]" },
    { name: "a matchKey that is not an identity key", body: { records: [{ email: "a@b.io" }], matchKey: "tier" }, path: "matchKey" },
    { name: "an unexpected top-level field", body: { records: [{ email: "a@b.io" }], record: {} }, path: "record" },
  ])("refuses $name with 400 before accepting anything", async ({ body, path }) => {
    const response = await send<ErrorEnvelope>("/records/profiles/upsert-batch", body);
    expect(response.status).toBe(400);
    expect(response.body.error.details["path"]).toBe(path);
    const jobs = await call<{ data: { jobs: unknown[] } }>(`${env.url}/_emulator/jobs`);
    expect(jobs.body.data.jobs).toEqual([]);
  });

  it("refuses the whole batch with 422 when any record has a field not in the schema, naming the first", async () => {
    const response = await send<ErrorEnvelope>("/records/profiles/upsert-batch", {
      records: [{ email: "ok@example.com" }, { email: "a@example.com", favourite_color: "blue" }, { email: "b@example.com", shoe_size: 9 }],
      matchKey: "email",
    });
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_SCHEMA");
    expect(response.body.error.details).toMatchObject({ path: "records[1].favourite_color", value: "blue" });
    expect(await rows("profiles")).toEqual([]);
  });

  it("counts bare datetime rows in invalidRows and still commits the valid rows (not transactional)", async () => {
    const response = await send("/records/profiles/upsert-batch", {
      records: [
        { email: "a@example.com", last_seen_at: "2026-04-21T10:00:00Z" },
        { email: "b@example.com", last_seen_at: "2026-04-21 10:00:00" },
        { email: "not-an-email" },
        { tier: "gold" },
        { email: "c@example.com", last_seen_at: "2026-04-21" },
        { email: "d@example.com", lifetime_value: 12.5 },
      ],
      matchKey: "email",
    });
    const job = await waitForJob(response.body.data.statusPath);
    expect(job.state).toBe("completed");
    expect(job.metrics).toEqual({ totalRows: 6, processedRows: 6, insertedRows: 2, mergedRows: 0, invalidRows: 4 });
    expect(job.errors).toEqual([
      { index: 1, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: expect.stringMatching(/^records\[1\]\.last_seen_at: /), path: "records[1].last_seen_at", value: "2026-04-21 10:00:00" },
      { index: 2, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: "records[2].email: invalid email format", path: "records[2].email", value: "not-an-email" },
      { index: 3, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: expect.stringMatching(/matchKey field "email" must be present/), path: "records[3].email", value: null },
      { index: 4, code: "CDP_ETL.VALIDATION.REQUEST_INVALID", message: expect.any(String), path: "records[4].last_seen_at", value: "2026-04-21" },
    ]);
    expect((await rows("profiles")).map((row) => row.fields["email"])).toEqual(["a@example.com", "d@example.com"]);
  });

  it("reports a missing required field per row on append-batch", async () => {
    const response = await send("/records/orders/append-batch", {
      records: [
        { order_id: "o1", total: 10, currency: "USD", placed_at: "2026-04-21T15:30:00Z" },
        { order_id: "o2", total: 10, currency: "USD" },
      ],
    });
    const job = await waitForJob(response.body.data.statusPath);
    expect(job.metrics.invalidRows).toBe(1);
    expect(job.errors[0]).toMatchObject({ index: 1, path: "records[1].placed_at" });
  });

  it("applies duplicate keys inside one batch in array order: the later row wins field by field, null clears", async () => {
    const response = await send("/records/profiles/upsert-batch", {
      records: [
        { email: "dup@example.com", first_name: "Jane", tier: "silver", city: "Lyon" },
        { email: "dup@example.com", tier: "gold" },
        { email: "dup@example.com", city: null, country: "FR" },
      ],
      matchKey: "email",
    });
    const job = await waitForJob(response.body.data.statusPath);
    expect(job.metrics).toEqual({ totalRows: 3, processedRows: 3, insertedRows: 1, mergedRows: 2, invalidRows: 0 });
    const stored = await rows("profiles");
    expect(stored).toHaveLength(1);
    expect(stored[0]?.fields).toEqual({ email: "dup@example.com", first_name: "Jane", tier: "gold", country: "FR" });
  });

  it("pages through every row error with limit and cursor", async () => {
    const records = Array.from({ length: 25 }, (_, i) => ({ email: `e${i}@example.com`, last_seen_at: i % 2 === 0 ? "2026-04-21" : "2026-04-21T00:00:00Z" }));
    const response = await send("/records/profiles/upsert-batch", { records });
    const job = await waitForJob(response.body.data.statusPath);
    expect(job.metrics.invalidRows).toBe(13);
    expect(job.errors).toHaveLength(10);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: { errors: RowError[]; nextCursor: string | null } } } = await call(
        `${api()}${job.errorsPath}?limit=5${cursor ? `&cursor=${cursor}` : ""}`,
        { headers: AUTH },
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.data.errors.map((error) => error.index ?? -1));
      cursor = page.body.data.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 13 }, (_, i) => i * 2));
  });

  it("holds jobs queued until released, so a poller sees queued then completed", async () => {
    await env.control.jobs.hold();
    const response = await send("/records/profiles/upsert-batch", { records: [{ email: "held@example.com" }] });
    // Wall time on purpose: a hold that did not hold would have run the job by now.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const queued = await getJob(response.body.data.statusPath);
    expect(queued).toMatchObject({ state: "queued", startedAt: null, completedAt: null, metrics: { processedRows: 0 } });
    const listed = await call<{ data: { jobs: Job[] } }>(`${env.url}/_emulator/jobs?state=queued`);
    expect(listed.body.data.jobs.map((job) => job.jobId)).toEqual([response.body.data.jobId]);
    expect((await call<{ data: { held: boolean } }>(`${env.url}/_emulator/jobs/release`, { method: "POST" })).body.data.held).toBe(false);
    const done = await waitForJob(response.body.data.statusPath);
    expect(done.state).toBe("completed");
    expect(Date.parse(done.completedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(done.startedAt ?? ""));
    expect((await call<{ data: { jobs: Job[] } }>(`${env.url}/_emulator/jobs?state=queued`)).body.data.jobs).toEqual([]);
  });

  it("sees a large job move forward through queued, processing and completed, never backwards", async () => {
    await env.control.jobs.hold();
    const records = Array.from({ length: 10_000 }, (_, i) => ({ email: `big${i}@example.com`, tier: "gold" }));
    const response = await send("/records/profiles/upsert-batch", { records });
    const states: string[] = [(await getJob(response.body.data.statusPath)).state];
    await env.control.jobs.release();
    let last = 0;
    for (;;) {
      const job = await getJob(response.body.data.statusPath);
      expect(job.metrics.processedRows).toBeGreaterThanOrEqual(last);
      last = job.metrics.processedRows;
      if (states.at(-1) !== job.state) states.push(job.state);
      if (job.state === "completed") break;
    }
    const order = ["queued", "processing", "completed"];
    expect(states[0]).toBe("queued");
    expect(states.at(-1)).toBe("completed");
    expect(states.map((state) => order.indexOf(state))).toEqual([...states.map((state) => order.indexOf(state))].sort());
  });

  it("answers 200 with the finished job when Prefer: wait=N is met, and the normal 202 when it is not", async () => {
    const quick = await send<{ data: Job }>("/records/profiles/upsert-batch", { records: [{ email: "w@example.com" }] }, { Prefer: "wait=10" });
    expect(quick.status).toBe(200);
    expect(quick.headers.get("preference-applied")).toBe("wait=10");
    expect(quick.body.data).toMatchObject({ state: "completed", metrics: { insertedRows: 1 } });

    await env.control.jobs.hold();
    const slow = await send("/records/profiles/upsert-batch", { records: [{ email: "w2@example.com" }] }, { Prefer: "wait=1" });
    expect(slow.status).toBe(202);
    expect(slow.body.data.state).toBe("queued");
  });

  it("returns the same 202 and jobId for a re-send with the same Idempotency-Key, and starts no second job", async () => {
    const body = { records: [{ email: "idem@example.com", tier: "gold" }], matchKey: "email" };
    const first = await send("/records/profiles/upsert-batch", body, { "Idempotency-Key": "batch-key-1" });
    const again = await send("/records/profiles/upsert-batch", body, { "Idempotency-Key": "batch-key-1" });
    expect(again.status).toBe(202);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    await waitForJob(first.body.data.statusPath);
    const jobs = await call<{ data: { jobs: Job[] } }>(`${env.url}/_emulator/jobs`);
    expect(jobs.body.data.jobs).toHaveLength(1);
    const reused = await send<ErrorEnvelope>("/records/profiles/upsert-batch", { ...body, matchKey: "customer_id" }, { "Idempotency-Key": "batch-key-1" });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe("CDP_ETL.IDEMPOTENCY.KEY_REUSED");
  });

  it("404s an unknown job, a job asked for under another object, and a job of another workspace", async () => {
    const response = await send("/records/profiles/upsert-batch", { records: [{ email: "mine@example.com" }] });
    const { jobId } = response.body.data;
    expect((await call(`${api()}/records/profiles/jobs/rjob_nope`, { headers: AUTH })).status).toBe(404);
    const wrongObject = await call<ErrorEnvelope>(`${api()}/records/events/jobs/${jobId}`, { headers: AUTH });
    expect(wrongObject.status).toBe(404);
    expect(wrongObject.body.error.code).toBe("CDP_ETL.NOT_FOUND");
    const otherWorkspace = await call(`${api()}/records/profiles/jobs/${jobId}`, { headers: { Authorization: "Bearer other" } });
    expect(otherWorkspace.status).toBe(404);
    expect((await call(`${api()}/records/profiles/jobs/${jobId}`, { headers: AUTH })).status).toBe(200);
  });

  it("needs records:read to read a job and records:write to send a batch", async () => {
    expect((await call(`${api()}/records/profiles/jobs/rjob_x`)).status).toBe(401);
    const response = await call<ErrorEnvelope>(`${api()}/records/profiles/upsert-batch`, {
      headers: { Authorization: "Bearer nope" },
      body: { records: [{ email: "a@b.io" }] },
    });
    expect(response.status).toBe(401);
  });

  it("stamps job times from the emulator clock", async () => {
    clock.freeze(Date.parse("2026-04-21T15:30:00.000Z"));
    try {
      const response = await send<{ data: Job }>("/records/profiles/upsert-batch", { records: [{ email: "t@example.com" }] }, { Prefer: "wait=5" });
      expect(response.body.data).toMatchObject({
        createdAt: "2026-04-21T15:30:00.000Z",
        startedAt: "2026-04-21T15:30:00.000Z",
        completedAt: "2026-04-21T15:30:00.000Z",
      });
    } finally {
      clock.unfreeze();
    }
  });
});
