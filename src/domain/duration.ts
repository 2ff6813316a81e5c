import { ApiError } from "./errors.js";

/**
 * ISO 8601 durations of fixed length, for advancing the emulator clock: weeks, days, hours,
 * minutes and seconds ("PT24H1S", "P1D", "PT0.5S", "P1W", "P1DT2H3M4.5S"). Years and months
 * are refused because their length depends on where on the calendar they start. A day is
 * exactly 24 hours (the emulator clock has no time zone, so no daylight-saving days).
 */

const msPer = { W: 604_800_000, D: 86_400_000, H: 3_600_000, M: 60_000, S: 1000 } as const;

const number = String.raw`(\d+(?:[.,]\d+)?)`;
const durationPattern = new RegExp(
  String.raw`^P(?:${number}W)?(?:${number}D)?(?:T(?:${number}H)?(?:${number}M)?(?:${number}S)?)?$`,
);
const yearsOrMonths = /^P(?:[^T]*[YM])/;

/** The largest step the clock can take: the whole range of a JavaScript Date. */
const maxDurationMs = 8.64e15;

const accepted = `use weeks, days, hours, minutes and seconds, e.g. "P1D", "PT24H1S", "PT0.5S", "P1W", "P1DT2H3M4.5S"`;

/** Milliseconds (rounded to the nearest whole one) in an ISO 8601 duration. */
export function parseIsoDuration(text: string): number {
  const upper = text.toUpperCase();
  if (yearsOrMonths.test(upper)) {
    throw refused(text, `uses years or months, whose length varies; ${accepted}`);
  }
  if (upper.includes("-")) {
    throw refused(text, `is negative; the clock only moves forward, so ${accepted}`);
  }
  const match = durationPattern.exec(upper);
  // "P" and "PT" alone, and a "T" with nothing after it, match the pattern's optional parts
  // but name no duration at all.
  if (match === null || upper === "P" || upper.endsWith("T")) {
    throw refused(text, `is not an ISO 8601 duration; ${accepted}`);
  }
  const [, weeks, days, hours, minutes, seconds] = match;
  const parts: [string | undefined, number][] = [
    [weeks, msPer.W],
    [days, msPer.D],
    [hours, msPer.H],
    [minutes, msPer.M],
    [seconds, msPer.S],
  ];
  let total = 0;
  for (const [value, unitMs] of parts) {
    if (value !== undefined) total += Number(value.replace(",", ".")) * unitMs;
  }
  if (!(total <= maxDurationMs)) throw refused(text, "is longer than the clock can advance");
  return Math.round(total);
}

function refused(text: string, problem: string): ApiError {
  return new ApiError("REQUEST_INVALID", `advance: "${text}" ${problem}`, {
    details: { path: "advance", value: text },
  });
}
