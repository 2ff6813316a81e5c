import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import type { JSONSchemaType } from "ajv";
import type { ScenarioSeed } from "../chaos/scenarios.js";
import { ApiError, problemToError } from "../domain/errors.js";
import { planAppend, planUpsert } from "../domain/identity.js";
import type { ObjectDefinition, ObjectRegistry } from "../domain/object-schema.js";
import { schemaCheck } from "../domain/schema-check.js";
import { StartupError } from "../domain/startup-error.js";
import { checkRecord, type Fields } from "../domain/validation.js";
import { WORKSPACE_PATTERN } from "../domain/vocabulary.js";
import { MAX_SEED, MAX_SEED_COUNT } from "../seed/limits.js";
import { DEFAULT_WORKSPACE, formatSeedLine, parseSeedLine, seedDataLines } from "../seed/ndjson.js";
import type { Store } from "../store/store.js";
import { invalidBody } from "./invalid-body.js";


/**
 * Seeding and export: generated records (POST /_emulator/seed, `cdp-emulator seed`), a user's
 * fixtures at start (`--seed-data`), a scenario's or a fixture request's exact records, and the
 * workspace's rows out as NDJSON in the seed-data line format. Everything is written through the
 * normal write path, so the identity index and collisions are exactly what the same writes over
 * the API would give.
 */

export interface SeedWriter {
  store: Store;
  objects: ObjectRegistry;
  newRecordId: () => string;
}

export interface SeedRequest {
  object: ObjectDefinition;
  workspace: string;
  count: number;
  seed: number;
}

export interface SeedResult {
  object: string;
  workspace: string;
  count: number;
  seed: number;
  /** Rows created, and rows an earlier seed with the same primary key already had (upserted). */
  inserted: number;
  merged: number;
}

/**
 * The scenario seed's rule for one record: checked like a single write, then upserted by the
 * object's primary key when it holds one (seeding twice does not duplicate), else appended.
 * The caller runs it inside a transaction.
 */
export function writeSeedRecord(
  writer: SeedWriter,
  input: { workspace: string; object: ObjectDefinition; record: Fields; basePath: string; now: number },
): "inserted" | "merged" {
  const { store, newRecordId } = writer;
  const { workspace, object, record, basePath, now } = input;
  const problem = checkRecord(object, record, basePath);
  if (problem) throw problemToError(problem);
  const key = record[object.primaryKey];
  const plan =
    key === undefined || key === null
      ? planAppend(object, record, basePath)
      : planUpsert({
          object,
          record,
          matchKey: object.primaryKey,
          policy: object.collisionPolicy,
          lookup: store.records.lookup(workspace, object.objectName),
          basePath,
        });
  store.records.apply({ workspace, object, plan, newId: newRecordId, now });
  return plan.result;
}

/**
 * Writes a scenario's seed records through the normal write path, all in one transaction: a
 * record holding a value for its object's primary key is upserted by it (so applying a scenario
 * twice does not duplicate it), any other record is appended. The workspace is created if it
 * does not exist. The first invalid record throws, naming `seed.records.<object>[i].<field>`,
 * and nothing is written.
 */
export function seedRecords(writer: SeedWriter, seed: ScenarioSeed, now: number): Record<string, number> {
  const { store, objects } = writer;
  return store.transaction(() => {
    store.workspaces.ensureWorkspace(seed.workspace, now);
    const counts: Record<string, number> = {};
    for (const [objectName, records] of Object.entries(seed.records)) {
      const object = objects.get(objectName);
      if (!object) {
        throw new ApiError("REQUEST_INVALID", `seed.records.${objectName}: "${objectName}" is not an object (objects: ${[...objects.keys()].join(", ")})`, {
          details: { path: `seed.records.${objectName}`, value: objectName },
        });
      }
      for (const [index, record] of records.entries()) {
        writeSeedRecord(writer, { workspace: seed.workspace, object, record, basePath: `seed.records.${objectName}[${index}]`, now });
      }
      counts[objectName] = records.length;
    }
    return counts;
  });
}

interface SeedBody {
  object: string;
  count: number;
  seed?: number;
  workspace?: string;
}

const seedBodySchema: JSONSchemaType<SeedBody> = {
  type: "object",
  required: ["object", "count"],
  properties: {
    object: { type: "string" },
    count: { type: "integer", minimum: 1, maximum: MAX_SEED_COUNT },
    seed: { type: "integer", minimum: 0, maximum: MAX_SEED, nullable: true },
    workspace: { type: "string", pattern: WORKSPACE_PATTERN.source, nullable: true },
  },
  additionalProperties: false,
};

