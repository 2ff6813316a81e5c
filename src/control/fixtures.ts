import type { Router } from "express";
import type { ObjectRegistry } from "../domain/object-schema.js";
import { parseFixtureJob, parseFixtureRecords, type Fixtures } from "../services/fixtures.js";
import { findObject } from "../services/objects.js";
import { ok } from "./respond.js";

/**
 * POST /records/{object} and POST /jobs: exact fixtures for tests and Pact provider states,
 * written without the public pipeline (see services/fixtures.ts).
 */
export function registerFixtureRoutes(router: Router, deps: { objects: ObjectRegistry; fixtures: Fixtures }): void {
  const { objects, fixtures } = deps;

  // {records, workspace?}: upserted by the object's primary key when they hold one, else appended.
  router.post("/records/:object", (req, res) => {
    const object = findObject(objects, req.params["object"]);
    ok(res, fixtures.putRecords(object, parseFixtureRecords(req.body)), 201);
  });

  // {object, operation, records, matchKey?, workspace?}: a batch job, answered once it has run.
  router.post("/jobs", async (req, res) => {
    ok(res, await fixtures.runJob(parseFixtureJob(req.body, objects)), 201);
  });
}
