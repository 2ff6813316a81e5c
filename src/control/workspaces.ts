import type { Router } from "express";
import { parseNewToken, parseNewWorkspace, type WorkspaceAdmin } from "../services/workspaces.js";
import { ok } from "./respond.js";

/** GET and POST /workspaces, POST /tokens: isolated workspaces, and tokens narrow or short-lived. */
export function registerWorkspaceRoutes(router: Router, deps: { workspaces: WorkspaceAdmin }): void {
  const { workspaces } = deps;

  router.get("/workspaces", (_req, res) => {
    ok(res, { workspaces: workspaces.list() });
  });

  router.post("/workspaces", (req, res) => {
    ok(res, workspaces.create(parseNewWorkspace(req.body ?? {})), 201);
  });

  router.post("/tokens", (req, res) => {
    ok(res, workspaces.mintToken(parseNewToken(req.body ?? {})), 201);
  });
}
