import { ApiError } from "../domain/errors.js";
import type { ObjectDefinition } from "../domain/object-schema.js";
import { decodeCursor, optionalString, pageLimit } from "../domain/paging.js";
import type { RecordListQuery } from "../services/inspection.js";
import type { RowFilter, RowOrder } from "../store/records-store.js";

/**
 * GET /_emulator/records/{object}'s query string: `limit`, `cursor`, `order`, and any other
 * parameter an exact match on a field, read as the field's type.
 */

const RESERVED_PARAMS = new Set(["limit", "cursor", "workspace", "order"]);
const rowOrders: readonly RowOrder[] = ["oldest", "newest"];

export function parseRecordListQuery(
  query: Record<string, unknown>,
  scope: { workspace: string; object: ObjectDefinition },
): RecordListQuery {
  // Checked in this order, so a request with several mistakes hears about the same one as ever.
  const limit = pageLimit(query["limit"]);
  const order = rowOrder(query["order"]);
  const after = decodeCursor(query["cursor"]);
  const filters = fieldFilters(query, scope.object);
  return { ...scope, filters, order, page: { limit, after } };
}

/** `order=oldest|newest`; oldest first when absent, as the list always was. */
function rowOrder(raw: unknown): RowOrder {
  const text = optionalString(raw, "order");
  if (text === undefined) return "oldest";
  const order = rowOrders.find((candidate) => candidate === text);
  if (order === undefined) {
    throw new ApiError("REQUEST_INVALID", `order: must be one of ${rowOrders.join(", ")}`, { details: { path: "order", value: text } });
  }
  return order;
}

function fieldFilters(query: Record<string, unknown>, object: ObjectDefinition): RowFilter[] {
  const filters: RowFilter[] = [];
  for (const [name, raw] of Object.entries(query)) {
    if (RESERVED_PARAMS.has(name)) continue;
    const field = object.fields.find((candidate) => candidate.name === name);
    if (!field) {
      throw new ApiError("REQUEST_INVALID", `${name}: not a field of ${object.objectName}, so it cannot be a filter`, {
        details: { path: name, value: raw },
      });
    }
    const text = optionalString(raw, name) ?? "";
    filters.push({ field: name, value: filterValue(field.type, name, text) });
  }
  return filters;
}

function filterValue(type: string, name: string, text: string): string | number {
  if (type === "number" || type === "integer") {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) {
      throw new ApiError("REQUEST_INVALID", `${name}: "${text}" is not a number`, { details: { path: name, value: text } });
    }
    return value;
  }
  if (type === "boolean") {
    if (text !== "true" && text !== "false") {
      throw new ApiError("REQUEST_INVALID", `${name}: must be true or false`, { details: { path: name, value: text } });
    }
    return text === "true" ? 1 : 0; // SQLite's json_extract reads JSON booleans as 1 and 0
  }
  return text;
}
