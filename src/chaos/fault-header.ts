import { ApiError } from "../domain/errors.js";
import { MAX_MS, checkAction, faultStatuses, labelFor, type AppliedFault, type FaultAction } from "./fault-action.js";

const MILLIS = /^\d+$/;
const SECONDS = /^\d+(\.\d+)?$/;

/**
 * The per-request header `X-Emulator-Fault`: "503", "429;retry-after=2.5", "reset",
 * "500;after-commit", "malformed", "timeout;hold=1500;then=504", "delay=200;jitter=50;503".
 * Parameters are separated by ";" in any order; whitespace is tolerated, keywords are
 * case-insensitive; a parameter given twice, or one the fault cannot use, is refused.
 */
export function parseFaultHeader(value: string): AppliedFault {
  const refuse = (): ApiError =>
    new ApiError(
      "REQUEST_INVALID",
      `X-Emulator-Fault: "${value}" is not a fault; use e.g. 503, 429;retry-after=2.5, reset, 500;after-commit`,
      { details: { path: "X-Emulator-Fault", value } },
    );
  const seen = new Set<string>();
  const action: FaultAction = {};
  let timeout = false;
  let hold: number | undefined;
  let then: 504 | "drop" | undefined;

  for (const segment of value.split(";")) {
    const token = segment.trim().toLowerCase();
    if (token === "") continue;
    const equals = token.indexOf("=");
    const key = equals < 0 ? (/^\d+$/.test(token) ? "status" : token) : token.slice(0, equals).trim();
    const argument = equals < 0 ? token : token.slice(equals + 1).trim();
    if (seen.has(key)) throw refuse();
    seen.add(key);
    const keyword = equals < 0;
    if (key === "status" && keyword) {
      const status = faultStatuses.find((candidate) => String(candidate) === argument);
      if (status === undefined) throw refuse();
      action.status = status;
    } else if (key === "reset" && keyword) {
      action.reset = true;
    } else if (key === "malformed" && keyword) {
      action.malformed = true;
    } else if (key === "after-commit" && keyword) {
      action.afterCommit = true;
    } else if (key === "timeout" && keyword) {
      timeout = true;
    } else if ((key === "delay" || key === "jitter" || key === "hold") && !keyword) {
      if (!MILLIS.test(argument)) throw refuse();
      const ms = Number(argument);
      if (ms > MAX_MS) throw refuse();
      if (key === "delay") action.delayMs = ms;
      else if (key === "jitter") action.jitterMs = ms;
      else hold = ms;
    } else if (key === "retry-after" && !keyword) {
      if (!SECONDS.test(argument)) throw refuse();
      action.retryAfter = Number(argument);
    } else if (key === "then" && !keyword) {
      if (argument === "504") then = 504;
      else if (argument === "drop") then = "drop";
      else throw refuse();
    } else {
      throw refuse();
    }
  }

  if (timeout) {
    if (hold === undefined || then === undefined) throw refuse();
    action.timeout = { holdMs: hold, then };
  } else if (hold !== undefined || then !== undefined) {
    throw refuse();
  }
  if (checkAction(action)) throw refuse();
  return { ruleId: null, action, label: labelFor(action, null) };
}

