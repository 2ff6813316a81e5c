import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { MatchersV3, PactV4 } from "@pact-foundation/pact";
import { describe, expect, it } from "vitest";
import { CdpApiError, CdpClient, type RowError } from "../../../src/client/index.js";
import { GUIDE_ORDER } from "../../helpers/records.js";

/**
 * The reference client's contract with the CDP Records API. Each test runs the real CdpClient
 * against Pact's mock server; the pact file it writes to pacts/ is then verified against the
 * emulator (test/contract/provider). Literal values appear only where they are the contract
 * (operation names, error codes, states); everything else is matched by type or pattern.
 */
const { like, eachLike, integer, string, boolean, regex, nullValue, fromProviderState } = MatchersV3;

const PACT_FILE = resolve(import.meta.dirname, "../../../pacts/cdp-emulator-client-cdp-records-api.json");
// Pact merges into an existing file: start clean so a renamed or removed interaction disappears.
rmSync(PACT_FILE, { force: true });

const pact = new PactV4({
  consumer: "cdp-emulator-client",
  provider: "cdp-records-api",
  dir: resolve(import.meta.dirname, "../../../pacts"),
  logLevel: "warn",
});

const TOKEN = "dev-token";
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const timestamp = (example = "2026-04-21T15:30:00.000Z") => regex(RFC3339, example);
const JOB_ID = /^rjob_[0-9A-HJKMNP-TV-Z]{26}$/;
const EXAMPLE_JOB = "rjob_01JX0000000000000000000000";
const KEY = "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b";

const requestHeaders = (extra: Record<string, unknown> = {}) => ({
  Authorization: regex(/^Bearer \S+$/, `Bearer ${TOKEN}`),
  ...extra,
});
const writeHeaders = () =>
  requestHeaders({ "Content-Type": "application/json", "Idempotency-Key": regex(/^\S{1,255}$/, KEY) });
// The body's content type is part of each interaction already; every response carries a correlation id.
const responseHeaders = { "x-correlation-id": string("c0ffee00-0000-4000-8000-000000000000") };

const errorBody = (code: string, message: string, details?: Record<string, unknown>) => ({
  success: false,
  error: { code, message: string(message), ...(details ? { details: like(details) } : {}) },
});

/** A client that makes one attempt, so an error interaction is seen exactly once. */
const client = (url: string, token = TOKEN) =>
  new CdpClient({ baseUrl: `${url}/public/v1`, token, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });

const profile = { email: "jane@example.com", first_name: "Jane", tier: "gold", last_seen_at: "2026-04-21T15:30:00Z" };

async function failure(promise: Promise<unknown>): Promise<CdpApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CdpApiError);
  return error as CdpApiError;
}

