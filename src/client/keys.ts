import { createHash, randomUUID } from "node:crypto";

/**
 * Idempotency keys derived from content, as the guides derive them in Python
 * (`str(uuid.UUID(hashlib.md5(canonical.encode()).hexdigest()))`), so a key computed here equals
 * the one a Python producer computes for the same record: the canonical form is
 * `json.dumps(value, sort_keys=True, ensure_ascii=True)` — keys sorted, `", "` and `": "` as
 * separators, everything outside printable ASCII escaped as `\uXXXX`. Numbers are written as
 * JavaScript writes them, which matches Python for integers and ordinary decimals but not for
 * floats Python prints with an exponent (`1e-07`, `1e+16`) or as `1.0`; object keys outside the
 * Basic Multilingual Plane may sort differently.
 */

export function canonicalJson(value: unknown): string {
  // Through JSON first, as the request body goes: toJSON applies (a Date becomes its ISO text,
  // not `{}`), undefined and functions drop out, and what JSON cannot hold throws.
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`cannot derive a key from ${typeof value}`);
  return canonical(JSON.parse(text) as unknown);
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`cannot derive a key from ${typeof value}`);
    // JSON.stringify leaves non-ASCII (and DEL) as is; Python's ensure_ascii escapes them.
    return text.replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonical(item)).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${canonical(key)}: ${canonical(item)}`).join(", ")}}`;
}

/** An MD5 digest printed the way Python's uuid.UUID prints it (8-4-4-4-12, lower case). */
function uuidShaped(text: string): string {
  const hex = createHash("md5").update(text, "utf8").digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A deterministic key for a record (or any JSON value): the guide's `stable_key`. */
export function stableKey(record: unknown): string {
  return uuidShaped(canonicalJson(record));
}

/** A deterministic key for a batch built from queue messages: the guide's `queue_batch_key`. */
export function batchKey(messageIds: readonly string[]): string {
  return uuidShaped([...messageIds].sort().join(":"));
}

/** A fresh key for one logical call that has no natural id. */
export function randomKey(): string {
  return randomUUID();
}
