import type { Router } from "express";
import { parseClockMove, parseRateLimitChange, type ChaosControl } from "../services/chaos-control.js";
import { parseJournalFilter, type JournalQueries } from "../services/journal-query.js";
import { ok } from "./respond.js";

/** Faults, rate limits, the clock and the journal: what a test drives and then checks. */
export function registerChaosRoutes(router: Router, deps: { chaos: ChaosControl; journal: JournalQueries }): void {
  const { chaos, journal } = deps;

  router.post("/faults", (req, res) => {
    ok(res, chaos.addFault(req.body), 201);
  });

  router.get("/faults", (_req, res) => {
    ok(res, chaos.listFaults());
  });

  // Switch a rule off and on without losing it (or its counts): {"enabled": false|true}.
  router.patch("/faults/:id", (req, res) => {
    ok(res, chaos.patchFault(req.params["id"] ?? "", req.body));
  });

  router.delete("/faults/:id", (req, res) => {
    ok(res, chaos.removeFault(req.params["id"] ?? ""));
  });

  router.delete("/faults", (_req, res) => {
    ok(res, chaos.clearFaults());
  });

  router.get("/rate-limits", (_req, res) => {
    ok(res, chaos.rateLimits());
  });

  router.put("/rate-limits", (req, res) => {
    ok(res, chaos.setRateLimits(parseRateLimitChange(req.body)));
  });

  router.get("/clock", (_req, res) => {
    ok(res, chaos.clock());
  });

  /** Any of {set, freeze, advance | advanceMs}, applied in that order. */
  router.post("/clock", (req, res) => {
    ok(res, chaos.moveClock(parseClockMove(req.body)));
  });

  router.get("/journal", (req, res) => {
    ok(res, journal.entries(parseJournalFilter(req.query)));
  });

  router.get("/journal/count", (req, res) => {
    ok(res, journal.count(parseJournalFilter(req.query)));
  });

  router.delete("/journal", (_req, res) => {
    ok(res, journal.clear());
  });
}
