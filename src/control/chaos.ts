import type { Router } from "express";
import type { EmulatorClock } from "../runtime/clock.js";
import { parseIsoDuration } from "../domain/duration.js";
import { parseFaultPatch, type FaultRules } from "../chaos/faults.js";
import type { Journal } from "../runtime/journal.js";
import type { RateLimiter, RateLimits } from "../runtime/rate-limiter.js";
import { ApiError } from "../domain/errors.js";
import { isPlainObject } from "../domain/validation.js";
import { parseJournalFilter } from "./journal-query.js";

export interface ChaosDeps {
  faults: FaultRules;
  rateLimiter: RateLimiter;
  clock: EmulatorClock;
  journal: Journal;
}

const clockView = (clock: EmulatorClock) => {
  const state = clock.state();
  return { now: state.now, frozen: state.frozen };
};

const noSuchRule = (id: string): ApiError =>
  new ApiError("NOT_FOUND", `No fault rule "${id}"; GET /_emulator/faults lists them`, { details: { path: "id", value: id } });

/** Faults, rate limits, the clock and the journal: what a test drives and then checks. */
export function registerChaosRoutes(router: Router, deps: ChaosDeps): void {
  router.post("/faults", (req, res) => {
    const rule = deps.faults.add(req.body ?? {}, "api");
    res.status(201).json({ success: true, data: rule });
  });

  router.get("/faults", (_req, res) => {
    res.json({ success: true, data: { faults: deps.faults.list() } });
  });

  // Switch a rule off and on without losing it (or its counts): {"enabled": false|true}.
  router.patch("/faults/:id", (req, res) => {
    const id = req.params["id"] ?? "";
    // The body first: a malformed request is a 400 whichever rule it names.
    const patch = parseFaultPatch(req.body ?? {});
    const rule = deps.faults.setEnabled(id, patch.enabled);
    if (!rule) throw noSuchRule(id);
    res.json({ success: true, data: rule });
  });

  router.delete("/faults/:id", (req, res) => {
    const id = req.params["id"] ?? "";
    if (!deps.faults.remove(id)) throw noSuchRule(id);
    res.json({ success: true, data: { deleted: id } });
  });

  router.delete("/faults", (_req, res) => {
    res.json({ success: true, data: { deleted: deps.faults.clear() } });
  });

  router.get("/rate-limits", (_req, res) => {
    res.json({ success: true, data: deps.rateLimiter.limits() });
  });

  router.put("/rate-limits", (req, res) => {
    const body: unknown = req.body;
    if (!isPlainObject(body) || Object.keys(body).some((key) => key !== "single" && key !== "batch") || Object.keys(body).length === 0) {
      throw new ApiError("REQUEST_INVALID", 'send {"single": {"limit": 10, "windowSeconds": 1}, "batch": {...}} (either part)', {
        details: { path: "" },
      });
    }
    deps.rateLimiter.configure(body as Partial<RateLimits>);
    res.json({ success: true, data: deps.rateLimiter.limits() });
  });

  router.get("/clock", (_req, res) => {
    res.json({ success: true, data: clockView(deps.clock) });
  });

  /** Any of {set, freeze, advance | advanceMs}, applied in that order. */
  router.post("/clock", (req, res) => {
    const body: unknown = req.body ?? {};
    const allowed = ["set", "freeze", "advance", "advanceMs"];
    if (!isPlainObject(body) || Object.keys(body).length === 0 || Object.keys(body).some((key) => !allowed.includes(key))) {
      throw new ApiError("REQUEST_INVALID", 'send any of {"set": "2026-04-21T15:30:00Z", "freeze": true, "advance": "PT24H1S"} or {"advanceMs": 1000}', {
        details: { path: "" },
      });
    }
    const { set, freeze, advance, advanceMs } = body;
    if (advance !== undefined && advanceMs !== undefined) {
      throw new ApiError("REQUEST_INVALID", "advance and advanceMs: give one of them", { details: { path: "advance" } });
    }
    let setTo: number | undefined;
    if (set !== undefined) {
      setTo = typeof set === "string" && /T.*(Z|[+-]\d{2}:\d{2})$/i.test(set) ? Date.parse(set) : Number.NaN;
      if (Number.isNaN(setTo)) {
        throw new ApiError("REQUEST_INVALID", 'set: must be an RFC 3339 timestamp with an offset, like "2026-04-21T15:30:00Z"', {
          details: { path: "set", value: set },
        });
      }
    }
    if (freeze !== undefined && typeof freeze !== "boolean") {
      throw new ApiError("REQUEST_INVALID", "freeze: must be true or false", { details: { path: "freeze", value: freeze } });
    }
    let step = 0;
    if (advance !== undefined) {
      if (typeof advance !== "string") throw new ApiError("REQUEST_INVALID", 'advance: an ISO 8601 duration such as "PT24H1S"', { details: { path: "advance", value: advance } });
      step = parseIsoDuration(advance);
    }
    if (advanceMs !== undefined) {
      if (typeof advanceMs !== "number" || !Number.isFinite(advanceMs) || advanceMs < 0) {
        throw new ApiError("REQUEST_INVALID", "advanceMs: must be a number of milliseconds ≥ 0", { details: { path: "advanceMs", value: advanceMs } });
      }
      step = advanceMs;
    }
    if (setTo !== undefined) deps.clock.set(setTo);
    if (freeze === true) deps.clock.freeze();
    if (freeze === false) deps.clock.unfreeze();
    if (step > 0) deps.clock.advance(step);
    res.json({ success: true, data: clockView(deps.clock) });
  });

  router.get("/journal", (req, res) => {
    const { limit, ...filter } = parseJournalFilter(req.query as Record<string, unknown>);
    res.json({ success: true, data: { entries: deps.journal.query(filter, limit) } });
  });

  router.get("/journal/count", (req, res) => {
    const { limit: _limit, ...filter } = parseJournalFilter(req.query as Record<string, unknown>);
    res.json({ success: true, data: { count: deps.journal.count(filter) } });
  });

  router.delete("/journal", (_req, res) => {
    const cleared = deps.journal.size;
    deps.journal.clear();
    res.json({ success: true, data: { cleared } });
  });
}
