import type { Router } from "express";
import { ApiError } from "../domain/errors.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import { optionalString, parsePageRequest } from "../domain/paging.js";
import { jobStates, type JobState } from "../domain/vocabulary.js";
import type { Inspection } from "../services/inspection.js";
import { findObject } from "../services/objects.js";
import { parseRecordListQuery } from "./record-query.js";
import { ok } from "./respond.js";
import type { WorkspaceOf } from "./workspace-of.js";

export interface InspectRouteDeps {
  objects: ObjectRegistry;
  inspection: Inspection;
  workspaceOf: WorkspaceOf;
}

/**
 * What the dashboard and a test read without a bearer token: the object definitions, a
 * workspace's rows, collisions and jobs, and which identifiers point at a row (the identity
 * index, not the row's fields).
 */
export function registerInspectRoutes(router: Router, deps: InspectRouteDeps): void {
  const { objects, inspection, workspaceOf } = deps;

  router.get("/objects", (_req, res) => {
    ok(res, inspection.objects());
  });

  router.get("/records/:object", (req, res) => {
    const object = findObject(objects, req.params["object"]);
    const workspace = workspaceOf(req);
    ok(res, inspection.listRecords(parseRecordListQuery(req.query, { workspace, object })));
  });

  router.get("/records/:object/:rowId", (req, res) => {
    const object = findObject(objects, req.params["object"]);
    ok(res, inspection.getRecord({ workspace: workspaceOf(req), object, rowId: req.params["rowId"] ?? "" }));
  });

  router.get("/records/:object/:rowId/identifiers", (req, res) => {
    const object = findObject(objects, req.params["object"]);
    ok(res, inspection.identifiers({ workspace: workspaceOf(req), object, rowId: req.params["rowId"] ?? "" }));
  });

  router.get("/identity/collisions", (req, res) => {
    const workspace = workspaceOf(req);
    const object = optionalString(req.query["object"], "object");
    if (object !== undefined) findObject(objects, object);
    ok(res, inspection.collisions({ workspace, object, page: parsePageRequest(req.query) }));
  });

  router.get("/jobs", (req, res) => {
    const workspace = workspaceOf(req);
    const state = jobState(req.query["state"]);
    ok(res, inspection.jobs({ workspace, state, page: parsePageRequest(req.query) }));
  });
}

function jobState(raw: unknown): JobState | undefined {
  const text = optionalString(raw, "state");
  if (text === undefined) return undefined;
  const state = jobStates.find((candidate) => candidate === text);
  if (state === undefined) {
    throw new ApiError("REQUEST_INVALID", `state: must be one of ${jobStates.join(", ")}`, { details: { path: "state", value: text } });
  }
  return state;
}
