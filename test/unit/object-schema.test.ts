import { describe, expect, it } from "vitest";
import { bundledSchemasDir } from "../../src/config.js";
import { createSchemaCompiler } from "../../src/domain/object-schema.js";
import { checkMatchKey, checkRecord, findMissingRequired } from "../../src/domain/validation.js";
import { loadObjectSchemas } from "../../src/services/object-schemas.js";

const objects = loadObjectSchemas(bundledSchemasDir());
const profiles = objects.get("profiles")!;
const orders = objects.get("orders")!;

describe("the bundled object schemas", () => {
  it("ship profiles, orders and events", () => {
    expect([...objects.keys()].sort()).toEqual(["events", "orders", "profiles"]);
  });

  it("give profiles the guides' identity keys with email as primary key", () => {
    expect(profiles.primaryKey).toBe("email");
    expect(profiles.identityKeys).toEqual(["email", "customer_id", "phone", "external_id", "anonymous_id"]);
  });
});

describe("checkRecord", () => {
  it.each([
    { name: "a valid profile", record: { email: "jane@example.com", tier: "gold", last_seen_at: "2026-04-21T15:30:00Z" } },
    { name: "a timestamp with a negative offset", record: { signed_up_at: "2026-04-21T11:30:00-04:00" } },
    { name: "a timestamp with fractional seconds", record: { signed_up_at: "2026-04-21T11:30:00.123Z" } },
    { name: "null for any field (it clears)", record: { email: null, marketing_opt_in: null } },
  ])("accepts $name", ({ record }) => {
    expect(checkRecord(profiles, record, "record")).toBeNull();
  });

  it.each([
    { name: "a bad email", record: { email: "not-an-email" }, path: "record.email", message: "record.email: invalid email format" },
    { name: "a naive datetime", record: { last_seen_at: "2026-04-21 15:30:00" }, path: "record.last_seen_at" },
    { name: "a date without time", record: { last_seen_at: "2026-04-21" }, path: "record.last_seen_at" },
    { name: "a space-separated datetime even with an offset", record: { last_seen_at: "2026-04-21 15:30:00Z" }, path: "record.last_seen_at" },
    { name: "an impossible date", record: { last_seen_at: "2026-02-30T10:00:00Z" }, path: "record.last_seen_at" },
    { name: "a string where a boolean belongs", record: { marketing_opt_in: "yes" }, path: "record.marketing_opt_in" },
    { name: "a string where a number belongs", record: { lifetime_value: "12.5" }, path: "record.lifetime_value" },
  ])("refuses $name with REQUEST_INVALID at its path", ({ record, path, message }) => {
    const problem = checkRecord(profiles, record, "record");
    expect(problem?.kind).toBe("REQUEST_INVALID");
    expect(problem?.path).toBe(path);
    expect(problem?.value).toEqual(Object.values(record)[0]);
    if (message) expect(problem?.message).toBe(message);
  });

  it("refuses an unknown field with REQUEST_SCHEMA before checking values", () => {
    const problem = checkRecord(profiles, { email: "bad", favourite_color: "blue" }, "records[2]");
    expect(problem).toMatchObject({ kind: "REQUEST_SCHEMA", path: "records[2].favourite_color", value: "blue" });
  });
});

describe("required fields and matchKey", () => {
  it("require every required field on insert", () => {
    const problem = findMissingRequired(orders, { order_id: "o1", total: 1, currency: "USD" }, "record", "insert");
    expect(problem).toMatchObject({ kind: "REQUEST_INVALID", path: "record.placed_at" });
  });

  it("refuse a merge that would leave a required field empty", () => {
    const problem = findMissingRequired(orders, { order_id: "o1", currency: "USD", placed_at: "2026-04-21T15:30:00Z" }, "record", "merge");
    expect(problem?.message).toContain("cannot be cleared");
  });

  it.each([
    { name: "a field that is not an identity key", matchKey: "tier", record: { tier: "gold" }, path: "matchKey" },
    { name: "an identity key missing from the record", matchKey: "customer_id", record: { email: "a@b.io" }, path: "record.customer_id" },
    { name: "an identity key sent as null", matchKey: "email", record: { email: null }, path: "record.email" },
  ])("refuse $name as matchKey", ({ matchKey, record, path }) => {
    expect(checkMatchKey(profiles, matchKey, record, "record")).toMatchObject({ kind: "REQUEST_INVALID", path });
  });
});

