import type { FaultAction, FaultStatus } from "../domain/control-plane.js";
import { faultStatuses } from "../domain/vocabulary.js";

export type { FaultAction, FaultStatus };
import { ApiError, type ErrorKind } from "../domain/errors.js";

/**
 * What a fault does, whoever asked for it (a rule or the X-Emulator-Fault header): the action's
 * shape and the checks it must pass, its short label, the envelope a status fault answers with
 * and the delay before it acts.
 */



export interface AppliedFault {
  /** null for the X-Emulator-Fault header. */
  ruleId: string | null;
  action: FaultAction;
  /** Short text for the X-Emulator-Fault response header and the journal, e.g. "429;retry-after=2.5;rule=flt_1". */
  label: string;
}

export { faultStatuses };


/** Longest delay, jitter or hold: beyond this a timer is a hung test, not a fault. */
export const MAX_MS = 600_000;

export interface Problem {
  path: string;
  message: string;
  value?: unknown;
}

/** The checks a schema cannot say well: an action must do one coherent thing. */
export function checkAction(action: FaultAction): Problem | null {
  const outcomes = [
    action.status !== undefined ? `status ${action.status}` : null,
    action.reset ? "reset" : null,
    action.timeout ? "timeout" : null,
    action.malformed ? "malformed" : null,
  ].filter((outcome): outcome is string => outcome !== null);
  if (outcomes.length === 0 && action.delayMs === undefined) {
    return { path: "action", message: "does nothing; give status, delayMs, reset, timeout or malformed" };
  }
  if (outcomes.length > 1) {
    return {
      path: "action",
      message: `${outcomes.join(" and ")} contradict each other; a fault ends with one of status, reset, timeout or malformed`,
    };
  }
  if (action.afterCommit && action.status === undefined && !action.reset && !action.malformed) {
    return {
      path: "action.afterCommit",
      message: "needs status, reset or malformed (what to do once the write has committed)",
      value: action.afterCommit,
    };
  }
  if (action.retryAfter !== undefined && action.status !== 429 && action.status !== 503) {
    return { path: "action.retryAfter", message: "only goes with status 429 or 503", value: action.retryAfter };
  }
  if (action.jitterMs !== undefined && action.delayMs === undefined) {
    return { path: "action.jitterMs", message: "needs delayMs", value: action.jitterMs };
  }
  return null;
}

export function labelFor(action: FaultAction, ruleId: string | null): string {
  const parts: string[] = [];
  if (action.delayMs !== undefined) parts.push(`delay=${action.delayMs}`);
  if (action.jitterMs !== undefined) parts.push(`jitter=${action.jitterMs}`);
  if (action.status !== undefined) parts.push(String(action.status));
  if (action.retryAfter !== undefined) parts.push(`retry-after=${action.retryAfter}`);
  if (action.reset) parts.push("reset");
  if (action.timeout) parts.push(`timeout;hold=${action.timeout.holdMs};then=${action.timeout.then}`);
  if (action.malformed) parts.push("malformed");
  if (action.afterCommit) parts.push("after-commit");
  if (ruleId !== null) parts.push(`rule=${ruleId}`);
  return parts.join(";");
}


const statusFaults: Record<FaultStatus, { kind: ErrorKind; what: string }> = {
  409: { kind: "WRITE_RACE", what: "write race with a concurrent request" },
  429: { kind: "RATE_LIMITED", what: "rate limit exceeded" },
  500: { kind: "INTERNAL", what: "internal error" },
  502: { kind: "UPSTREAM_UNAVAILABLE", what: "upstream unavailable" },
  503: { kind: "SERVICE_UNAVAILABLE", what: "service unavailable" },
  504: { kind: "UPSTREAM_TIMEOUT", what: "upstream timeout" },
};

/**
 * The ApiError a status fault answers with, in the vendor's envelope. 429 always carries
 * Retry-After (the rule's, else 1); 503 only when the fault gives one.
 */
export function faultError(applied: AppliedFault, status: FaultStatus): ApiError {
  const { kind, what } = statusFaults[status];
  const origin = applied.ruleId === null ? "X-Emulator-Fault header" : `emulator fault rule ${applied.ruleId}`;
  const headers: Record<string, string> = {};
  const retryAfter = applied.action.retryAfter;
  if (status === 429) {
    headers["Retry-After"] = String(retryAfter ?? 1);
    // A real 429 says the quota is spent; a client's backpressure logic reads this header.
    headers["X-RateLimit-Remaining"] = "0";
  }
  else if (status === 503 && retryAfter !== undefined) headers["Retry-After"] = String(retryAfter);
  return new ApiError(kind, `Injected fault: ${what} (${origin})`, { headers });
}

/** The delay before acting: delayMs plus a whole number of jitter milliseconds in [0, jitterMs). */
export function faultDelayMs(action: FaultAction, random: () => number): number {
  const base = action.delayMs ?? 0;
  if (!action.jitterMs) return base;
  return base + Math.min(action.jitterMs - 1, Math.floor(random() * action.jitterMs));
}
