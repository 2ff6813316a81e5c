import { describeJsonProblem, findJsonProblem } from "../domain/json-safety.js";
import { WORKSPACE_PATTERN } from "../domain/vocabulary.js";
import { isPlainObject, type Fields } from "../domain/validation.js";

/**
 * The seed-data line format, one JSON object per line, shared by export (which writes it) and
 * `--seed-data` (which reads it), so an export loads back as it is:
 *
 *   {"object":"profiles","workspace":"default","record":{"email":"jane@example.com"}}
 *
 * `workspace` may be left out on input (it means `default`); export always writes it.
 */

export { NDJSON_CONTENT_TYPE } from "../domain/vocabulary.js";
export const DEFAULT_WORKSPACE = "default";

export interface SeedLine {
  object: string;
  workspace: string;
  record: Fields;
}

/** Start-up refuses a bad seed-data file and says which file, which line and what is wrong. */
const LINE_KEYS = new Set(["object", "workspace", "record"]);

/** `fieldsJson` is a stored row's JSON text, written as it is: no parse and re-serialise per row. */
export function formatSeedLine(object: string, workspace: string, fieldsJson: string): string {
  return `{"object":${JSON.stringify(object)},"workspace":${JSON.stringify(workspace)},"record":${fieldsJson}}\n`;
}

/** The non-blank lines of a file's text, numbered from 1 as an editor shows them. */
export function* seedDataLines(text: string): Generator<{ number: number; text: string }, void, undefined> {
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark some editors write
  let number = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    number += 1;
    const line = text.slice(start, end).replace(/\r$/, "");
    if (line.trim() !== "") yield { number, text: line };
    start = end + 1;
  }
}

/** One line, or what is wrong with it (the caller adds the file and line number). */
export function parseSeedLine(text: string): { line: SeedLine } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { problem: `not valid JSON (${(error as Error).message})` };
  }
  // The same limits as a request body: what is loaded must read back the same after a restart.
  const shape = findJsonProblem(parsed);
  if (shape !== null) return { problem: describeJsonProblem(shape) };
  if (!isPlainObject(parsed)) return { problem: 'must be a JSON object like {"object":"profiles","record":{…}}' };
  const extra = Object.keys(parsed).find((key) => !LINE_KEYS.has(key));
  if (extra !== undefined) return { problem: `"${extra}" is not a key of a seed line (keys: object, workspace, record)` };
  const { object, workspace = DEFAULT_WORKSPACE, record } = parsed;
  if (typeof object !== "string" || object === "") return { problem: 'object: must name an object, like "profiles"' };
  if (typeof workspace !== "string" || !WORKSPACE_PATTERN.test(workspace)) {
    return { problem: `workspace: must be 1-64 letters, digits, - or _ (got ${JSON.stringify(workspace)})` };
  }
  if (!isPlainObject(record)) return { problem: "record: must be a JSON object of the object's fields" };
  return { line: { object, workspace, record } };
}
