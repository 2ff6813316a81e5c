import type { RequestHandler, Response } from "express";
import type { Clock } from "../runtime/clock.js";
import { ApiError } from "../domain/errors.js";
import type { Scope } from "../domain/vocabulary.js";
import type { TokenRecord, WorkspacesStore } from "../store/workspaces-store.js";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="cdp-emulator"' };
const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

export interface AuthContext {
  token: string;
  workspace: string;
  scopes: Scope[];
}

export function authOf(res: Response): AuthContext {
  const { auth } = res.locals;
  if (!auth) throw new Error("authOf() called before authenticate()");
  return auth;
}

/** Resolves a bearer token to its workspace, or throws the vendor's 401 for why it cannot. */
export function resolveBearer(header: string | undefined, deps: { workspaces: WorkspacesStore; clock: Clock }): AuthContext {
  if (header === undefined || header.trim() === "") {
    throw new ApiError("UNAUTHORIZED", 'Authorization header is missing; send "Authorization: Bearer <token>"', {
      headers: CHALLENGE,
    });
  }
  const match = BEARER.exec(header);
  if (!match?.[1]) {
    throw new ApiError("TOKEN_INVALID", 'Authorization header is malformed; expected "Bearer <token>"', {
      headers: CHALLENGE,
    });
  }
  const record: TokenRecord | undefined = deps.workspaces.findToken(match[1]);
  if (!record) {
    throw new ApiError("TOKEN_INVALID", "The bearer token is not recognised by this emulator", { headers: CHALLENGE });
  }
  if (record.expiresAt !== null && record.expiresAt <= deps.clock.now()) {
    throw new ApiError("TOKEN_EXPIRED", `The bearer token expired at ${new Date(record.expiresAt).toISOString()}`, {
      headers: CHALLENGE,
    });
  }
  return { token: record.token, workspace: record.workspace, scopes: record.scopes };
}

export function authenticate(deps: { workspaces: WorkspacesStore; clock: Clock }): RequestHandler {
  return (req, res, next) => {
    res.locals.auth = resolveBearer(req.get("authorization"), deps);
    next();
  };
}

export function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    const auth = authOf(res);
    if (!auth.scopes.includes(scope)) {
      throw new ApiError(
        "FORBIDDEN",
        `This token lacks the "${scope}" scope (it has: ${auth.scopes.join(", ") || "none"})`,
        { details: { requiredScope: scope } },
      );
    }
    next();
  };
}
