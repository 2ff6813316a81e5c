import { createHash } from "node:crypto";

/**
 * JSON with object keys sorted at every depth, so `{a,b}` and `{b,a}` are the same request.
 * Recursive on purpose: it only ever sees bodies that passed the parser's nesting limit
 * (MAX_JSON_DEPTH in json-safety.ts), so its depth is bounded.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
}

/** What an Idempotency-Key is bound to: method, path and canonical body. */
export function requestFingerprint(request: { method: string; path: string; body: unknown }): string {
  return createHash("sha256")
    .update(`${request.method.toUpperCase()} ${request.path}\n${canonicalJson(request.body ?? null)}`)
    .digest("hex");
}
