import type { Router } from "express";
import type { ScenarioRunner } from "../services/scenario-runner.js";
import { ok } from "./respond.js";

/** GET /scenarios (with descriptions and the active one) and POST /scenarios/{name}. */
export function registerScenarioRoutes(router: Router, deps: { scenarios: ScenarioRunner }): void {
  router.get("/scenarios", (_req, res) => {
    ok(res, deps.scenarios.overview());
  });

  router.post("/scenarios/:name", (req, res) => {
    ok(res, deps.scenarios.apply(req.params["name"] ?? ""));
  });
}
