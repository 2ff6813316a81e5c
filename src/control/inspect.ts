import type { Router } from "express";
import type { Clock } from "../runtime/clock.js";
import { findObject } from "../services/objects.js";
import { ApiError } from "../domain/errors.js";
import type { ObjectRegistry } from "../domain/object-schema.js";
import type { Store } from "../store/store.js";
import { workspaceOf } from "./workspaces.js";

/**
 * What the dashboard needs to draw objects and rows without a bearer token: the object
 * definitions, and which identifiers point at a row (the identity index, not the row's fields).
 */
export function registerInspectRoutes(router: Router, deps: { store: Store; objects: ObjectRegistry; clock: Clock }): void {
  router.get("/objects", (_req, res) => {
    const objects = [...deps.objects.values()].map((object) => ({
      objectName: object.objectName,
      primaryKey: object.primaryKey,
      identityKeys: object.identityKeys,
      requiredFields: object.requiredFields,
      collisionPolicy: object.collisionPolicy,
      fields: object.fields.map(({ name, type, format, required, identity }) => ({ name, type, format, required, identity })),
    }));
    res.json({ success: true, data: { objects } });
  });

  /**
   * Per identity field the row holds: its value, every row holding that identifier (the most
   * recent writer first) and whether a lookup by it resolves to this row.
   */
  router.get("/records/:object/:rowId/identifiers", (req, res) => {
    const object = findObject(deps.objects, req.params["object"]);
    const workspace = workspaceOf(req, deps);
    const rowId = req.params["rowId"] ?? "";
    const row = deps.store.records.get(workspace, object.objectName, rowId);
    if (!row) {
      throw new ApiError("NOT_FOUND", `No ${object.objectName} row "${rowId}" in workspace "${workspace}"`, {
        details: { path: "rowId", value: rowId },
      });
    }
    const lookup = deps.store.records.lookup(workspace, object.objectName);
    const identifiers = object.identityKeys.flatMap((field) => {
      const value = row.fields[field];
      if (value === undefined || value === null) return [];
      const holders = lookup.holders(field, value).map((seq) => (seq === row.seq ? row.id : lookup.row(seq).id));
      return [{ field, value, resolvesHere: holders[0] === row.id, holders }];
    });
    res.json({ success: true, data: { rowId: row.id, identifiers } });
  });
}
