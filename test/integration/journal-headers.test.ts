import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type JournalEntry, type StartedEmulator } from "../../src/index.js";

/**
 * The journal shows each public request's headers and its response's, over real HTTP, and never
 * the credentials: not in GET /_emulator/journal, not in the event stream, however they were sent.
 */

const SECRET_TOKEN = "journal-secret-token-7f3a9c";
const WRONG_TOKEN = "journal-wrong-token-91be04";
const SECRETS = [SECRET_TOKEN, WRONG_TOKEN, "session-secret-cookie", "proxy-secret-credentials"];
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization", "set-cookie"];

let emu: StartedEmulator;

async function upsert(token: string, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(`${emu.apiUrl}/records/profiles/upsert`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      Cookie: "session=session-secret-cookie",
      "Proxy-Authorization": "Basic proxy-secret-credentials",
      "Content-Type": "application/json",
      ...headers,
    },
    body: JSON.stringify({ record: { email: "headers@example.com" } }),
  });
  await response.arrayBuffer();
  return response;
}

/** The event stream's text from the start of the journal, read until `until` appears in it. */
async function streamUntil(until: string): Promise<string> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 5000);
  let text = "";
  try {
    const response = await fetch(`${emu.url}/_emulator/events?since=0`, { headers: { Accept: "text/event-stream" }, signal: abort.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    while (!text.includes(until)) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return text;
}

beforeAll(async () => {
  emu = await startEmulator();
  await emu.control.workspaces.mintToken({ workspace: emu.workspace, token: SECRET_TOKEN });
  await upsert(SECRET_TOKEN, { "Idempotency-Key": "headers-1", "X-Test-Run": "run-42" });
  // Refused at auth: journaled all the same, with the token it was refused for left out.
  expect((await upsert(WRONG_TOKEN, { "X-Test-Run": "run-43" })).status).toBe(401);
  // A fault's response headers (Retry-After, X-Emulator-Fault) are journaled too.
  await upsert(SECRET_TOKEN, { "X-Emulator-Fault": "429;retry-after=2", "X-Test-Run": "run-44" });
});
afterAll(async () => emu.stop());

describe("headers in the journal", () => {
  it("shows a request's headers and its response's, lower-case names", async () => {
    const [entry] = await emu.control.journal.list({ idempotencyKey: "headers-1" });
    expect(entry?.requestHeaders).toMatchObject({ "content-type": "application/json", "idempotency-key": "headers-1", "x-test-run": "run-42" });
    expect(entry?.responseHeaders).toMatchObject({
      "content-type": "application/json; charset=utf-8",
      "x-correlation-id": entry?.correlationId,
      "x-ratelimit-limit": expect.any(String),
    });
    expect(entry?.headersDropped).toBeNull();
  });

  it("shows the headers a fault answered with", async () => {
    const [entry] = await emu.control.journal.list({ status: 429 });
    expect(entry?.requestHeaders["x-test-run"]).toBe("run-44");
    expect(entry?.responseHeaders).toMatchObject({ "retry-after": "2", "x-emulator-fault": expect.stringContaining("429") });
  });

  it("never shows Authorization, Cookie or Proxy-Authorization, nor their values, in GET /_emulator/journal", async () => {
    const response = await fetch(`${emu.url}/_emulator/journal?limit=100`);
    const text = await response.text();
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    const entries = (JSON.parse(text) as { data: { entries: JournalEntry[] } }).data.entries;
    expect(entries.map((entry) => entry.requestHeaders["x-test-run"])).toEqual(["run-42", "run-43", "run-44"]);
    for (const entry of entries) {
      const names = [...Object.keys(entry.requestHeaders), ...Object.keys(entry.responseHeaders ?? {})];
      for (const credential of CREDENTIAL_HEADERS) expect(names).not.toContain(credential);
    }
  });

  it("never shows them in the event stream either", async () => {
    const text = await streamUntil('"run-44"');
    expect(text).toContain('"x-test-run":"run-42"');
    expect(text).toContain('"x-test-run":"run-43"');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    for (const credential of CREDENTIAL_HEADERS) expect(text).not.toContain(`"${credential}":`);
  });
});
