import type { Fields } from "./validation.js";

/**
 * Field-level last-write-wins, the vendor's null-vs-absent rule: a field sent as `null` is
 * cleared, an omitted field keeps its value, every sent field replaces the stored one.
 * A cleared field is removed from the row rather than stored as null, so "cleared" and
 * "never set" read the same, as they do in the vendor's exports.
 */
export function mergeFields(existing: Fields, incoming: Fields): Fields {
  const merged: Fields = { ...existing };
  for (const [name, value] of Object.entries(incoming)) {
    if (value === null) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}
