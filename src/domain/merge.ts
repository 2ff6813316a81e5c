import type { Fields } from "./validation.js";

/**
 * Field-level last-write-wins, the vendor's null-vs-absent rule: a field sent as `null` is
 * cleared, an omitted field keeps its value, every sent field replaces the stored one.
 * A cleared field is removed from the row rather than stored as null, so "cleared" and
 * "never set" read the same, as they do in the vendor's exports.
 */
export function mergeFields(existing: Fields, incoming: Fields): Fields {
  const merged: Fields = {};
  // defineProperty, not assignment: a field named "__proto__" must stay a field.
  const put = (name: string, value: unknown): void => {
    if (name === "__proto__") Object.defineProperty(merged, name, { value, enumerable: true, writable: true, configurable: true });
    else merged[name] = value;
  };
  // The stored order first, then fields new to the row, as a person reading the row expects.
  for (const name in existing) {
    const value = Object.hasOwn(incoming, name) ? incoming[name] : existing[name];
    if (value !== null) put(name, value);
  }
  for (const name in incoming) {
    const value = incoming[name];
    if (value !== null && !Object.hasOwn(existing, name)) put(name, value);
  }
  return merged;
}
