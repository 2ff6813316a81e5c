import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundledSchemasDir } from "../../src/config.js";
import { createSchemaCompiler, type ObjectDefinition } from "../../src/domain/object-schema.js";
import { checkRecord, findMissingRequired } from "../../src/domain/validation.js";
import { loadObjectSchemas } from "../../src/services/object-schemas.js";
import { DEFAULT_REFERENCE_TIME, generateRecords } from "../../src/seed/generate.js";
import type { SeedResult } from "../../src/index.js";
import { createEmulator, StartupError } from "../../src/server.js";
import type { ErrorEnvelope, SuccessEnvelope } from "../../src/domain/errors.js";
import { AUTH, call, perTest, type EmulatorOnDisk } from "../helpers/emulator.js";

/*
 * Seeded data and NDJSON export, on a real SQLite file and a real HTTP server: generated records
 * pass the emulator's own write path for every shipped object (and for a user's schema with
 * unfamiliar field names), seeding is repeatable, POST /_emulator/seed and GET
 * /_emulator/export/{object} answer as documented, and export → --seed-data round-trips.
 */

interface Job {
  state: string;
  metrics: { totalRows: number; insertedRows: number; mergedRows: number; invalidRows: number };
  errors: unknown[];
}

interface ExportLine {
  object: string;
  workspace: string;
  record: Record<string, unknown>;
}

const objects = loadObjectSchemas(bundledSchemasDir());
const shipped = [...objects.values()];
const profiles = objects.get("profiles") as ObjectDefinition;

const { emulator: fresh, dir: scratchDir } = perTest("cdp-emulator-seed-");

/** The answer read as a success unless told otherwise (`seed<ErrorEnvelope>`). */
async function seed<T = SuccessEnvelope<SeedResult>>(env: EmulatorOnDisk, body: unknown) {
  return call<T>(`${env.url}/_emulator/seed`, { body });
}

