import { describe, expect, it } from "vitest";
import { createIdFactory } from "../../src/store/ids.js";

describe("row and job ids", () => {
  it("are ULIDs with their prefix, unique and increasing within one millisecond", () => {
    const ids = createIdFactory();
    const made = Array.from({ length: 10_000 }, () => ids.newRecordId(1_795_000_000_000));
    expect(made.every((id) => /^rec_[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
    expect(new Set(made).size).toBe(made.length);
    expect([...made].sort()).toEqual(made);
    expect(ids.newJobId(1_795_000_000_000)).toMatch(/^rjob_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("carry the time they were made, so they sort by the emulator clock", () => {
    const ids = createIdFactory();
    const earlier = ids.newRecordId(Date.parse("2026-04-21T15:30:00Z"));
    const later = ids.newRecordId(Date.parse("2026-04-21T15:30:01Z"));
    expect(earlier < later).toBe(true);
    expect(earlier.slice(4, 14)).not.toBe(later.slice(4, 14));
  });

  it("do not repeat across factories (the random part is not seeded)", () => {
    const a = createIdFactory().newRecordId(0);
    const b = createIdFactory().newRecordId(0);
    expect(a).not.toBe(b);
  });
});
