import { randomBytes } from "node:crypto";
import { Ajv, type JSONSchemaType, type ValidateFunction } from "ajv";
import type { Request, Router } from "express";
import type { Clock } from "../runtime/clock.js";
import { TOKEN_PATTERN, WORKSPACE_PATTERN } from "../domain/vocabulary.js";
import { ApiError } from "../domain/errors.js";
import { optionalString } from "../domain/paging.js";
import { resolveBearer } from "../http/auth.js";
import type { Store } from "../store/store.js";
import { allScopes, type Scope } from "../domain/vocabulary.js";

interface NewWorkspace {
  name?: string;
}

interface NewToken {
  workspace: string;
  token?: string;
  scopes?: Scope[];
  expiresIn?: number;
}

const newWorkspaceSchema: JSONSchemaType<NewWorkspace> = {
  type: "object",
  properties: { name: { type: "string", pattern: WORKSPACE_PATTERN.source, nullable: true } },
  additionalProperties: false,
};

const newTokenSchema: JSONSchemaType<NewToken> = {
  type: "object",
  required: ["workspace"],
  properties: {
    workspace: { type: "string" },
    // A chosen value lets a test (or a Pact provider state) make the exact token its client sends
    // expired or narrow; omitted, an unguessable one is minted.
    token: { type: "string", pattern: TOKEN_PATTERN.source, minLength: 1, maxLength: 512, nullable: true },
    scopes: { type: "array", items: { type: "string", enum: [...allScopes] }, uniqueItems: true, nullable: true },
    // Ten years at most: beyond that a Date cannot always be printed, and no test needs it.
    expiresIn: { type: "number", exclusiveMinimum: 0, maximum: 315_360_000, nullable: true },
  },
  additionalProperties: false,
};

/** A bearer token nobody will guess or confuse with a configured one. */
const mintToken = (): string => `tok_${randomBytes(18).toString("base64url")}`;
const mintWorkspaceName = (): string => `ws_${randomBytes(6).toString("hex")}`;

/**
 * Workspaces and tokens on demand: one isolated workspace per test file, so parallel suites can
 * share one emulator; narrow or short-lived tokens to exercise 403 FORBIDDEN and 401 TOKEN_EXPIRED.
 */
export function registerWorkspaceRoutes(router: Router, deps: { store: Store; clock: Clock }): void {
  // Compiled on first use: start-up should not pay for endpoints a run may never call.
  let validators: { workspace: ValidateFunction<NewWorkspace>; token: ValidateFunction<NewToken> } | undefined;
  const compiled = () => {
    if (!validators) {
      const ajv = new Ajv({ allErrors: false });
      validators = { workspace: ajv.compile(newWorkspaceSchema), token: ajv.compile(newTokenSchema) };
    }
    return validators;
  };

  router.get("/workspaces", (_req, res) => {
    res.json({ success: true, data: { workspaces: deps.store.workspaces.list() } });
  });

  router.post("/workspaces", (req, res) => {
    const body: unknown = req.body ?? {};
    const checkWorkspace = compiled().workspace;
    if (!checkWorkspace(body)) throw bodyError(checkWorkspace.errors?.[0], 'send {} or {"name": "my-suite"} (letters, digits, - and _, up to 64)');
    const workspace = body.name ?? mintWorkspaceName();
    if (deps.store.workspaces.exists(workspace)) {
      throw new ApiError("WORKSPACE_EXISTS", `Workspace "${workspace}" already exists; pick another name or omit it for a fresh one`, {
        details: { path: "name", value: workspace },
      });
    }
    const token = mintToken();
    deps.store.workspaces.saveToken({ token, workspace, scopes: [...allScopes], expiresAt: null }, deps.clock.now());
    res.status(201).json({ success: true, data: { workspace, token, scopes: [...allScopes], expiresAt: null } });
  });

  router.post("/tokens", (req, res) => {
    const body: unknown = req.body ?? {};
    const checkToken = compiled().token;
    if (!checkToken(body)) {
      throw bodyError(checkToken.errors?.[0], `send {"workspace": "w", "scopes": [${allScopes.map((scope) => `"${scope}"`).join(", ")}], "expiresIn": 60}`);
    }
    if (!deps.store.workspaces.exists(body.workspace)) {
      throw new ApiError("NOT_FOUND", `Workspace "${body.workspace}" does not exist; create it with POST /_emulator/workspaces`, {
        details: { path: "workspace", value: body.workspace },
      });
    }
    const scopes = body.scopes ?? [...allScopes];
    const expiresAt = body.expiresIn === undefined ? null : deps.clock.now() + Math.round(body.expiresIn * 1000);
    const token = body.token ?? mintToken();
    const holder = body.token === undefined ? undefined : deps.store.workspaces.findToken(token)?.workspace;
    if (holder !== undefined && holder !== body.workspace) {
      // Moving it would silently break whoever uses it there (a parallel suite, say).
      throw new ApiError("REQUEST_INVALID", `token: "${token}" belongs to workspace "${holder}"; choose another value`, {
        details: { path: "token", value: token },
      });
    }
    if (deps.store.workspaces.tokenSource(token) === "config") {
      throw new ApiError("REQUEST_INVALID", `token: "${token}" is configured at start (--token); choose another value`, {
        details: { path: "token", value: token },
      });
    }
    deps.store.workspaces.saveToken({ token, workspace: body.workspace, scopes, expiresAt }, deps.clock.now());
    res.status(201).json({
      success: true,
      data: { token, workspace: body.workspace, scopes, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() },
    });
  });
}

function bodyError(error: { instancePath: string; message?: string; params: Record<string, unknown> } | undefined, hint: string): ApiError {
  const path = error?.instancePath ? error.instancePath.slice(1).replaceAll("/", ".") : "";
  const extra = error?.params["additionalProperty"];
  const what = extra ? `"${String(extra)}" is not a field here` : (error?.message ?? "is invalid");
  return new ApiError("REQUEST_INVALID", `${path ? `${path}: ` : ""}${what}; ${hint}`, { details: { path: path || String(extra ?? "") } });
}

/** The bearer token's workspace when one is sent, else `?workspace=`, else `default`. */
export function workspaceOf(req: Request, deps: { store: Store; clock: Clock }): string {
  const header = req.get("authorization");
  if (header !== undefined) return resolveBearer(header, { workspaces: deps.store.workspaces, clock: deps.clock }).workspace;
  const workspace = optionalString(req.query["workspace"], "workspace") ?? "default";
  if (!deps.store.workspaces.exists(workspace)) {
    throw new ApiError("NOT_FOUND", `Workspace "${workspace}" does not exist`, {
      details: { path: "workspace", value: workspace },
    });
  }
  return workspace;
}