// One sentence per field, whatever rule it broke: the CLI reads them back as its flags.
const isSeedBody = schemaCheck<SeedBody>(seedBodySchema, {
  messages: {
    object: "must be an object name",
    count: `must be a whole number from 1 to ${MAX_SEED_COUNT}`,
    seed: `must be a whole number from 0 to ${MAX_SEED}`,
    workspace: "must be 1-64 letters, digits, - or _",
  },
});

const SEED_EXAMPLE = 'send {"object": "profiles", "count": 1000, "seed": 42, "workspace": "default"}';

/**
 * Checks `{object, count, seed?, workspace?}` as the control plane and the CLI both take it:
 * 400 REQUEST_INVALID naming the field, or 404 NOT_FOUND for an object no schema defines. A
 * missing seed is drawn at random and returned, so the run can be repeated.
 */
export function createSeedRequestParser(objects: ObjectRegistry): (body: unknown) => SeedRequest {
  return (body) => {
    if (!isSeedBody(body)) throw invalidBody(isSeedBody.problem(body), SEED_EXAMPLE, { quote: true });
    const object = objects.get(body.object);
    if (!object) {
      throw new ApiError("NOT_FOUND", `Object "${body.object}" does not exist (objects: ${[...objects.keys()].join(", ")})`, {
        details: { path: "object", value: body.object },
      });
    }
    return {
      object,
      workspace: body.workspace ?? DEFAULT_WORKSPACE,
      count: body.count,
      seed: body.seed ?? randomInt(MAX_SEED + 1),
    };
  };
}

/** Generates `count` records from the seed and writes them in one transaction: all or nothing. */
export async function seedGenerated(writer: SeedWriter, request: SeedRequest & { now: number }): Promise<SeedResult> {
  // faker loads every locale it ships (about 0.1 s): only a process that seeds pays for it.
  const { generateRecordStream } = await import("../seed/generate.js");
  const { object, workspace, count, seed, now } = request;
  const records = generateRecordStream({ object, count, seed });
  let inserted = 0;
  try {
    writer.store.transaction(() => {
      writer.store.workspaces.ensureWorkspace(workspace, now);
      let index = 0;
      for (const record of records) {
        const basePath = `records[${index}]`;
        if (writeSeedRecord(writer, { workspace, object, record, basePath, now }) === "inserted") inserted += 1;
        index += 1;
      }
    });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    // Only a user's schema can get here (every shipped object's records are tested to pass).
    throw new ApiError(
      error.kind === "REQUEST_SCHEMA" ? "REQUEST_INVALID" : error.kind,
      `a generated ${object.objectName} record was refused: ${error.message}; the generator cannot satisfy this schema, and nothing was seeded`,
      { details: error.details },
    );
  }
  return { object: object.objectName, workspace, count, seed, inserted, merged: count - inserted };
}

/**
 * Loads a `--seed-data` file in one transaction: a bad line anywhere refuses the whole file,
 * naming the file and line, and nothing is written. Workspaces are created as needed.
 */
export function loadSeedData(writer: SeedWriter, input: { file: string; now: number }): Record<string, number> {
  const { file, now } = input;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new StartupError("seed-data", `seed data ${file} cannot be read: ${(error as Error).message}`);
  }
  return writer.store.transaction(() => {
    const counts: Record<string, number> = {};
    const ensured = new Set<string>();
    for (const { number, text: lineText } of seedDataLines(text)) {
      const where = `${file} line ${number}`;
      const parsed = parseSeedLine(lineText);
      if ("problem" in parsed) throw new StartupError("seed-data", `${where}: ${parsed.problem}`);
      const { workspace, record } = parsed.line;
      const object = writer.objects.get(parsed.line.object);
      if (!object) {
        throw new StartupError("seed-data", `${where}: object "${parsed.line.object}" does not exist (objects: ${[...writer.objects.keys()].join(", ")})`);
      }
      if (!ensured.has(workspace)) {
        writer.store.workspaces.ensureWorkspace(workspace, now);
        ensured.add(workspace);
      }
      try {
        writeSeedRecord(writer, { workspace, object, record, basePath: "record", now });
      } catch (error) {
        if (error instanceof ApiError) throw new StartupError("seed-data", `${where}: ${error.message}`);
        throw error;
      }
      counts[object.objectName] = (counts[object.objectName] ?? 0) + 1;
    }
    return counts;
  });
}

/**
 * A workspace's rows of one object as seed-data lines (NDJSON), in write order: what
 * `--seed-data` loads back as it is. Read a page at a time, so a caller may pause between lines.
 */
export function* exportSeedLines(store: Store, scope: { workspace: string; object: ObjectDefinition }): Generator<string, void, undefined> {
  const { workspace, object } = scope;
  for (const fields of store.records.iterateFields({ workspace, object: object.objectName })) {
    yield formatSeedLine(object.objectName, workspace, fields);
  }
}
