import { ApiError, type ErrorDetails } from "../domain/errors.js";
import type { SchemaProblem } from "../domain/schema-check.js";

/**
 * How the control plane words a request body that fails its schema, so every `/_emulator` body
 * reads alike: the field and what is wrong with it, and the example that shows a right one.
 * `quote: true` ends a field's sentence with the value sent instead of the example, for messages
 * the CLI reads back as flags (`--count must be … (got 0)`), where a JSON example would mislead.
 */
export function invalidBody(problem: SchemaProblem | undefined, hint: string, options: { quote?: boolean } = {}): ApiError {
  if (!problem || problem.path === "") {
    return new ApiError("REQUEST_INVALID", `the body must be a JSON object; ${hint}`, { details: { path: "" } });
  }
  const { path, message, value } = problem;
  if (problem.keyword === "additionalProperties") {
    return new ApiError("REQUEST_INVALID", `"${path}" is not a field here; ${hint}`, { details: { path } });
  }
  if (options.quote === true) {
    const got = value === undefined ? "nothing" : JSON.stringify(value);
    return new ApiError("REQUEST_INVALID", `${path}: ${message} (got ${got})`, { details: { path, value: value ?? null } });
  }
  const details: ErrorDetails = { path };
  if (value !== undefined) details.value = value;
  return new ApiError("REQUEST_INVALID", `${path}: ${message}; ${hint}`, { details });
}
