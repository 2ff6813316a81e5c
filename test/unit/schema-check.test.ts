import { Ajv, type AnySchema } from "ajv";
import addFormatsModule from "ajv-formats";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeSchemaError, problemText, schemaCheck } from "../../src/domain/schema-check.js";

/** The first problem `schema` finds in `value`, through the same door every caller uses. */
const problemOf = (schema: AnySchema, value: unknown, messages?: Record<string, string>) =>
  schemaCheck(schema, messages ? { messages } : {}).problem(value);

describe("schemaCheck words each keyword as a sentence about the field at fault", () => {
  it.each([
    {
      keyword: "required",
      schema: { type: "object", properties: { record: { type: "object", required: ["email"], properties: { email: { type: "string" } } } } },
      value: { record: {} },
      path: "record.email",
      message: "is required",
      quoted: undefined,
    },
    {
      keyword: "additionalProperties",
      schema: { type: "object", additionalProperties: false, properties: { times: { type: "integer" }, after: { type: "integer" } } },
      value: { first: 3 },
      path: "first",
      message: "is not a known field; use times, after",
      quoted: 3,
    },
    {
      keyword: "additionalProperties, with no fields to offer",
      schema: { type: "object", additionalProperties: false },
      value: { extra: "x" },
      path: "extra",
      message: "is not a known field",
      quoted: "x",
    },
    {
      keyword: "enum",
      schema: { type: "object", properties: { then: { enum: [504, "drop"] } } },
      value: { then: 503 },
      path: "then",
      message: "must be one of 504, drop",
      quoted: 503,
    },
    { keyword: "const", schema: { const: "object" }, value: "array", path: "", message: 'must be "object"', quoted: "array" },
    {
      keyword: "type",
      schema: { type: "object", properties: { status: { type: "integer" } } },
      value: { status: "503" },
      path: "status",
      message: "must be an integer",
      quoted: "503",
    },
    { keyword: "type, with a choice of types", schema: { type: ["string", "null"] }, value: 5, path: "", message: "must be a string or null", quoted: 5 },
    { keyword: "minimum", schema: { type: "integer", minimum: 1 }, value: 0, path: "", message: "must be at least 1", quoted: 0 },
    { keyword: "maximum", schema: { type: "number", maximum: 1 }, value: 1.5, path: "", message: "must be at most 1", quoted: 1.5 },
    { keyword: "exclusiveMinimum", schema: { type: "number", exclusiveMinimum: 0 }, value: 0, path: "", message: "must be more than 0", quoted: 0 },
    { keyword: "exclusiveMaximum", schema: { type: "number", exclusiveMaximum: 10 }, value: 10, path: "", message: "must be less than 10", quoted: 10 },
    { keyword: "minLength of 1", schema: { type: "string", minLength: 1 }, value: "", path: "", message: "must not be empty", quoted: "" },
    { keyword: "minLength", schema: { type: "string", minLength: 16 }, value: "short", path: "", message: "must be at least 16 characters", quoted: "short" },
    { keyword: "maxLength", schema: { type: "string", maxLength: 3 }, value: "long", path: "", message: "must be at most 3 characters", quoted: "long" },
    { keyword: "minItems of 1", schema: { type: "array", minItems: 1 }, value: [], path: "", message: "must not be empty", quoted: [] },
    { keyword: "minItems", schema: { type: "array", minItems: 2 }, value: [1], path: "", message: "must have at least 2 items", quoted: [1] },
    { keyword: "maxItems", schema: { type: "array", maxItems: 1 }, value: [1, 2], path: "", message: "must have at most 1 items", quoted: [1, 2] },
    { keyword: "uniqueItems", schema: { type: "array", uniqueItems: true }, value: ["a", "a"], path: "", message: "must not repeat an item", quoted: ["a", "a"] },
    { keyword: "pattern", schema: { type: "string", pattern: "^[a-z]+$" }, value: "A1", path: "", message: "must match ^[a-z]+$", quoted: "A1" },
    { keyword: "any other keyword, in ajv's words", schema: { type: "integer", multipleOf: 5 }, value: 7, path: "", message: "must be multiple of 5", quoted: 7 },
  ])("words $keyword", ({ schema, value, path, message, quoted }) => {
    const problem = problemOf(schema, value);
    expect(problem?.path).toBe(path);
    expect(problem?.message).toBe(message);
    expect(problem?.value).toEqual(quoted);
  });

  it("passes a valid value with no problem, and narrows its type", () => {
    const isCount = schemaCheck<{ count: number }>({ type: "object", required: ["count"], properties: { count: { type: "integer" } } });
    const value: unknown = { count: 3 };
    expect(isCount.problem(value)).toBeUndefined();
    expect(isCount(value) && value.count).toBe(3);
  });

  it("names the schema location and keyword, for callers that word one case their own way", () => {
    const problem = problemOf({ type: "object", properties: { name: { type: "string", pattern: "^[a-z]+$" } } }, { name: "X" });
    expect(problem).toMatchObject({ keyword: "pattern", schemaPath: "#/properties/name/pattern" });
  });
});

