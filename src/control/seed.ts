import { StartupError } from "../domain/startup-error.js";
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type JSONSchemaType } from "ajv";
import type { Response, Router } from "express";
import { findObject } from "../services/objects.js";
import type { Clock } from "../runtime/clock.js";
import { WORKSPACE_PATTERN } from "../domain/vocabulary.js";
import { ApiError, problemToError } from "../domain/errors.js";
import { planAppend, planUpsert } from "../domain/identity.js";
import type { ObjectDefinition } from "../domain/object-schema.js";
import { checkRecord, type Fields } from "../domain/validation.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import {
  DEFAULT_WORKSPACE,
  formatSeedLine,
  NDJSON_CONTENT_TYPE,
  parseSeedLine,
  seedDataLines,
} from "../seed/ndjson.js";
import { MAX_SEED, MAX_SEED_COUNT } from "../seed/limits.js";
import type { Store } from "../store/store.js";
import { workspaceOf } from "./workspaces.js";

/**
 * Seeding and export: generated records (POST /_emulator/seed, `cdp-emulator seed`), a user's
 * fixtures at start (`--seed-data`), and the workspace's rows out as NDJSON in the same line
 * format (GET /_emulator/export/{object}). Everything is written through the normal write path,
 * so the identity index and collisions are exactly what the same writes over the API would give.
 */

/** Export writes this much text per chunk: one write per row would cost a chunk header each. */
const EXPORT_CHUNK_CHARS = 64 * 1024;

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

const FIELD_RULES: Record<string, string> = {
  object: "an object name",
  count: `a whole number from 1 to ${MAX_SEED_COUNT}`,
  seed: `a whole number from 0 to ${MAX_SEED}`,
  workspace: "1-64 letters, digits, - or _",
};

/**
 * Checks `{object, count, seed?, workspace?}` as the control plane and the CLI both take it:
 * 400 REQUEST_INVALID naming the field, or 404 NOT_FOUND for an object no schema defines. A
 * missing seed is drawn at random and returned, so the run can be repeated.
 */
export function createSeedRequestParser(objects: ObjectRegistry): (body: unknown) => SeedRequest {
  const check = new Ajv({ allErrors: false }).compile(seedBodySchema);
  return (body) => {
    if (!check(body)) throw seedBodyError(check.errors?.[0], body);
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

function seedBodyError(error: ErrorObject | undefined, body: unknown): ApiError {
  const example = 'send {"object": "profiles", "count": 1000, "seed": 42, "workspace": "default"}';
  const extra = error?.params["additionalProperty"];
  if (extra !== undefined) {
    return new ApiError("REQUEST_INVALID", `"${String(extra)}" is not a field here; ${example}`, { details: { path: String(extra) } });
  }
  const path = error?.instancePath ? error.instancePath.slice(1) : String(error?.params["missingProperty"] ?? "");
  const rule = FIELD_RULES[path];
  if (!rule) return new ApiError("REQUEST_INVALID", `the body must be a JSON object; ${example}`, { details: { path } });
  const value = typeof body === "object" && body !== null ? (body as Record<string, unknown>)[path] : undefined;
  return new ApiError("REQUEST_INVALID", `${path}: must be ${rule} (got ${value === undefined ? "nothing" : JSON.stringify(value)})`, {
    details: { path, value: value ?? null },
  });
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

/** POST /seed and GET /export/{object}. */
export function registerSeedRoutes(router: Router, deps: SeedWriter & { clock: Clock }): void {
  const parseSeedRequest = createSeedRequestParser(deps.objects);

  router.post("/seed", async (req, res) => {
    const request = parseSeedRequest(req.body ?? {});
    const result = await seedGenerated(deps, { ...request, now: deps.clock.now() });
    res.json({ success: true, data: result });
  });

  router.get("/export/:object", async (req, res) => {
    const object = findObject(deps.objects, req.params["object"]);
    const workspace = workspaceOf(req, deps);
    const rows = deps.store.records.iterateFields({ workspace, object: object.objectName });
    // setHeader, not res.type(): Express would append a charset; NDJSON is UTF-8 by definition.
    res.status(200).setHeader("Content-Type", NDJSON_CONTENT_TYPE);
    let chunk = "";
    for (const fields of rows) {
      chunk += formatSeedLine(object.objectName, workspace, fields);
      if (chunk.length < EXPORT_CHUNK_CHARS) continue;
      const flushed = res.write(chunk);
      chunk = "";
      if (!flushed) await drained(res);
      if (res.destroyed) return; // the client hung up: stop reading rows for nobody
    }
    res.end(chunk);
  });
}

/** Resolves once the response can take more, or is gone. */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
