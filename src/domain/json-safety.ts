/**
 * Limits on client JSON, and the only walks over client values that may be deep or large.
 * Every walk here is iterative (an explicit stack), so no input can exhaust the call stack, and
 * everything that echoes client data back is bounded in depth and in size.
 *
 * Why 64: the vendor's records are flat (field → scalar); a batch envelope adds two levels. 64
 * leaves room for any structured field a schema may add, while every later recursive consumer
 * (JSON.stringify, structuredClone, Python's json) handles 64 levels with ease.
 */
export const MAX_JSON_DEPTH = 64;

export type JsonProblem =
  | { kind: "depth"; path: string; limit: number }
  | { kind: "lone-surrogate"; path: string; inKey: boolean };

interface Container {
  value: object;
  depth: number;
  parent: Container | null;
  key: string | number;
}

/** `records[2].email` from the chain of containers that leads to a value. */
function pathOf(node: Container | null, key?: string | number): string {
  const parts: (string | number)[] = key === undefined ? [] : [key];
  for (let at = node; at !== null && at.parent !== null; at = at.parent) parts.push(at.key);
  let path = "";
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as string | number;
    path += typeof part === "number" ? `[${part}]` : path === "" ? part : `.${part}`;
  }
  return path;
}

/**
 * The first problem in a parsed JSON value: nesting deeper than `maxDepth` (a top-level object
 * or array is depth 1), or a string or key holding a lone UTF-16 surrogate (`"\ud800"`), which
 * cannot be stored as UTF-8: SQLite would keep U+FFFD, so memory and disk would disagree.
 */
export function findJsonProblem(value: unknown, maxDepth: number = MAX_JSON_DEPTH): JsonProblem | null {
  if (typeof value === "string") {
    return value.isWellFormed() ? null : { kind: "lone-surrogate", path: "", inKey: false };
  }
  if (value === null || typeof value !== "object") return null;
  const stack: Container[] = [{ value, depth: 1, parent: null, key: "" }];
  while (stack.length > 0) {
    const node = stack.pop() as Container;
    if (node.depth > maxDepth) return { kind: "depth", path: pathOf(node), limit: maxDepth };
    if (Array.isArray(node.value)) {
      const items = node.value as unknown[];
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (typeof item === "string") {
          if (!item.isWellFormed()) return { kind: "lone-surrogate", path: pathOf(node, i), inKey: false };
        } else if (item !== null && typeof item === "object") {
          stack.push({ value: item, depth: node.depth + 1, parent: node, key: i });
        }
      }
      continue;
    }
    for (const key in node.value) {
      if (!key.isWellFormed()) return { kind: "lone-surrogate", path: pathOf(node, key), inKey: true };
      const item = (node.value as Record<string, unknown>)[key];
      if (typeof item === "string") {
        if (!item.isWellFormed()) return { kind: "lone-surrogate", path: pathOf(node, key), inKey: false };
      } else if (item !== null && typeof item === "object") {
        stack.push({ value: item, depth: node.depth + 1, parent: node, key });
      }
    }
  }
  return null;
}

/** A person-readable sentence for a problem, naming the limit and where it was found. */
export function describeJsonProblem(problem: JsonProblem): string {
  // A path 65 levels deep is mostly "[0][0]…": the start says where, details.path has the rest.
  const where = problem.path === "" ? "the body" : problem.path.length > 48 ? `${problem.path.slice(0, 48)}…` : problem.path;
  if (problem.kind === "depth") {
    return `Request body is nested deeper than the limit of ${problem.limit} levels (at ${where}); flatten the value`;
  }
  return `${where}: ${problem.inKey ? "a field name" : "a string"} holds a lone UTF-16 surrogate (such as "\\ud800"), which is not valid Unicode; send well-formed text`;
}

/** JSON.parse, refusing what `findJsonProblem` refuses: what it returns is safe to walk recursively. */
export function parseJsonBounded(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  const problem = findJsonProblem(value);
  return problem === null ? { ok: true, value } : { ok: false, reason: describeJsonProblem(problem) };
}

/** What an error envelope may quote of a client's value. */
export const ECHO_LIMITS = { maxChars: 256, maxDepth: 3, maxItems: 10, maxStringChars: 64 } as const;

/**
 * A short, depth-limited preview of a client value for an error envelope. Small values come back
 * exactly as they were sent; anything bigger comes back cut: strings shortened with "…", nesting
 * past `maxDepth` as "…", arrays and objects to their first `maxItems` entries (plus a "…" entry).
 * `truncated` says whether anything was cut, `bytes` how big the value's JSON was (null when it
 * cannot be measured, such as a value with a cycle).
 */
export function previewValue(value: unknown): { value: unknown; truncated: boolean; bytes: number | null } {
  const bytes = jsonBytes(value);
  if (bytes !== null && bytes <= ECHO_LIMITS.maxChars && fitsDepth(value, ECHO_LIMITS.maxDepth)) {
    return { value, truncated: false, bytes };
  }
  return { value: cut(value, 0), truncated: true, bytes };
}

function fitsDepth(value: unknown, maxDepth: number): boolean {
  return findJsonProblem(value, maxDepth)?.kind !== "depth";
}

/** The UTF-8 size of a value's JSON, measured without building it and without recursion. */
export function jsonBytes(value: unknown): number | null {
  let bytes = 0;
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === null || item === undefined) bytes += 4;
    else if (typeof item === "string") bytes += Buffer.byteLength(item, "utf8") + 2;
    else if (typeof item === "number" || typeof item === "boolean" || typeof item === "bigint") bytes += String(item).length;
    else if (typeof item === "object") {
      if (seen.has(item)) return null;
      seen.add(item);
      const entries = Array.isArray(item) ? item : Object.entries(item as Record<string, unknown>);
      bytes += 2 + Math.max(0, entries.length - 1);
      for (const entry of entries) {
        if (Array.isArray(item)) stack.push(entry);
        else {
          const [key, child] = entry as [string, unknown];
          bytes += Buffer.byteLength(key, "utf8") + 3;
          stack.push(child);
        }
      }
    } else bytes += 4;
  }
  return bytes;
}

function cut(value: unknown, depth: number): unknown {
  if (typeof value === "string") {
    return value.length > ECHO_LIMITS.maxStringChars ? `${value.slice(0, ECHO_LIMITS.maxStringChars)}…` : value;
  }
  if (value === null || typeof value !== "object") return value;
  // Bounded recursion: at most maxDepth levels, whatever the value's own depth.
  if (depth >= ECHO_LIMITS.maxDepth) return "…";
  if (Array.isArray(value)) {
    const items = value.slice(0, ECHO_LIMITS.maxItems).map((item: unknown) => cut(item, depth + 1));
    if (value.length > ECHO_LIMITS.maxItems) items.push("…");
    return items;
  }
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const key in value) {
    if (n++ === ECHO_LIMITS.maxItems) {
      out["…"] = "…";
      break;
    }
    const shortKey = key.length > ECHO_LIMITS.maxStringChars ? `${key.slice(0, ECHO_LIMITS.maxStringChars)}…` : key;
    out[shortKey] = cut((value as Record<string, unknown>)[key], depth + 1);
  }
  return out;
}
