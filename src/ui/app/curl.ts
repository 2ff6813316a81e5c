import type { JournalEntry } from "../../domain/control-plane.js";

/**
 * "Copy as curl": a command that sends a journaled request again. The journal never keeps the
 * Authorization header, so the command reads the token from $CDP_TOKEN instead; headers that
 * curl makes itself for the new connection (Host, Content-Length, …) are left to curl.
 */

/** Set by curl from the URL, the body and the connection it opens; copying them would only conflict. */
const CURL_MAKES = new Set(["host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "expect"]);

export const TOKEN_PLACEHOLDER = '-H "Authorization: Bearer $CDP_TOKEN"';

export interface CurlCommand {
  /** The command, one option per line, ready to paste into a POSIX shell. */
  command: string;
  /** Why the command is not the request exactly, when it is not: a body or headers the journal did not keep whole. */
  caveats: string[];
}

/** `'text'` for a POSIX shell: nothing inside single quotes is special but the quote itself. */
export const shellQuote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

/** The body as the journal presents a cut or unreadable one: exactly these keys. */
function isShaped(value: unknown, flag: "truncated" | "unparsed"): value is { bytes: number; preview: string } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value).sort().join(",");
  const shaped = value as Record<string, unknown>;
  return keys === ["bytes", "preview", flag].sort().join(",") && shaped[flag] === true && typeof shaped["bytes"] === "number" && typeof shaped["preview"] === "string";
}

const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

/** The body to send, or why there is none; undefined when the request had no body. */
function bodyOf(entry: JournalEntry): { data: string } | { caveat: string } | undefined {
  const body = entry.requestBody;
  if (body === null || body === undefined) return undefined;
  if (isShaped(body, "truncated")) {
    return { caveat: `The request body was ${body.bytes.toLocaleString("en-US")} bytes; the journal keeps only the first 16 KB, so the command has no body: add it with --data-binary @body.json.` };
  }
  if (isShaped(body, "unparsed")) {
    // Text that is not JSON comes back as it was, unless it was not UTF-8 (then the preview differs).
    if (utf8Bytes(body.preview) === body.bytes) return { data: body.preview };
    return { caveat: `The request body (${body.bytes.toLocaleString("en-US")} bytes) was not valid UTF-8, so the command has no body.` };
  }
  // The JSON as parsed, written compactly: the same value, though not always the same bytes.
  return { data: JSON.stringify(body) };
}

export function curlCommand(entry: JournalEntry, origin: string): CurlCommand {
  const caveats: string[] = [];
  const lines = [`curl -X ${entry.method} ${shellQuote(`${origin}${entry.path}`)}`, TOKEN_PLACEHOLDER];
  for (const [name, value] of Object.entries(entry.requestHeaders)) {
    if (CURL_MAKES.has(name)) continue;
    lines.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  }
  const dropped = entry.headersDropped?.request ?? 0;
  if (dropped > 0) caveats.push(`${dropped} request header${dropped === 1 ? " was" : "s were"} not kept by the journal (it keeps 64 headers and 8 KB per request), so the command lacks ${dropped === 1 ? "it" : "them"}.`);
  const body = bodyOf(entry);
  if (body !== undefined && "data" in body) lines.push(`--data-raw ${shellQuote(body.data)}`);
  if (body !== undefined && "caveat" in body) caveats.push(body.caveat);
  const command = lines.join(" \\\n  ");
  // Said in the command too, so a pasted command carries its own warning.
  return { command: caveats.length === 0 ? command : `${caveats.map((caveat) => `# ${caveat}`).join("\n")}\n${command}`, caveats };
}
