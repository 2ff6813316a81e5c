import { describe, expect, it } from "vitest";
import { parseIsoDuration } from "../../src/domain/duration.js";
import { ApiError } from "../../src/domain/errors.js";

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;

describe("parseIsoDuration", () => {
  it.each([
    { text: "PT24H1S", ms: 24 * hour + second },
    { text: "P1D", ms: day },
    { text: "PT0.5S", ms: 500 },
    { text: "P1W", ms: 7 * day },
    { text: "P1DT2H3M4.5S", ms: day + 2 * hour + 3 * minute + 4500 },
    { text: "PT1M", ms: minute },
    { text: "PT90M", ms: 90 * minute },
    { text: "PT1.5H", ms: 90 * minute },
    { text: "PT0,25S", ms: 250 },
    { text: "PT0S", ms: 0 },
    { text: "PT0.001S", ms: 1 },
    { text: "PT1.005S", ms: 1005 },
    { text: "P2W3D", ms: 17 * day },
    { text: "pt10s", ms: 10 * second },
  ])("reads $text as $ms ms", ({ text, ms }) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each([
    { text: "P1Y", reason: "uses years or months" },
    { text: "P1M", reason: "uses years or months" },
    { text: "P1Y2M3DT4H", reason: "uses years or months" },
    { text: "-PT1S", reason: "is negative" },
    { text: "PT-1S", reason: "is negative" },
    { text: "P", reason: "is not an ISO 8601 duration" },
    { text: "PT", reason: "is not an ISO 8601 duration" },
    { text: "P1DT", reason: "is not an ISO 8601 duration" },
    { text: "", reason: "is not an ISO 8601 duration" },
    { text: "1D", reason: "is not an ISO 8601 duration" },
    { text: "P1H", reason: "is not an ISO 8601 duration" },
    { text: "PT1D", reason: "is not an ISO 8601 duration" },
    { text: "PT1S1M", reason: "is not an ISO 8601 duration" },
    { text: "PT.5S", reason: "is not an ISO 8601 duration" },
    { text: "PT5.S", reason: "is not an ISO 8601 duration" },
    { text: " PT1S", reason: "is not an ISO 8601 duration" },
    { text: "24h", reason: "is not an ISO 8601 duration" },
    { text: "P99999999999W", reason: "is longer than the clock can advance" },
  ])("refuses $text: $reason", ({ text, reason }) => {
    let error: unknown;
    try {
      parseIsoDuration(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe("REQUEST_INVALID");
    expect((error as ApiError).message).toContain(`advance: "${text}" ${reason}`);
  });

  it("says which forms are accepted when it refuses", () => {
    expect(() => parseIsoDuration("P1M")).toThrow(/weeks, days, hours, minutes and seconds, e\.g\. "P1D", "PT24H1S"/);
  });
});