describe("the CDP client's contract with the Records API", () => {
  it("appends an order", async () => {
    const order = GUIDE_ORDER;
    await pact
      .addInteraction()
      .uponReceiving("an append of one order")
      .withRequest("POST", "/public/v1/records/orders/append", (builder) => builder.headers(writeHeaders()).jsonBody({ record: order }))
      .willRespondWith(200, (builder) =>
        builder.headers(responseHeaders).jsonBody({
          success: true,
          data: { operation: "append", objectName: "orders", accepted: true, acceptedAt: timestamp(), acceptedRecords: 1 },
        }),
      )
      .executeTest(async (mock) => {
        const result = await client(mock.url).append("orders", order, { idempotencyKey: KEY });
        expect(result.data).toMatchObject({ operation: "append", accepted: true, acceptedRecords: 1 });
        expect(result.correlationId).toBeTruthy();
      });
  });

  it("upserts a profile by email into an existing row", async () => {
    await pact
      .addInteraction()
      .given("profile jane@example.com exists")
      .uponReceiving("an upsert of a profile with matchKey email")
      .withRequest("POST", "/public/v1/records/profiles/upsert", (builder) =>
        builder.headers(writeHeaders()).jsonBody({ record: profile, matchKey: "email" }),
      )
      .willRespondWith(200, (builder) =>
        builder.headers(responseHeaders).jsonBody({
          success: true,
          data: { operation: "upsert", objectName: "profiles", accepted: true, acceptedAt: timestamp(), acceptedRecords: 1, matchKey: "email" },
        }),
      )
      .executeTest(async (mock) => {
        const result = await client(mock.url).upsert("profiles", profile, { matchKey: "email" });
        expect(result.data.matchKey).toBe("email");
      });
  });

  it("upserts a profile without a matchKey, which the API resolves by the primary key", async () => {
    await pact
      .addInteraction()
      .uponReceiving("an upsert of a profile without a matchKey")
      .withRequest("POST", "/public/v1/records/profiles/upsert", (builder) => builder.headers(writeHeaders()).jsonBody({ record: profile }))
      .willRespondWith(200, (builder) =>
        builder.headers(responseHeaders).jsonBody({
          success: true,
          data: { operation: "upsert", objectName: "profiles", accepted: true, acceptedAt: timestamp(), acceptedRecords: 1, matchKey: "email" },
        }),
      )
      .executeTest(async (mock) => {
        const result = await client(mock.url).upsert("profiles", profile);
        expect(result.data.accepted).toBe(true);
      });
  });

  it("appends a batch of events as a job", async () => {
    const events = [
      { session_id: "s_001", event: "page_view", url: "/pricing", occurred_at: "2026-04-21T15:00:00Z" },
      { session_id: "s_001", event: "cta_click", url: "/pricing", occurred_at: "2026-04-21T15:01:12Z" },
    ];
    await pact
      .addInteraction()
      .uponReceiving("an append-batch of two events")
      .withRequest("POST", "/public/v1/records/events/append-batch", (builder) => builder.headers(writeHeaders()).jsonBody({ records: events }))
      .willRespondWith(202, (builder) =>
        builder.headers(responseHeaders).jsonBody({
          success: true,
          data: {
            operation: "append-batch",
            objectName: "events",
            jobId: regex(JOB_ID, EXAMPLE_JOB),
            state: "queued",
            acceptedRecords: 2,
            statusPath: regex(/^\/records\/events\/jobs\/rjob_\w+$/, `/records/events/jobs/${EXAMPLE_JOB}`),
          },
        }),
      )
      .executeTest(async (mock) => {
        const result = await client(mock.url).appendBatch("events", events);
        expect(result.status).toBe(202);
        expect(result.data.jobId).toMatch(JOB_ID);
      });
  });

  it("upserts a batch of profiles as a job", async () => {
    const records = [
      { email: "alice@example.com", tier: "gold", last_seen_at: "2026-04-21T10:00:00Z" },
      { email: "bob@example.com", tier: "silver", last_seen_at: "2026-04-21T11:30:00Z" },
    ];
    await pact
      .addInteraction()
      .uponReceiving("an upsert-batch of two profiles with matchKey email")
      .withRequest("POST", "/public/v1/records/profiles/upsert-batch", (builder) =>
        builder.headers(writeHeaders()).jsonBody({ records, matchKey: "email" }),
      )
      .willRespondWith(202, (builder) =>
        builder.headers(responseHeaders).jsonBody({
          success: true,
          data: {
            operation: "upsert-batch",
            objectName: "profiles",
            jobId: regex(JOB_ID, EXAMPLE_JOB),
            state: "queued",
            acceptedRecords: 2,
            statusPath: regex(/^\/records\/profiles\/jobs\/rjob_\w+$/, `/records/profiles/jobs/${EXAMPLE_JOB}`),
            matchKey: "email",
          },
        }),
      )
      .executeTest(async (mock) => {
        const result = await client(mock.url).upsertBatch("profiles", records, { matchKey: "email" });
        expect(result.data).toMatchObject({ state: "queued", acceptedRecords: 2 });
      });
  });

  it("polls a job to completed and reads its invalid row", async () => {
    const rowError = { index: integer(1), code: string("CDP_ETL.VALIDATION.REQUEST_INVALID"), message: string("records[1].email: invalid email format"), path: string("records[1].email"), value: like("not-an-email-0") };
    await pact
      .addInteraction()
      .given("job rjob_… completed with 1 invalid row")
      .uponReceiving("a status request for a completed job with one invalid row")
      .withRequest("GET", fromProviderState("/public/v1/records/profiles/jobs/${jobId}", `/public/v1/records/profiles/jobs/${EXAMPLE_JOB}`), (builder) =>
        builder.headers(requestHeaders()),
      )
      .willRespondWith(200, (builder) =>
        builder.headers(responseHeaders).jsonBody({
          success: true,
          data: {
            jobId: regex(JOB_ID, EXAMPLE_JOB),
            objectName: "profiles",
            operation: "upsert-batch",
            state: "completed",
            createdAt: timestamp(),
            startedAt: timestamp(),
            completedAt: timestamp(),
            metrics: { totalRows: integer(2), processedRows: integer(2), insertedRows: integer(1), mergedRows: integer(0), invalidRows: 1 },
            errors: eachLike(rowError),
            errorsPath: regex(/^\/records\/profiles\/jobs\/rjob_\w+\/errors$/, `/records/profiles/jobs/${EXAMPLE_JOB}/errors`),
          },
        }),
      )
      .executeTest(async (mock) => {
        const job = await client(mock.url).waitForJob("profiles", EXAMPLE_JOB, { initialDelayMs: 1 });
        expect(job.state).toBe("completed");
        expect(job.metrics.invalidRows).toBe(1);
        expect(job.errors[0]?.path).toBe("records[1].email");
      });
  });

  it("pages through a job's errors with the cursor the API returns", async () => {
    const rowError = { index: integer(1), code: string("CDP_ETL.VALIDATION.REQUEST_INVALID"), message: string("records[1].email: invalid email format"), path: string("records[1].email"), value: like("not-an-email-0") };
    const errorsPath = (example: string) =>
      fromProviderState("/public/v1/records/profiles/jobs/${jobId}/errors", `/public/v1/records/profiles/jobs/${example}/errors`);
    pact
      .addInteraction()
      .given("job rjob_… completed with 2 invalid rows")
      .uponReceiving("the first page of a job's errors, one row per page")
      .withRequest("GET", errorsPath(EXAMPLE_JOB), (builder) => builder.headers(requestHeaders()).query({ limit: "1" }))
      .willRespondWith(200, (builder) =>
        builder.headers(responseHeaders).jsonBody({ success: true, data: { errors: eachLike(rowError, 1), nextCursor: string("cDoy") } }),
      );
    await pact
      .addInteraction()
      .given("job rjob_… completed with 2 invalid rows")
      .uponReceiving("the second and last page of a job's errors")
      .withRequest("GET", errorsPath(EXAMPLE_JOB), (builder) =>
        builder.headers(requestHeaders()).query({ limit: "1", cursor: fromProviderState("${secondPageCursor}", "cDoy") }),
      )
      .willRespondWith(200, (builder) =>
        builder.headers(responseHeaders).jsonBody({ success: true, data: { errors: eachLike({ ...rowError, index: integer(2) }, 1), nextCursor: nullValue() } }),
      )
      .executeTest(async (mock) => {
        const rows: RowError[] = [];
        for await (const row of client(mock.url).jobErrors("profiles", EXAMPLE_JOB, { pageSize: 1 })) rows.push(row);
        expect(rows.map((row) => row.index)).toEqual([1, 2]);
      });
  });

  it("reads an object's metadata", async () => {
    await pact
      .addInteraction()
      .uponReceiving("a metadata request for profiles")
      .withRequest("GET", "/public/v1/metadata/objects/profiles", (builder) => builder.headers(requestHeaders()))
      .willRespondWith(200, (builder) =>
        builder.headers(responseHeaders).jsonBody({
          success: true,
          data: {
            objectName: "profiles",
            primaryKey: "email",
            identityKeys: eachLike("email"),
            fields: eachLike({ name: string("email"), type: string("string"), required: boolean(false), identity: boolean(true) }),
          },
        }),
      )
      .executeTest(async (mock) => {
        const metadata = await client(mock.url).getObject("profiles");
        expect(metadata.primaryKey).toBe("email");
      });
  });

  it("lists the objects", async () => {
    await pact
      .addInteraction()
      .uponReceiving("a request for every object's metadata")
      .withRequest("GET", "/public/v1/metadata/objects", (builder) => builder.headers(requestHeaders()))
      .willRespondWith(200, (builder) =>
        builder.headers(responseHeaders).jsonBody({
          success: true,
          data: {
            objects: eachLike({
              objectName: string("profiles"),
              primaryKey: string("email"),
              identityKeys: eachLike("email"),
              fields: eachLike({ name: string("email"), type: string("string"), required: boolean(false), identity: boolean(true) }),
            }),
          },
        }),
      )
      .executeTest(async (mock) => {
        expect((await client(mock.url).listObjects()).length).toBeGreaterThan(0);
      });
  });

  it("is told 400 REQUEST_INVALID for a malformed email, and does not retry", async () => {
    await pact
      .addInteraction()
      .uponReceiving("an upsert with a malformed email")
      .withRequest("POST", "/public/v1/records/profiles/upsert", (builder) =>
        builder.headers(writeHeaders()).jsonBody({ record: { email: "not-an-email" }, matchKey: "email" }),
      )
      .willRespondWith(400, (builder) =>
        builder
          .headers(responseHeaders)
          .jsonBody(errorBody("CDP_ETL.VALIDATION.REQUEST_INVALID", "record.email: invalid email format", { path: "record.email", value: "not-an-email" })),
      )
      .executeTest(async (mock) => {
        const error = await failure(client(mock.url).upsert("profiles", { email: "not-an-email" }, { matchKey: "email" }));
        expect(error).toMatchObject({ status: 400, failureType: "bad_data", attempts: 1 });
      });
  });

  it("is told 401 TOKEN_EXPIRED when its token has expired", async () => {
    await pact
      .addInteraction()
      .given("token is expired", { token: "expired-token" })
      .uponReceiving("an upsert with an expired token")
      .withRequest("POST", "/public/v1/records/profiles/upsert", (builder) =>
        builder
          .headers({ ...writeHeaders(), Authorization: fromProviderState("Bearer ${token}", "Bearer expired-token") })
          .jsonBody({ record: profile, matchKey: "email" }),
      )
      .willRespondWith(401, (builder) => builder.headers(responseHeaders).jsonBody(errorBody("CDP_ETL.AUTH.TOKEN_EXPIRED", "Token has expired")))
      .executeTest(async (mock) => {
        const error = await failure(client(mock.url, "expired-token").upsert("profiles", profile, { matchKey: "email" }));
        expect(error).toMatchObject({ status: 401, code: "CDP_ETL.AUTH.TOKEN_EXPIRED", failureType: "auth" });
      });
  });

  it("is told 403 FORBIDDEN when its token lacks the write scope", async () => {
    await pact
      .addInteraction()
      .given("token lacks the records:write scope", { token: "narrow-token" })
      .uponReceiving("an upsert with a token without records:write")
      .withRequest("POST", "/public/v1/records/profiles/upsert", (builder) =>
        builder
          .headers({ ...writeHeaders(), Authorization: fromProviderState("Bearer ${token}", "Bearer narrow-token") })
          .jsonBody({ record: profile, matchKey: "email" }),
      )
      .willRespondWith(403, (builder) => builder.headers(responseHeaders).jsonBody(errorBody("CDP_ETL.AUTH.FORBIDDEN", "Token lacks the records:write scope")))
      .executeTest(async (mock) => {
        const error = await failure(client(mock.url, "narrow-token").upsert("profiles", profile, { matchKey: "email" }));
        expect(error).toMatchObject({ status: 403, failureType: "auth" });
      });
  });

  it("is told 404 NOT_FOUND for an object that does not exist", async () => {
    await pact
      .addInteraction()
      .uponReceiving("a metadata request for an unknown object")
      .withRequest("GET", "/public/v1/metadata/objects/unicorns", (builder) => builder.headers(requestHeaders()))
      .willRespondWith(404, (builder) => builder.headers(responseHeaders).jsonBody(errorBody("CDP_ETL.NOT_FOUND", 'Object "unicorns" does not exist')))
      .executeTest(async (mock) => {
        const error = await failure(client(mock.url).getObject("unicorns"));
        expect(error).toMatchObject({ status: 404, code: "CDP_ETL.NOT_FOUND", attempts: 1 });
      });
  });

  it("is told 409 WRITE_RACE when its upsert races another write, which it may retry", async () => {
    await pact
      .addInteraction()
      .given("the next upsert races another write")
      .uponReceiving("an upsert that races another write")
      .withRequest("POST", "/public/v1/records/profiles/upsert", (builder) =>
        builder.headers(writeHeaders()).jsonBody({ record: profile, matchKey: "email" }),
      )
      .willRespondWith(409, (builder) => builder.headers(responseHeaders).jsonBody(errorBody("CDP_ETL.CONFLICT.WRITE_RACE", "A concurrent write raced this one")))
      .executeTest(async (mock) => {
        const error = await failure(client(mock.url).upsert("profiles", profile, { matchKey: "email" }));
        expect(error).toMatchObject({ status: 409, failureType: "transient", retryable: true });
      });
  });

  it("is told 422 REQUEST_SCHEMA for a field the object does not have", async () => {
    await pact
      .addInteraction()
      .uponReceiving("an upsert with a field not in the profiles schema")
      .withRequest("POST", "/public/v1/records/profiles/upsert", (builder) =>
        builder.headers(writeHeaders()).jsonBody({ record: { email: "jane@example.com", favourite_colour: "red" }, matchKey: "email" }),
      )
      .willRespondWith(422, (builder) =>
        builder
          .headers(responseHeaders)
          .jsonBody(errorBody("CDP_ETL.VALIDATION.REQUEST_SCHEMA", 'record.favourite_colour: field "favourite_colour" does not exist on profiles', { path: "record.favourite_colour" })),
      )
      .executeTest(async (mock) => {
        const error = await failure(client(mock.url).upsert("profiles", { email: "jane@example.com", favourite_colour: "red" }, { matchKey: "email" }));
        expect(error).toMatchObject({ status: 422, failureType: "schema" });
      });
  });

  it("is told 429 with Retry-After when the quota is spent", async () => {
    await pact
      .addInteraction()
      .given("the single-write quota is spent", { retryAfter: 2 })
      .uponReceiving("an upsert beyond the single-write quota")
      .withRequest("POST", "/public/v1/records/profiles/upsert", (builder) =>
        builder.headers(writeHeaders()).jsonBody({ record: profile, matchKey: "email" }),
      )
      .willRespondWith(429, (builder) =>
        builder
          .headers({ ...responseHeaders, "Retry-After": regex(/^\d+(\.\d+)?$/, "2"), "X-RateLimit-Remaining": "0" })
          .jsonBody(errorBody("CDP_ETL.RATE_LIMIT.EXCEEDED", "Rate limit exceeded")),
      )
      .executeTest(async (mock) => {
        const error = await failure(client(mock.url).upsert("profiles", profile, { matchKey: "email" }));
        expect(error).toMatchObject({ status: 429, retryAfterSeconds: 2, failureType: "transient" });
      });
  });

  it("is told 503 during a maintenance window", async () => {
    await pact
      .addInteraction()
      .given("the service is in a maintenance window", { retryAfter: 30 })
      .uponReceiving("an upsert during a maintenance window")
      .withRequest("POST", "/public/v1/records/profiles/upsert", (builder) =>
        builder.headers(writeHeaders()).jsonBody({ record: profile, matchKey: "email" }),
      )
      .willRespondWith(503, (builder) =>
        builder
          .headers({ ...responseHeaders, "Retry-After": regex(/^\d+(\.\d+)?$/, "30") })
          .jsonBody(errorBody("CDP_ETL.SERVICE.UNAVAILABLE", "Service unavailable")),
      )
      .executeTest(async (mock) => {
        const error = await failure(client(mock.url).upsert("profiles", profile, { matchKey: "email" }));
        expect(error).toMatchObject({ status: 503, failureType: "transient", retryAfterSeconds: 30 });
      });
  });
});
