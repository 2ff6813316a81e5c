import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Envelope, ErrorEnvelope, SuccessEnvelope } from "../../src/domain/errors.js";
import { startEmulator, type StartedEmulator } from "../../src/index.js";

/**
 * GET /_emulator/records/:object in either write order, paged by keyset, with the total the
 * filters match: what the dashboard needs to show the newest rows first and "1,234 rows".
 */

interface Row {
  rowId: string;
  fields: Record<string, unknown>;
}
interface Page {
  records: Row[];
  nextCursor: string | null;
  total: number;
}

let emu: StartedEmulator;

/** The body read as a page unless told otherwise (`list<ErrorEnvelope>`). */
async function list<T extends Envelope<Page> = SuccessEnvelope<Page>>(query: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${emu.url}/_emulator/records/profiles${query}`);
  return { status: response.status, body: (await response.json()) as T };
}

const emails = (page: Page): unknown[] => page.records.map((row) => row.fields["email"]);

async function write(email: string, tier = "gold"): Promise<void> {
  const response = await fetch(`${emu.apiUrl}/records/profiles/upsert`, {
    method: "POST",
    headers: { Authorization: `Bearer ${emu.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ record: { email, tier } }),
  });
  expect(response.status).toBe(200);
}

/** Every page of a listing, following nextCursor; checks each page's total on the way. */
async function allPages(query: string, total: number): Promise<unknown[][]> {
  const pages: unknown[][] = [];
  let cursor: string | null = null;
  do {
    const { status, body }: { status: number; body: SuccessEnvelope<Page> } = await list(`${query}${cursor === null ? "" : `&cursor=${cursor}`}`);
    expect(status).toBe(200);
    expect(body.data.total).toBe(total);
    pages.push(emails(body.data));
    cursor = body.data.nextCursor;
  } while (cursor !== null);
  return pages;
}

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => emu.stop());
beforeEach(async () => {
  await emu.control.reset();
  for (let i = 0; i < 7; i++) await write(`p${i}@example.com`, i % 2 === 0 ? "gold" : "silver");
});

describe("listing an object's rows in write order", () => {
  it("lists oldest first when no order is given, as it always did, with the total", async () => {
    const { body } = await list("");
    expect(emails(body.data)).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6"].map((p) => `${p}@example.com`));
    expect(body.data).toMatchObject({ nextCursor: null, total: 7 });
  });

  it("lists newest first with order=newest", async () => {
    const { body } = await list("?order=newest");
    expect(emails(body.data)).toEqual(["p6", "p5", "p4", "p3", "p2", "p1", "p0"].map((p) => `${p}@example.com`));
    expect(body.data.total).toBe(7);
  });

  it("pages newest first by cursor to the oldest row, every page carrying the full total", async () => {
    expect(await allPages("?order=newest&limit=3", 7)).toEqual([
      ["p6@example.com", "p5@example.com", "p4@example.com"],
      ["p3@example.com", "p2@example.com", "p1@example.com"],
      ["p0@example.com"],
    ]);
  });

  it("pages oldest first by cursor to the newest row", async () => {
    expect(await allPages("?order=oldest&limit=3", 7)).toEqual([
      ["p0@example.com", "p1@example.com", "p2@example.com"],
      ["p3@example.com", "p4@example.com", "p5@example.com"],
      ["p6@example.com"],
    ]);
  });

  it("keeps its place newest first while rows are written between pages: nothing repeated, nothing skipped", async () => {
    const first = await list("?order=newest&limit=3");
    await write("late@example.com");
    const second = await list(`?order=newest&limit=3&cursor=${first.body.data.nextCursor}`);
    expect(emails(second.body.data)).toEqual(["p3@example.com", "p2@example.com", "p1@example.com"]);
    // The count is of now, so it includes the row written meanwhile.
    expect(second.body.data.total).toBe(8);
    expect(emails((await list("?order=newest&limit=1")).body.data)).toEqual(["late@example.com"]);
  });

  it("counts and pages only the rows the filters match", async () => {
    expect(await allPages("?order=newest&tier=gold&limit=3", 4)).toEqual([
      ["p6@example.com", "p4@example.com", "p2@example.com"],
      ["p0@example.com"],
    ]);
    const none = await list("?order=newest&tier=platinum");
    expect(none.body.data).toEqual({ records: [], nextCursor: null, total: 0 });
  });

  it("counts per workspace", async () => {
    const other = await emu.control.workspaces.create();
    expect((await list(`?workspace=${other.workspace}&order=newest`)).body.data).toEqual({ records: [], nextCursor: null, total: 0 });
    expect((await list("?order=newest")).body.data.total).toBe(7);
  });

  it.each(["latest", "NEWEST", ""])("refuses order=%s with a 400 envelope naming the accepted values", async (order) => {
    const { status, body } = await list<ErrorEnvelope>(`?order=${order}`);
    expect(status).toBe(400);
    expect(body.success).toBe(false);
    expect(body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
    expect(body.error.message).toBe("order: must be one of oldest, newest");
    expect(body.error.details).toEqual({ path: "order", value: order });
  });

  it("is asked for in either order through ControlClient.records.list", async () => {
    const newest = await emu.control.records.list("profiles", { order: "newest", limit: 2 });
    expect(newest.map((row) => (row["fields"] as Record<string, unknown>)["email"])).toEqual(["p6@example.com", "p5@example.com"]);
    const oldest = await emu.control.records.list("profiles", { order: "oldest", limit: 2, tier: "silver" });
    expect(oldest.map((row) => (row["fields"] as Record<string, unknown>)["email"])).toEqual(["p1@example.com", "p3@example.com"]);
  });
});
