import { ApiError } from "./errors.js";
import { isPlainObject, type Fields } from "./validation.js";

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
  const allowed = operation === "upsert" ? ["record", "matchKey"] : ["record"];
  const example = operation === "upsert" ? '{"record": {...}, "matchKey": "email"}' : '{"record": {...}}';
  if (!isPlainObject(body)) {
    throw new ApiError("REQUEST_INVALID", `Request body must be a JSON object such as ${example}`, {
      details: { path: "", value: Array.isArray(body) ? "array" : typeof body },
    });
  }
  for (const name of Object.keys(body)) {
    if (!allowed.includes(name)) {
      throw new ApiError(
        "REQUEST_INVALID",
        `${name}: not a field of a ${operation} request (allowed: ${allowed.join(", ")})`,
        { details: { path: name, value: body[name] } },
      );
    }
  }
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
  if (matchKey === undefined || matchKey === null) return { record };
  if (typeof matchKey !== "string" || matchKey === "") {
    throw new ApiError("REQUEST_INVALID", "matchKey: must be the name of an identity key, such as \"email\"", {
      details: { path: "matchKey", value: matchKey },
    });
  }
  return { record, matchKey };
}
