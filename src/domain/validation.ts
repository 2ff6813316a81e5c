import type { FieldProblem } from "./errors.js";
import type { ObjectDefinition } from "./object-schema.js";

/**
 * Record-level checks shared by single writes (which throw the first problem) and, later, batch
 * rows (which record it against the row's index). `basePath` is `record` or `records[i]`.
 */

export type Fields = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A field name the schema does not have: the vendor answers 422 REQUEST_SCHEMA. */
export function findUnknownField(object: ObjectDefinition, record: Fields, basePath: string): FieldProblem | null {
  for (const [name, value] of Object.entries(record)) {
    if (!object.fieldNames.has(name)) {
      return {
        kind: "REQUEST_SCHEMA",
        message: `${basePath}.${name}: field "${name}" does not exist on the ${object.objectName} schema (GET /metadata/objects/${object.objectName} lists its fields)`,
        path: `${basePath}.${name}`,
        value,
      };
    }
  }
  return null;
}

export const MAX_NESTING_DEPTH = 32;

/** Depth of nested arrays and objects below a value (a scalar is 0). */
function nestingDepth(value: unknown, limit: number): number {
  if (value === null || typeof value !== "object") return 0;
  if (limit <= 0) return 1;
  let deepest = 0;
  for (const child of Object.values(value as Record<string, unknown>)) {
    deepest = Math.max(deepest, nestingDepth(child, limit - 1));
    if (deepest >= limit) break;
  }
  return deepest + 1;
}

/**
 * Unknown fields first (the whole request is refused), then nesting depth (a value nested
 * thousands deep cannot even be stored), then each value's type and format.
 */
export function checkRecord(object: ObjectDefinition, record: Fields, basePath: string): FieldProblem | null {
  const unknown = findUnknownField(object, record, basePath);
  if (unknown) return unknown;
  for (const [name, value] of Object.entries(record)) {
    if (value !== null && typeof value === "object" && nestingDepth(value, MAX_NESTING_DEPTH) > MAX_NESTING_DEPTH) {
      return {
        kind: "REQUEST_INVALID",
        message: `${basePath}.${name}: nested more than ${MAX_NESTING_DEPTH} levels deep`,
        path: `${basePath}.${name}`,
        value: null,
      };
    }
  }
  return object.checkValues(record, basePath);
}

/** Required fields apply to the row as it will be stored: on insert, or after a merge. */
export function findMissingRequired(
  object: ObjectDefinition,
  row: Fields,
  basePath: string,
  context: "insert" | "merge",
): FieldProblem | null {
  for (const name of object.requiredFields) {
    const value = row[name];
    if (value === undefined || value === null) {
      return {
        kind: "REQUEST_INVALID",
        message:
          context === "insert"
            ? `${basePath}.${name}: required field "${name}" is missing (required on ${object.objectName}: ${object.requiredFields.join(", ")})`
            : `${basePath}.${name}: required field "${name}" cannot be cleared`,
        path: `${basePath}.${name}`,
        value: value ?? null,
      };
    }
  }
  return null;
}

/** matchKey must name an identity key and the record must carry a non-null value for it. */
export function checkMatchKey(
  object: ObjectDefinition,
  matchKey: string,
  record: Fields,
  basePath: string,
): FieldProblem | null {
  if (!object.identityKeys.includes(matchKey)) {
    return {
      kind: "REQUEST_INVALID",
      message: `matchKey: "${matchKey}" is not an identity key of ${object.objectName} (identity keys: ${object.identityKeys.join(", ")})`,
      path: "matchKey",
      value: matchKey,
    };
  }
  const value = record[matchKey];
  if (value === undefined || value === null) {
    return {
      kind: "REQUEST_INVALID",
      message: `${basePath}.${matchKey}: the matchKey field "${matchKey}" must be present and not null`,
      path: `${basePath}.${matchKey}`,
      value: value ?? null,
    };
  }
  return null;
}
