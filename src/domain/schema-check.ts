import { Ajv, type AnySchema, type ErrorObject, type Options } from "ajv";

/**
 * The one translator from ajv's errors to what a person reads: a field path in the form DESIGN.md
 * fixes (`records[2].email`, `faults[0].action.status`), a sentence about that field, and the value
 * that broke it. Every place that validates input with a JSON Schema goes through here, so a
 * fault rule, a scenario file, a seed request and a token request all word their problems alike.
 */
export interface SchemaProblem {
  /** `records[2].email`; "" when the value itself (the whole body) is wrong. */
  path: string;
  /** The sentence after the path: `must be an integer`, `is required`. */
  message: string;
  /** The offending value, when there is one to quote. */
  value?: unknown;
  /** The ajv keyword that failed, for callers that word one case their own way. */
  keyword: string;
  /** The schema location (`#/properties/name/pattern`), the key for `messages` overrides. */
  schemaPath: string;
}

export interface SchemaCheckOptions {
  /**
   * Sentences that replace the generic one, keyed by ajv's schema path (`#/properties/name/pattern`)
   * or by the problem's field path (`count`); a regular expression's source helps nobody.
   */
  messages?: Readonly<Record<string, string>>;
  /** ajv options beyond the defaults (strict, first error only, `verbose` for the offending value). */
  ajv?: Options;
}

/** A compiled schema: `undefined` when the value passes, else the first problem found. */
export type SchemaCheck<T> = ((value: unknown) => value is T) & { problem(value: unknown): SchemaProblem | undefined };

/**
 * Compiles `schema` once, on first use (start-up should not pay for endpoints a run may never
 * call), and returns a type guard with a `problem(value)` that explains a failure.
 */
export function schemaCheck<T>(schema: AnySchema, options: SchemaCheckOptions = {}): SchemaCheck<T> {
  let validate: ReturnType<Ajv["compile"]> | undefined;
  const compiled = () => (validate ??= new Ajv({ allErrors: false, strict: true, verbose: true, ...options.ajv }).compile(schema));
  const guard = ((value: unknown): value is T => compiled()(value) === true) as SchemaCheck<T>;
  guard.problem = (value: unknown): SchemaProblem | undefined => {
    const check = compiled();
    if (check(value)) return undefined;
    return describeSchemaError(check.errors?.[0], value, options.messages ? { messages: options.messages } : {});
  };
  return guard;
}

/** `path: message` — how a problem reads inside an error message. */
export function problemText(problem: Pick<SchemaProblem, "path" | "message">, topLevel = "(top level)"): string {
  return `${problem.path || topLevel}: ${problem.message}`;
}

/** A JSON pointer as the path a person writes: `/faults/1/action` → `faults[1].action`. */
export function pointerToPath(pointer: string, base = ""): string {
  let path = base;
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    path += /^\d+$/.test(part) ? `[${part}]` : path ? `.${part}` : part;
  }
  return path;
}

/** Appends a property name to a path: `records[2]` + `email` → `records[2].email`. */
export function childPath(path: string, child: string): string {
  return path ? `${path}.${child}` : child;
}

/** The value at a JSON pointer inside `root`, or undefined when the pointer leaves it. */
export function valueAtPointer(root: unknown, pointer: string): unknown {
  let current: unknown = root;
  for (const raw of pointer.split("/").slice(1)) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[raw.replaceAll("~1", "/").replaceAll("~0", "~")];
  }
  return current;
}

const article = (word: string): string => (/^[aeiou]/.test(word) ? "an" : "a");