describe("createSchemaCompiler", () => {
  const compile = createSchemaCompiler();
  const valid = {
    type: "object",
    primaryKey: "id",
    identityKeys: ["id"],
    properties: { id: { type: "string" }, n: { type: "integer" } },
  };

  it("names the object after the file unless objectName says otherwise", () => {
    expect(compile("widgets", valid).objectName).toBe("widgets");
    expect(compile("widgets", { ...valid, objectName: "gadgets" }).objectName).toBe("gadgets");
  });

  it.each([
    { name: "a primary key outside identityKeys", doc: { ...valid, primaryKey: "n" }, message: 'primaryKey "n" must be one of identityKeys' },
    { name: "an identity key that is not a property", doc: { ...valid, identityKeys: ["id", "ghost"] }, message: '"ghost" is not a property' },
    { name: "a required field that is not a property", doc: { ...valid, required: ["ghost"] }, message: 'required: "ghost"' },
    { name: "a missing identityKeys", doc: { type: "object", primaryKey: "id", properties: valid.properties }, message: "identityKeys: is required" },
    { name: "a property without a type", doc: { ...valid, properties: { id: { type: "string" }, n: {} } }, message: "properties.n" },
    { name: "an unknown format", doc: { ...valid, properties: { id: { type: "string", format: "colour" } } }, message: "properties.id" },
    { name: "an object-typed identity key", doc: { ...valid, properties: { id: { type: "object" } } }, message: "identity key must be" },
  ])("rejects $name with a message saying what is wrong", ({ doc, message }) => {
    expect(() => compile("widgets", doc)).toThrow(message);
  });
});

describe("record value messages, as the public API has always worded them", () => {
  // Clients match on these; the control plane's friendlier wording must not leak into them.
  it.each([
    { name: "a wrong type", object: orders, record: { total: "12" }, path: "record.total", message: "record.total: must be number", value: "12" },
    { name: "a number below its minimum", object: orders, record: { total: -1 }, path: "record.total", message: "record.total: must be >= 0", value: -1 },
    { name: "a string over its maxLength", object: orders, record: { status: "x".repeat(65) }, path: "record.status", message: "record.status: must NOT have more than 64 characters" },
    { name: "an empty string under its minLength", object: orders, record: { order_id: "" }, path: "record.order_id", message: "record.order_id: must NOT have fewer than 1 characters", value: "" },
    { name: "a string off its pattern", object: orders, record: { currency: "usd" }, path: "record.currency", message: 'record.currency: must match pattern "^[A-Z]{3}$"', value: "usd" },
    { name: "an invalid email", object: profiles, record: { email: "nope" }, path: "record.email", message: "record.email: invalid email format", value: "nope" },
  ])("words $name as before", ({ object, record, path, message, value }) => {
    const problem = checkRecord(object, record, "record");
    expect(problem).toMatchObject({ kind: "REQUEST_INVALID", path, message });
    if (value !== undefined) expect(problem?.value).toEqual(value);
  });

  it("quotes enum values as JSON and points a nested problem at the object field, as before", () => {
    const compile = createSchemaCompiler();
    const object = compile("things", {
        objectName: "things",
        primaryKey: "id",
        identityKeys: ["id"],
        type: "object",
        properties: {
          id: { type: "string" },
          kind: { type: "string", enum: ["a", "b"] },
          meta: { type: "object", properties: { x: { type: "string" } }, required: ["x"] },
        },
    });
    expect(checkRecord(object, { kind: "c" }, "record")).toMatchObject({ path: "record.kind", message: 'record.kind: must be one of "a", "b"', value: "c" });
    expect(checkRecord(object, { meta: {} }, "records[2]")).toMatchObject({
      path: "records[2].meta",
      message: "records[2].meta: must have required property 'x'",
      value: {},
    });
  });
});
