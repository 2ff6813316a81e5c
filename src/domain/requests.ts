import { ApiError, problemToError } from "./errors.js";
import type { ObjectDefinition } from "./object-schema.js";
import { findUnknownField, isPlainObject, type Fields } from "./validation.js";

/** The body is a JSON object holding only the request's own fields. */
function checkEnvelope(
  body: unknown,
  request: { operation: string; allowed: readonly string[]; example: string },
): asserts body is Fields {
  if (!isPlainObject(body)) {
    throw new ApiError("REQUEST_INVALID", `Request body must be a JSON object such as ${request.example}`, {
      details: { path: "", value: Array.isArray(body) ? "array" : typeof body },
    });
  }
  for (const name of Object.keys(body)) {
    if (!request.allowed.includes(name)) {
      throw new ApiError(
        "REQUEST_INVALID",
        `${name}: not a field of the ${request.operation} request (allowed: ${request.allowed.join(", ")})`,
        { details: { path: name, value: body[name] } },
      );
    }
  }
}

function matchKeyNotAString(value: unknown): ApiError {
  return new ApiError(
    "REQUEST_INVALID",
    `matchKey must be a string naming an identity key, such as "email" (got ${value === null ? "null" : typeof value}); omit it to match on the primary key`,
    { details: { path: "matchKey", value } },
  );
}

export interface SingleWriteRequest {
  record: Fields;
  matchKey?: string;
}

/**
 * The envelope of a single write: `{record}` for append, `{record, matchKey?}` for upsert.
 * Stricter than a lenient server would be (an unexpected top-level field is refused), because
 * a client that passes here must pass against the real API.
 */
export function parseSingleWrite(body: unknown, operation: "append" | "upsert"): SingleWriteRequest {
  const example = operation === "upsert" ? '{"record": {...}, "matchKey": "email"}' : '{"record": {...}}';
  checkEnvelope(body, { operation, allowed: operation === "upsert" ? ["record", "matchKey"] : ["record"], example });
  const record = body["record"];
  if (record === undefined) {
    throw new ApiError("REQUEST_INVALID", `record: is required; send ${example}`, { details: { path: "record" } });
  }
  if (!isPlainObject(record)) {
    throw new ApiError("REQUEST_INVALID", "record: must be a JSON object of field names to values", {
      details: { path: "record", value: record },
    });
  }
  const matchKey = body["matchKey"];
  // Null is not absent: a client that sends `"matchKey": null` has a bug worth hearing about.
  if (matchKey === undefined) return { record };
  if (typeof matchKey !== "string" || matchKey === "") throw matchKeyNotAString(matchKey);
  return { record, matchKey };
}

export const MAX_BATCH_RECORDS = 10_000;

export interface BatchWriteRequest {
  records: Fields[];
  matchKey?: string;
}

/**
 * Checks made before a batch is accepted; any failure refuses the whole batch. Row-level
 * problems (types, formats, required fields, a row missing its matchKey) are not checked here:
 * the job reports them per row, as the vendor does.
 */
export function parseBatchWrite(
  body: unknown,
  operation: "append-batch" | "upsert-batch",
  object: ObjectDefinition,
): BatchWriteRequest {
  const example = operation === "upsert-batch" ? '{"records": [{...}], "matchKey": "email"}' : '{"records": [{...}]}';
  checkEnvelope(body, { operation, allowed: operation === "upsert-batch" ? ["records", "matchKey"] : ["records"], example });
  const records = body["records"];
  if (!Array.isArray(records)) {
    throw new ApiError("REQUEST_INVALID", `records: must be an array of 1 to ${MAX_BATCH_RECORDS.toLocaleString("en-US")} records; send ${example}`, {
      details: { path: "records", value: records === undefined ? null : typeof records },
    });
  }
  if (records.length === 0) {
    throw new ApiError("REQUEST_INVALID", "records: must hold at least 1 record", { details: { path: "records", value: 0 } });
  }
  if (records.length > MAX_BATCH_RECORDS) {
    throw new ApiError(
      "REQUEST_INVALID",
      `records: ${records.length.toLocaleString("en-US")} records is more than the limit of ${MAX_BATCH_RECORDS.toLocaleString("en-US")} per request; split the batch`,
      { details: { path: "records", value: records.length, limit: MAX_BATCH_RECORDS } },
    );
  }
  for (const [index, record] of records.entries()) {
    if (!isPlainObject(record)) {
      throw new ApiError("REQUEST_INVALID", `records[${index}]: must be a JSON object of field names to values`, {
        details: { path: `records[${index}]`, value: record },
      });
    }
  }
  const matchKey = body["matchKey"];
  if (matchKey !== undefined) {
    if (typeof matchKey !== "string" || matchKey === "") throw matchKeyNotAString(matchKey);
    if (!object.identityKeys.includes(matchKey)) {
      throw new ApiError(
        "REQUEST_INVALID",
        `matchKey: ${JSON.stringify(matchKey)} is not an identity key of ${object.objectName} (identity keys: ${object.identityKeys.join(", ")})`,
        { details: { path: "matchKey", value: matchKey } },
      );
    }
  }
  // An unknown field anywhere refuses the whole batch: a mapping error, not a data error.
  for (const [index, record] of (records as Fields[]).entries()) {
    const unknown = findUnknownField(object, record, `records[${index}]`);
    if (unknown) throw problemToError(unknown);
  }
  return typeof matchKey === "string" ? { records: records as Fields[], matchKey } : { records: records as Fields[] };
}
