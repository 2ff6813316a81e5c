import { parseFaultPatch, type FaultRules } from "../chaos/faults.js";
import type { ClockState, FaultRule } from "../domain/control-plane.js";
import { parseIsoDuration } from "../domain/duration.js";
import { ApiError } from "../domain/errors.js";
import { isPlainObject } from "../domain/validation.js";
import type { EmulatorClock } from "../runtime/clock.js";
import type { RateLimiter, RateLimits } from "../runtime/rate-limiter.js";

/**
 * What a test drives to make the emulator misbehave on purpose: fault rules, the rate limits,
 * and the emulator clock. The rules and limits check their own input; the clock's body is
 * checked here, all of it before anything moves.
 */

export interface ChaosDeps {
  faults: FaultRules;
  rateLimiter: RateLimiter;
  clock: EmulatorClock;
}

/** The clock as the control plane shows it. */
export type ClockView = Pick<ClockState, "now" | "frozen">;

/** A checked POST /_emulator/clock body, applied in this order: set, freeze, advance. */
export interface ClockMove {
  setTo?: number;
  freeze?: boolean;
  advanceMs: number;
}

const CLOCK_FIELDS = ["set", "freeze", "advance", "advanceMs"];

/** `{set?, freeze?, advance? | advanceMs?}`, at least one; 400 REQUEST_INVALID naming the field. */
export function parseClockMove(input: unknown): ClockMove {
  const body = input ?? {};
  if (!isPlainObject(body) || Object.keys(body).length === 0 || Object.keys(body).some((key) => !CLOCK_FIELDS.includes(key))) {
    throw new ApiError("REQUEST_INVALID", 'send any of {"set": "2026-04-21T15:30:00Z", "freeze": true, "advance": "PT24H1S"} or {"advanceMs": 1000}', {
      details: { path: "" },
    });
  }
  const { set, freeze, advance, advanceMs } = body;
  if (advance !== undefined && advanceMs !== undefined) {
    throw new ApiError("REQUEST_INVALID", "advance and advanceMs: give one of them", { details: { path: "advance" } });
  }
  const move: ClockMove = { advanceMs: 0 };
  if (set !== undefined) {
    const setTo = typeof set === "string" && /T.*(Z|[+-]\d{2}:\d{2})$/i.test(set) ? Date.parse(set) : Number.NaN;
    if (Number.isNaN(setTo)) {
      throw new ApiError("REQUEST_INVALID", 'set: must be an RFC 3339 timestamp with an offset, like "2026-04-21T15:30:00Z"', {
        details: { path: "set", value: set },
      });
    }
    move.setTo = setTo;
  }
  if (freeze !== undefined) {
    if (typeof freeze !== "boolean") throw new ApiError("REQUEST_INVALID", "freeze: must be true or false", { details: { path: "freeze", value: freeze } });
    move.freeze = freeze;
  }
  if (advance !== undefined) {
    if (typeof advance !== "string") throw new ApiError("REQUEST_INVALID", 'advance: an ISO 8601 duration such as "PT24H1S"', { details: { path: "advance", value: advance } });
    move.advanceMs = parseIsoDuration(advance);
  }
  if (advanceMs !== undefined) {
    if (typeof advanceMs !== "number" || !Number.isFinite(advanceMs) || advanceMs < 0) {
      throw new ApiError("REQUEST_INVALID", "advanceMs: must be a number of milliseconds ≥ 0", { details: { path: "advanceMs", value: advanceMs } });
    }
    move.advanceMs = advanceMs;
  }
  return move;
}

/** `{single?, batch?}`, at least one; the limiter checks the settings themselves. */
export function parseRateLimitChange(body: unknown): Partial<RateLimits> {
  if (!isPlainObject(body) || Object.keys(body).some((key) => key !== "single" && key !== "batch") || Object.keys(body).length === 0) {
    throw new ApiError("REQUEST_INVALID", 'send {"single": {"limit": 10, "windowSeconds": 1}, "batch": {...}} (either part)', {
      details: { path: "" },
    });
  }
  return body as Partial<RateLimits>;
}

const noSuchRule = (id: string): ApiError =>
  new ApiError("NOT_FOUND", `No fault rule "${id}"; GET /_emulator/faults lists them`, { details: { path: "id", value: id } });

export class ChaosControl {
  readonly #deps: ChaosDeps;

  constructor(deps: ChaosDeps) {
    this.#deps = deps;
  }

  /** Checks the rule (400 naming the field at fault) and adds it after the others. */
  addFault(input: unknown): FaultRule {
    return this.#deps.faults.add(input ?? {}, "api");
  }

  listFaults(): { faults: FaultRule[] } {
    return { faults: this.#deps.faults.list() };
  }

  /** Switches a rule off or on without losing it (or its counts): `{"enabled": false|true}`. */
  patchFault(id: string, body: unknown): FaultRule {
    // The body first: a malformed request is a 400 whichever rule it names.
    const patch = parseFaultPatch(body ?? {});
    const rule = this.#deps.faults.setEnabled(id, patch.enabled);
    if (!rule) throw noSuchRule(id);
    return rule;
  }

  removeFault(id: string): { deleted: string } {
    if (!this.#deps.faults.remove(id)) throw noSuchRule(id);
    return { deleted: id };
  }

  clearFaults(): { deleted: number } {
    return { deleted: this.#deps.faults.clear() };
  }

  rateLimits(): RateLimits {
    return this.#deps.rateLimiter.limits();
  }

  setRateLimits(change: Partial<RateLimits>): RateLimits {
    this.#deps.rateLimiter.configure(change);
    return this.#deps.rateLimiter.limits();
  }

  clock(): ClockView {
    const state = this.#deps.clock.state();
    return { now: state.now, frozen: state.frozen };
  }

  moveClock(move: ClockMove): ClockView {
    const { clock } = this.#deps;
    if (move.setTo !== undefined) clock.set(move.setTo);
    if (move.freeze === true) clock.freeze();
    if (move.freeze === false) clock.unfreeze();
    if (move.advanceMs > 0) clock.advance(move.advanceMs);
    return this.clock();
  }
}