describe("schemaCheck's messages replace the generic sentence", () => {
  const schema = {
    type: "object",
    properties: { method: { type: "string", pattern: "^[A-Za-z]+$" }, name: { type: "string", minLength: 1 } },
  };

  it("replaces the sentence for one schema location", () => {
    const problem = problemOf(schema, { method: "PO ST" }, { "#/properties/method/pattern": "must be an HTTP method name, like POST" });
    expect(problem).toMatchObject({ path: "method", message: "must be an HTTP method name, like POST", value: "PO ST" });
  });

  it("replaces the sentence for one field path, whichever keyword failed", () => {
    const messages = { name: "must be the scenario's name" };
    expect(problemOf(schema, { name: "" }, messages)?.message).toBe("must be the scenario's name");
    expect(problemOf(schema, { name: 5 }, messages)?.message).toBe("must be the scenario's name");
  });

  it("leaves the other fields' sentences alone", () => {
    const problem = problemOf(schema, { name: "" }, { "#/properties/method/pattern": "must be an HTTP method name, like POST" });
    expect(problem?.message).toBe("must not be empty");
  });
});

describe("describeSchemaError", () => {
  const ajv = new Ajv({ allErrors: false, strict: true });
  addFormatsModule.default(ajv);

  it.each([
    { format: "date-time", value: "2026-04-21 15:30", message: "must be an ISO 8601 timestamp with a timezone offset, like 2026-04-21T15:30:00Z" },
    { format: "email", value: "not-an-email", message: "invalid email format" },
  ])("words a failed $format format", ({ format, value, message }) => {
    const validate = ajv.compile({ type: "string", format });
    expect(validate(value)).toBe(false);
    const problem = describeSchemaError(validate.errors?.[0], value, { base: "record.field" });
    expect(problem).toMatchObject({ path: "record.field", message, value, keyword: "format" });
  });

  it("puts the error's location under the base path and quotes the value there, even without ajv's verbose data", () => {
    const validate = ajv.compile({ type: "array", items: { type: "object", properties: { zip: { type: "string" } } } });
    const value = [{ zip: "1" }, { zip: 2 }];
    expect(validate(value)).toBe(false);
    expect(describeSchemaError(validate.errors?.[0], value, { base: "record.addresses" })).toMatchObject({
      path: "record.addresses[1].zip",
      message: "must be a string",
      value: 2,
    });
  });

  it("reads escaped JSON pointer segments back as the field names they were", () => {
    const validate = ajv.compile({ type: "object", properties: { "a/b": { type: "object", properties: { "c~d": { type: "integer" } } } } });
    const value = { "a/b": { "c~d": "x" } };
    expect(validate(value)).toBe(false);
    expect(describeSchemaError(validate.errors?.[0], value)).toMatchObject({ path: "a/b.c~d", value: "x" });
  });

  it("says the value is invalid when ajv gave no error to translate", () => {
    expect(describeSchemaError(undefined, {}, { base: "record" })).toMatchObject({ path: "record", message: "is invalid" });
  });
});

describe("problemText", () => {
  it("reads as path: message, naming the top level when there is no path", () => {
    expect(problemText({ path: "records[2].email", message: "is required" })).toBe("records[2].email: is required");
    expect(problemText({ path: "", message: "must be an object" })).toBe("(top level): must be an object");
    expect(problemText({ path: "", message: "must be an object" }, "body")).toBe("body: must be an object");
  });
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Segment = string | number;

// Keys a JavaScript accessor path can name with a dot, and that no reader could take for an index.
const key = fc.stringMatching(/^[a-z][A-Za-z0-9_]{0,7}$/);
const { json } = fc.letrec<{ json: Json; array: Json[]; object: Record<string, Json> }>((tie) => ({
  json: fc.oneof({ depthSize: "small", withCrossShrink: true }, fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 6 }), tie("array"), tie("object")),
  array: fc.array(tie("json"), { maxLength: 4 }),
  object: fc.dictionary(key, tie("json"), { maxKeys: 4 }),
}));

/** Every place in `value`, the root included, with the value found there. */
function locations(value: Json, at: Segment[] = []): { at: Segment[]; value: Json }[] {
  const here = { at, value };
  if (Array.isArray(value)) return [here, ...value.flatMap((child, index) => locations(child, [...at, index]))];
  if (value !== null && typeof value === "object") {
    return [here, ...Object.entries(value).flatMap(([name, child]) => locations(child, [...at, name]))];
  }
  return [here];
}

/** A schema every part of `value` passes except the place at `at`, which nothing passes. */
function schemaFailingAt(value: Json, at: readonly Segment[]): Record<string, unknown> {
  const [head, ...rest] = at;
  if (head === undefined) return { not: {} };
  if (typeof head === "number") {
    const items = (value as Json[]).map((child, index) => (index === head ? schemaFailingAt(child, rest) : {}));
    return { type: "array", items };
  }
  return { type: "object", properties: { [head]: schemaFailingAt((value as Record<string, Json>)[head] ?? null, rest) } };
}

const accessor = (at: readonly Segment[]): string =>
  at.reduce<string>((path, segment) => (typeof segment === "number" ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment), "");

describe("schemaCheck's paths, for any JSON value", () => {
  it("names the failing place with its JavaScript accessor path and quotes the value found there", () => {
    const failure = fc
      .tuple(json, fc.nat())
      .map(([root, pick]) => {
        const all = locations(root);
        return { root, place: all[pick % all.length]! };
      });
    fc.assert(
      fc.property(failure, ({ root, place }) => {
        // Positional `items` is the one way to aim at a single index; strict mode would want bounds.
        const problem = schemaCheck(schemaFailingAt(root, place.at), { ajv: { strictTuples: false } }).problem(root);
        expect(problem?.path).toBe(accessor(place.at));
        expect(problem?.value).toEqual(place.value);
      }),
      { numRuns: 200 },
    );
  });
});
