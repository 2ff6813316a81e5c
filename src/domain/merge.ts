import type { Fields } from "./validation.js";

/**
 * Field-level last-write-wins, the vendor's null-vs-absent rule: a field sent as `null` is
 * cleared, an omitted field keeps its value, every sent field replaces the stored one.
 * A cleared field is removed from the row rather than stored as null, so "cleared" and
 * "never set" read the same, as they do in the vendor's exports.
 */
export function mergeFields(existing: Fields, incoming: Fields): Fields {
  // fromEntries defines own properties, so a "__proto__" key can never reach the prototype.
  return Object.fromEntries(Object.entries({ ...existing, ...incoming }).filter(([, value]) => value !== null));
}