/** One ajv error (with `verbose: true` its `data` is the failing value) as a problem. */
export function describeSchemaError(
  error: ErrorObject | undefined,
  root: unknown,
  options: { messages?: Readonly<Record<string, string>>; base?: string; wording?: "plain" | "vendor" } = {},
): SchemaProblem {
  const { messages = {}, base = "" } = options;
  if (!error) return { path: base, message: "is invalid", keyword: "unknown", schemaPath: "" };
  if (options.wording === "vendor") return vendorProblem(error, root, base);
  const at = pointerToPath(error.instancePath, base);
  const data: unknown = "data" in error ? error.data : valueAtPointer(root, error.instancePath);
  // `quoted` is explicit, not a default parameter: passing `undefined` for a missing field must
  // quote nothing, where a default would quote the parent object instead.
  const problem = (path: string, message: string, quoted: { value: unknown } = { value: data }): SchemaProblem => {
    const override = messages[error.schemaPath] ?? messages[path];
    return { path, message: override ?? message, value: quoted.value, keyword: error.keyword, schemaPath: error.schemaPath };
  };
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return problem(childPath(at, String(params["missingProperty"])), "is required", { value: undefined });
    case "additionalProperties": {
      const extra = String(params["additionalProperty"]);
      const properties = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
      const allowed = Object.keys(properties ?? {}).join(", ");
      const value = data !== null && typeof data === "object" ? (data as Record<string, unknown>)[extra] : undefined;
      return problem(childPath(at, extra), allowed ? `is not a known field; use ${allowed}` : "is not a known field", { value });
    }
    case "enum": {
      const allowed = (params["allowedValues"] as unknown[]).map((value) => (typeof value === "string" ? value : JSON.stringify(value)));
      return problem(at, `must be one of ${allowed.join(", ")}`);
    }
    case "const":
      return problem(at, `must be ${JSON.stringify(params["allowedValue"])}`);
    case "type": {
      const type = String(params["type"]).replaceAll(",", " or ");
      return problem(at, `must be ${article(type)} ${type}`);
    }
    case "minimum":
      return problem(at, `must be at least ${String(params["limit"])}`);
    case "maximum":
      return problem(at, `must be at most ${String(params["limit"])}`);
    case "exclusiveMinimum":
      return problem(at, `must be more than ${String(params["limit"])}`);
    case "exclusiveMaximum":
      return problem(at, `must be less than ${String(params["limit"])}`);
    case "minLength":
      return problem(at, params["limit"] === 1 ? "must not be empty" : `must be at least ${String(params["limit"])} characters`);
    case "maxLength":
      return problem(at, `must be at most ${String(params["limit"])} characters`);
    case "minItems":
      return problem(at, params["limit"] === 1 ? "must not be empty" : `must have at least ${String(params["limit"])} items`);
    case "maxItems":
      return problem(at, `must have at most ${String(params["limit"])} items`);
    case "uniqueItems":
      return problem(at, "must not repeat an item");
    case "pattern":
      return problem(at, `must match ${String(params["pattern"])}`);
    case "format": {
      const format = String(params["format"]);
      return problem(
        at,
        format === "date-time" ? "must be an ISO 8601 timestamp with a timezone offset, like 2026-04-21T15:30:00Z" : `invalid ${format} format`,
      );
    }
    default:
      return problem(at, error.message ?? "is invalid");
  }
}

/**
 * A record value's problem as the public API has always worded it: ajv's own sentence (`must be
 * string`, `must NOT have more than 3 characters`), the date-time and other formats spelled out,
 * enum values quoted as JSON, and for a missing or unknown key inside an object field the path
 * and value of that object. Clients may match on these messages, so they do not change with the
 * control plane's friendlier wording above.
 */
function vendorProblem(error: ErrorObject, root: unknown, base: string): SchemaProblem {
  const path = pointerToPath(error.instancePath, base);
  const value = error.instancePath ? valueAtPointer(root, error.instancePath) : root;
  let message = `${path}: ${error.message ?? "is invalid"}`;
  if (error.keyword === "format") {
    const format = String(error.params["format"]);
    message =
      format === "date-time"
        ? `${path}: must be an ISO 8601 timestamp with a timezone offset, like 2026-04-21T15:30:00Z`
        : `${path}: invalid ${format} format`;
  } else if (error.keyword === "enum") {
    const allowed = (error.params["allowedValues"] as unknown[]).map((allowedValue) => JSON.stringify(allowedValue));
    message = `${path}: must be one of ${allowed.join(", ")}`;
  }
  // `message` already carries the path: the caller uses it whole (see problemText's counterpart below).
  return { path, message, value, keyword: error.keyword, schemaPath: error.schemaPath };
}
