import type { Request } from "express";
import { optionalString } from "../domain/paging.js";
import { resolveBearer } from "../http/auth.js";
import type { WorkspaceAdmin } from "../services/workspaces.js";
import type { Clock } from "../runtime/clock.js";
import type { Store } from "../store/store.js";

/** Which workspace a control-plane request is about. */
export type WorkspaceOf = (req: Request) => string;

/**
 * The bearer token's workspace when one is sent (and it must then be a valid token), else
 * `?workspace=`, else `default`; 404 NOT_FOUND for a workspace that does not exist.
 */
export function createWorkspaceOf(deps: { store: Store; clock: Clock; workspaces: WorkspaceAdmin }): WorkspaceOf {
  const bearer = { workspaces: deps.store.workspaces, clock: deps.clock };
  return (req) => {
    const header = req.get("authorization");
    if (header !== undefined) return resolveBearer(header, bearer).workspace;
    return deps.workspaces.require(optionalString(req.query["workspace"], "workspace") ?? "default");
  };
}