async function exportText(env: EmulatorOnDisk, object: string, workspace = "default"): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${env.url}/_emulator/export/${object}?workspace=${workspace}`);
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

function parseLines(text: string): ExportLine[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as ExportLine);
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** A user's own object, with field names no heuristic knows: the schema alone must say what is valid. */
const WIDGETS_SCHEMA = {
  type: "object",
  primaryKey: "widget_code",
  identityKeys: ["widget_code", "serial"],
  required: ["widget_code", "grade", "weight_kg", "dims"],
  properties: {
    widget_code: { type: "string", pattern: "^[A-Z]{3}-[0-9]{4}$" },
    serial: { type: "integer", minimum: 1000, maximum: 999999 },
    grade: { type: "string", enum: ["A", "B", "C"] },
    weight_kg: { type: "number", exclusiveMinimum: 0, maximum: 2.5 },
    stock_level: { type: "integer", minimum: 5, maximum: 9 },
    pack_of: { type: "integer", multipleOf: 6, minimum: 6, maximum: 48 },
    fragile: { type: "boolean" },
    inspected: { type: "string", format: "date-time" },
    inspected_day: { type: "string", format: "date" },
    manual: { type: "string", format: "uri" },
    batch_ref: { type: "string", format: "uuid" },
    colour_hex: { type: "string", pattern: "^#[0-9a-f]{6}$" },
    label: { type: "string", minLength: 3, maxLength: 8 },
    owner: { type: "string", format: "email" },
    dims: {
      type: "object",
      required: ["w"],
      properties: { w: { type: "integer", minimum: 1, maximum: 90 }, h: { type: "number" } },
      additionalProperties: false,
    },
    tags: { type: "array", items: { type: "string", maxLength: 10 }, maxItems: 4, uniqueItems: true },
  },
  additionalProperties: false,
};

describe("the record generator", () => {
  it("gives the same records for the same seed and different records for a different seed", () => {
    const first = generateRecords({ object: profiles, count: 200, seed: 42 });
    const again = generateRecords({ object: profiles, count: 200, seed: 42 });
    const other = generateRecords({ object: profiles, count: 200, seed: 43 });
    expect(again).toEqual(first);
    expect(JSON.stringify(again)).toBe(JSON.stringify(first)); // same key order too
    expect(other).not.toEqual(first);
    expect(other.map((record) => record["email"])).not.toEqual(first.map((record) => record["email"]));
  });

  it("gives profiles realistic values: lower-case emails, E.164 phones, RFC 3339 timestamps, names", () => {
    const records = generateRecords({ object: profiles, count: 500, seed: 7 });
    for (const record of records) {
      expect(record["email"]).toMatch(/^[a-z0-9._-]+@example\.(com|org|net)$/);
      if (record["phone"] !== undefined) expect(record["phone"]).toMatch(/^\+1[2-9][0-8]\d[2-9]\d{6}$/);
      for (const field of ["signed_up_at", "last_seen_at", "last_login_at", "subscription_updated_at"]) {
        if (record[field] !== undefined) expect(record[field]).toMatch(RFC3339_UTC);
      }
      if (record["first_name"] !== undefined) expect(record["first_name"]).toMatch(/^[A-Z]/);
      if (record["customer_id"] !== undefined) expect(record["customer_id"]).toMatch(/^cus_[a-z0-9]{14}$/);
      if (record["external_id"] !== undefined) expect(typeof record["external_id"]).toBe("string");
      if (record["marketing_opt_in"] !== undefined) expect(typeof record["marketing_opt_in"]).toBe("boolean");
    }
    // Timestamps are relative to the reference time, not to today.
    const signedUp = records.flatMap((record) => (typeof record["signed_up_at"] === "string" ? [Date.parse(record["signed_up_at"])] : []));
    expect(Math.max(...signedUp)).toBeLessThanOrEqual(DEFAULT_REFERENCE_TIME);
    expect(Math.min(...signedUp)).toBeGreaterThanOrEqual(DEFAULT_REFERENCE_TIME - 2 * 366 * 86_400_000);
  });

  it("always includes the primary key and includes each optional field most of the time", () => {
    const records = generateRecords({ object: profiles, count: 1000, seed: 3 });
    expect(records.every((record) => typeof record["email"] === "string")).toBe(true);
    for (const field of ["phone", "first_name", "tier", "lifetime_value"]) {
      const present = records.filter((record) => record[field] !== undefined).length;
      expect(present, field).toBeGreaterThan(800);
      expect(present, field).toBeLessThan(1000);
    }
  });

  it("never repeats an identity value across 10,000 profiles", () => {
    const records = generateRecords({ object: profiles, count: 10_000, seed: 11 });
    for (const field of profiles.identityKeys) {
      const values = records.flatMap((record) => (record[field] === undefined ? [] : [record[field]]));
      expect(new Set(values).size, field).toBe(values.length);
    }
  });

  it("follows a user's schema by type, format, enum, pattern and bounds when the field names mean nothing to it", () => {
    const widgets = createSchemaCompiler()("widgets", WIDGETS_SCHEMA);
    const records = generateRecords({ object: widgets, count: 2000, seed: 5 });
    records.forEach((record, index) => {
      const basePath = `records[${index}]`;
      expect(checkRecord(widgets, record, basePath)).toBeNull();
      expect(findMissingRequired(widgets, record, basePath, "insert")).toBeNull();
    });
    expect(new Set(records.map((record) => record["grade"]))).toEqual(new Set(["A", "B", "C"]));
    expect(new Set(records.map((record) => record["widget_code"])).size).toBe(2000);
    const serials = records.flatMap((record) => (record["serial"] === undefined ? [] : [record["serial"]]));
    expect(new Set(serials).size).toBe(serials.length);
  });
});

describe("seeded records through the emulator's own write path", () => {
  it.each(shipped.map((object) => ({ name: object.objectName, object })))(
    "accepts 1,000 generated $name as an upsert-batch with no invalid rows and no collisions",
    async ({ object }) => {
      const env = await fresh();
      const records = generateRecords({ object, count: 1000, seed: 2026 });
      const response = await call<SuccessEnvelope<Job>>(`${env.url}/public/v1/records/${object.objectName}/upsert-batch`, {
        headers: { ...AUTH, Prefer: "wait=30" },
        body: { records, matchKey: object.primaryKey },
      });
      expect(response.status, response.text).toBe(200);
      expect(response.body.data.state).toBe("completed");
      expect(response.body.data.errors).toEqual([]);
      expect(response.body.data.metrics).toMatchObject({ totalRows: 1000, insertedRows: 1000, mergedRows: 0, invalidRows: 0 });
      const collisions = await call<SuccessEnvelope<{ collisions: unknown[] }>>(`${env.url}/_emulator/identity/collisions`);
      expect(collisions.body.data.collisions).toEqual([]);
    },
  );
});

describe("POST /_emulator/seed", () => {
  it("writes the records and answers with the object, workspace, count and seed", async () => {
    const env = await fresh();
    const response = await seed(env, { object: "profiles", count: 250, seed: 42 });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({
      success: true,
      data: { object: "profiles", workspace: "default", count: 250, seed: 42, inserted: 250, merged: 0 },
    });

    const exported = parseLines((await exportText(env, "profiles")).text);
    expect(exported).toHaveLength(250);
    expect(exported.map((line) => line.record)).toEqual(generateRecords({ object: profiles, count: 250, seed: 42 }));
  });

  it("gives 10,000 rows for 10,000 profiles", async () => {
    const env = await fresh();
    const response = await seed(env, { object: "profiles", count: 10_000, seed: 1 });
    expect(response.status, response.text).toBe(200);
    expect(response.body.data).toMatchObject({ count: 10_000, inserted: 10_000 });
    expect(parseLines((await exportText(env, "profiles")).text)).toHaveLength(10_000);
  });

  it("upserts instead of duplicating when the same seed is applied twice", async () => {
    const env = await fresh();
    await seed(env, { object: "orders", count: 300, seed: 9 });
    const before = (await exportText(env, "orders")).text;
    const again = await seed(env, { object: "orders", count: 300, seed: 9 });
    expect(again.body.data).toMatchObject({ inserted: 0, merged: 300 });
    expect((await exportText(env, "orders")).text).toBe(before);
    const collisions = await call<SuccessEnvelope<{ collisions: unknown[] }>>(`${env.url}/_emulator/identity/collisions`);
    expect(collisions.body.data.collisions).toEqual([]);
  });

  it("draws a seed when none is given and reports it, so the same data can be made again", async () => {
    const env = await fresh();
    const first = await seed(env, { object: "events", count: 50, workspace: "first" });
    expect(first.status).toBe(200);
    expect(Number.isInteger(first.body.data.seed)).toBe(true);
    const replay = await seed(env, { object: "events", count: 50, workspace: "second", seed: first.body.data.seed });
    expect(replay.status).toBe(200);
    const records = (workspace: string) => exportText(env, "events", workspace).then(({ text }) => parseLines(text).map((line) => line.record));
    expect(await records("second")).toEqual(await records("first"));
  });

  it("creates the named workspace and keeps its rows apart from default", async () => {
    const env = await fresh();
    const response = await seed(env, { object: "profiles", count: 20, seed: 4, workspace: "suite-a" });
    expect(response.body.data.workspace).toBe("suite-a");
    const workspaces = await call<SuccessEnvelope<{ workspaces: string[] }>>(`${env.url}/_emulator/workspaces`);
    expect(workspaces.body.data.workspaces).toContain("suite-a");
    expect(parseLines((await exportText(env, "profiles", "suite-a")).text)).toHaveLength(20);
    expect((await exportText(env, "profiles", "default")).text).toBe("");
  });

  it("answers an unknown object with 404 CDP_ETL.NOT_FOUND", async () => {
    const env = await fresh();
    const response = await seed(env, { object: "invoices", count: 10 });
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({
      success: false,
      error: { code: "CDP_ETL.NOT_FOUND", details: { path: "object", value: "invoices" } },
    });
  });

  it.each([0, -5, 2.5, 1_000_001, "10", null])("answers count %j with 400 REQUEST_INVALID naming count", async (count) => {
    const env = await fresh();
    const response = await seed<ErrorEnvelope>(env, { object: "profiles", count });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      success: false,
      error: { code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path: "count" } },
    });
    expect(response.body.error.message).toContain("1 to 1000000");
  });

  it("answers a missing count, a bad seed, a bad workspace and an unknown field with 400 naming each", async () => {
    const env = await fresh();
    const cases: [unknown, string][] = [
      [{ object: "profiles" }, "count"],
      [{ object: "profiles", count: 5, seed: -1 }, "seed"],
      [{ object: "profiles", count: 5, workspace: "no spaces" }, "workspace"],
      [{ object: "profiles", count: 5, rows: 3 }, "rows"],
    ];
    for (const [body, path] of cases) {
      const response = await seed<ErrorEnvelope>(env, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toMatchObject({ code: "CDP_ETL.VALIDATION.REQUEST_INVALID", details: { path } });
    }
  });

  it("seeds a user's own object from its schema alone", async () => {
    const schemas = join(scratchDir(), "schemas");
    mkdirSync(schemas);
    writeFileSync(join(schemas, "widgets.json"), JSON.stringify(WIDGETS_SCHEMA));
    const env = await fresh({ schemasDir: schemas });
    const response = await seed(env, { object: "widgets", count: 500, seed: 8 });
    expect(response.status, response.text).toBe(200);
    const lines = parseLines((await exportText(env, "widgets")).text);
    expect(lines).toHaveLength(500);
    expect(lines.every((line) => /^[A-Z]{3}-[0-9]{4}$/.test(String(line.record["widget_code"])))).toBe(true);
  });
});

describe("GET /_emulator/export/{object}", () => {
  it("streams the workspace's rows as NDJSON lines of {object, workspace, record}, in write order", async () => {
    const env = await fresh();
    await call(`${env.url}/public/v1/records/profiles/upsert`, { headers: AUTH, body: { record: { email: "b@example.com", tier: "gold" } } });
    await call(`${env.url}/public/v1/records/profiles/upsert`, { headers: AUTH, body: { record: { email: "a@example.com" } } });
    const exported = await exportText(env, "profiles");
    expect(exported.status).toBe(200);
    expect(exported.type).toBe("application/x-ndjson");
    expect(exported.text).toBe(
      '{"object":"profiles","workspace":"default","record":{"email":"b@example.com","tier":"gold"}}\n' +
        '{"object":"profiles","workspace":"default","record":{"email":"a@example.com"}}\n',
    );
  });

  it("exports more rows than fit one chunk, each exactly once", async () => {
    const env = await fresh();
    await seed(env, { object: "events", count: 5000, seed: 12 });
    const exported = await exportText(env, "events");
    expect(exported.text.length).toBeGreaterThan(200 * 1024);
    const lines = parseLines(exported.text);
    expect(lines).toHaveLength(5000);
    expect(new Set(lines.map((line) => line.record["event_id"])).size).toBe(5000);
  });

  it("uses the bearer token's workspace when a token is sent", async () => {
    const env = await fresh();
    await seed(env, { object: "orders", count: 3, seed: 1, workspace: "default" });
    const response = await fetch(`${env.url}/_emulator/export/orders`, { headers: AUTH });
    expect(parseLines(await response.text())).toHaveLength(3);
  });

  it("answers an unknown object or workspace with 404 in the error envelope", async () => {
    const env = await fresh();
    const object = await call(`${env.url}/_emulator/export/invoices`);
    expect(object.status).toBe(404);
    expect(object.body).toMatchObject({ success: false, error: { code: "CDP_ETL.NOT_FOUND" } });
    const workspace = await call(`${env.url}/_emulator/export/profiles?workspace=nobody`);
    expect(workspace.status).toBe(404);
    expect(workspace.body).toMatchObject({ success: false, error: { code: "CDP_ETL.NOT_FOUND", details: { path: "workspace" } } });
  });
});

describe("--seed-data", () => {
  it("round-trips: seed, export, load into a fresh emulator, export again gives the same records with new row ids", async () => {
    const source = await fresh();
    await seed(source, { object: "profiles", count: 400, seed: 21 });
    await seed(source, { object: "orders", count: 200, seed: 22 });
    await seed(source, { object: "events", count: 200, seed: 23 });
    await seed(source, { object: "profiles", count: 50, seed: 24, workspace: "other" });
    const parts = [
      ["profiles", "default"],
      ["orders", "default"],
      ["events", "default"],
      ["profiles", "other"],
    ] as const;
    const exports = await Promise.all(parts.map(([object, workspace]) => exportText(source, object, workspace)));
    const file = join(scratchDir(), "fixtures.ndjson");
    writeFileSync(file, exports.map((part) => part.text).join(""));

    const target = await fresh({ seedData: file });
    const again = await Promise.all(parts.map(([object, workspace]) => exportText(target, object, workspace)));
    expect(again.map((part) => part.text)).toEqual(exports.map((part) => part.text));

    type Rows = SuccessEnvelope<{ records: { rowId: string }[] }>;
    const sourceRows = await call<Rows>(`${source.url}/_emulator/records/profiles?limit=5`);
    const targetRows = await call<Rows>(`${target.url}/_emulator/records/profiles?limit=5`);
    const ids = (rows: Rows) => rows.data.records.map((row) => row.rowId);
    expect(ids(targetRows.body)).toHaveLength(5);
    expect(ids(targetRows.body).filter((id) => ids(sourceRows.body).includes(id))).toEqual([]);
  });

  it("accepts lines without a workspace (default), blank lines and CRLF line ends", async () => {
    const file = join(scratchDir(), "fixtures.ndjson");
    writeFileSync(
      file,
      '{"object":"profiles","record":{"email":"jane@example.com","tier":"gold"}}\r\n\r\n' +
        '{"object":"orders","workspace":"shop","record":{"order_id":"ord_1","total":12.5,"currency":"EUR","placed_at":"2026-04-21T15:30:00Z"}}\n',
    );
    const env = await fresh({ seedData: file });
    expect(parseLines((await exportText(env, "profiles")).text).map((line) => line.record)).toEqual([{ email: "jane@example.com", tier: "gold" }]);
    expect(parseLines((await exportText(env, "orders", "shop")).text)).toHaveLength(1);
  });

  it.each([
    { what: "an invalid email", line: '{"object":"profiles","record":{"email":"not-an-email"}}', message: /line 2: record\.email: invalid email format/ },
    { what: "an unknown object", line: '{"object":"invoices","record":{}}', message: /line 2: object "invoices" does not exist/ },
    { what: "broken JSON", line: '{"object":"profiles",', message: /line 2: not valid JSON/ },
    { what: "an unknown key", line: '{"object":"profiles","rec":{}}', message: /line 2: "rec" is not a key of a seed line/ },
    { what: "a missing required field", line: '{"object":"orders","record":{"order_id":"o1"}}', message: /line 2: record\.total: required field "total" is missing/ },
  ])("refuses a file with $what, naming the file and line, and writes nothing", async ({ line, message }) => {
    const dir = scratchDir();
    const file = join(dir, "fixtures.ndjson");
    writeFileSync(file, `{"object":"profiles","record":{"email":"ok@example.com"}}\n${line}\n`);
    const db = join(dir, "cdp.sqlite");
    expect(() => createEmulator({ db, seedData: file, logLevel: "silent" })).toThrow(StartupError);
    expect(() => createEmulator({ db, seedData: file, logLevel: "silent" })).toThrow(message);
    expect(() => createEmulator({ db, seedData: file, logLevel: "silent" })).toThrow(file);

    // The database was closed (not left locked) and holds nothing from the file.
    const env = await fresh({ db, dir });
    expect((await exportText(env, "profiles")).text).toBe("");
  });

  it("refuses a file that does not exist, naming it", () => {
    const file = join(scratchDir(), "missing.ndjson");
    expect(() => createEmulator({ db: ":memory:", seedData: file, logLevel: "silent" })).toThrow(`seed data ${file} cannot be read`);
  });
});
