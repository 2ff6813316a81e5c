import { describe, expect, it } from "vitest";
import { parseFaultPatch, parseFaultRuleInput } from "../../src/chaos/fault-rule-input.js";
import { bundledSchemasDir } from "../../src/config.js";
import { ApiError } from "../../src/domain/errors.js";
import { parseFixtureJob, parseFixtureRecords } from "../../src/services/fixtures.js";
import { loadObjectSchemas } from "../../src/services/object-schemas.js";
import { createSeedRequestParser } from "../../src/services/seeding.js";
import { parseNewToken, parseNewWorkspace } from "../../src/services/workspaces.js";

const objects = loadObjectSchemas(bundledSchemasDir());

// The input schemas compile on first use (start-up does not pay for endpoints a run never
// calls), in ajv's strict mode: a mistake in one would surface as a 500 on its first request.
// Feeding each parser wrong bodies compiles every one here and proves it answers with a 400.
const parsers: { name: string; parse: (body: unknown) => unknown }[] = [
  { name: "a fault rule", parse: parseFaultRuleInput },
  { name: "a fault rule patch", parse: parseFaultPatch },
  { name: "a fixture records body", parse: parseFixtureRecords },
  // An unknown object is a 404 before the body is judged: name a real one.
  { name: "a fixture job body", parse: (body) => parseFixtureJob(isRecord(body) ? { object: "profiles", ...body } : body, objects) },
  { name: "a seed request", parse: createSeedRequestParser(objects) },
  { name: "a new workspace", parse: parseNewWorkspace },
  { name: "a new token", parse: parseNewToken },
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

describe("every control-plane input schema", () => {
  it.each(parsers)("compiles and refuses a wrong body for $name with REQUEST_INVALID", ({ parse }) => {
    for (const body of [[], "text", 42, { unknownField: true }]) {
      let thrown: unknown;
      try {
        parse(body);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(body)).toBeInstanceOf(ApiError);
      expect((thrown as ApiError).status, JSON.stringify(body)).toBe(400);
    }
  });
});
