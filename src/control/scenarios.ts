import type { Router } from "express";
import type { ScenarioRunner } from "../services/scenario-runner.js";
import { ok } from "./respond.js";

/** GET /scenarios (with descriptions and the active one) and POST /scenarios/{name} (optionally `{workspace}`). */
export function registerScenarioRoutes(router: Router, deps: { scenarios: ScenarioRunner }): void {
  router.get("/scenarios", (_req, res) => {
    ok(res, deps.scenarios.overview());
  });

  router.post("/scenarios/:name", (req, res) => {
    // An optional body `{workspace}` scopes the scenario's fault rules and seed data to that workspace.
    const body: unknown = req.body;
    const workspace = typeof body === "object" && body !== null ? (body as { workspace?: unknown }).workspace : undefined;
    ok(res, deps.scenarios.apply(req.params["name"] ?? "", { workspace }));
  });
}
