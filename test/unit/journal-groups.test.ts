import { describe, expect, it } from "vitest";
import { groupRetries, statusMatches } from "../../src/ui/app/group.js";
import type { JournalEntry } from "../../src/domain/control-plane.js";

let seq = 0;
function entry(change: Partial<JournalEntry> = {}): JournalEntry {
  seq += 1;
  return {
    seq,
    at: "2026-04-21T15:30:00.000Z",
    wallMs: 0,
    method: "POST",
    path: "/public/v1/records/profiles/upsert",
    operation: "upsert",
    object: "profiles",
    workspace: "default",
    idempotencyKey: null,
    correlationId: `c${seq}`,
    status: 200,
    fault: null,
    replayed: false,
    durationMs: 1,
    requestBody: null,
    responseBody: null,
    requestHeaders: {},
    responseHeaders: {},
    headersDropped: null,
    ...change,
  };
}

describe("grouping the journal's retries for the dashboard", () => {
  it("puts every attempt with one idempotency key on one line: 503 → 503 → 200 (replayed)", () => {
    const groups = groupRetries([
      entry({ idempotencyKey: "k1", status: 503 }),
      entry({ idempotencyKey: null }),
      entry({ idempotencyKey: "k1", status: 503 }),
      entry({ idempotencyKey: "k1", status: 200, replayed: true }),
    ]);
    expect(groups.map((group) => [group.idempotencyKey, group.entries.length, group.chain])).toEqual([
      [null, 1, "200"],
      ["k1", 3, "503 → 503 → 200 (replayed)"],
    ]);
  });

  it("keeps the same key in two workspaces apart, and calls a cut connection no response", () => {
    const groups = groupRetries([
      entry({ idempotencyKey: "k", workspace: "a", status: null }),
      entry({ idempotencyKey: "k", workspace: "b", status: 201 }),
      entry({ idempotencyKey: "k", workspace: "a", status: 200 }),
    ]);
    expect(groups.map((group) => group.chain)).toEqual(["201", "no response → 200"]);
  });

  it.each([
    ["", 503, true],
    ["5xx", 503, true],
    ["5xx", 429, false],
    ["4xx", 429, true],
    ["none", null, true],
    ["none", 200, false],
    ["2xx", null, false],
    ["503", 503, true],
    ["503", 502, false],
  ] as const)("status filter %s fits %s: %s", (filter, status, fits) => {
    expect(statusMatches(filter, status)).toBe(fits);
  });
});
