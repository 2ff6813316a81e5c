import { randomBytes } from "node:crypto";
import type { JSONSchemaType } from "ajv";
import { ApiError } from "../domain/errors.js";
import { schemaCheck } from "../domain/schema-check.js";
import { allScopes, TOKEN_PATTERN, WORKSPACE_PATTERN, type Scope } from "../domain/vocabulary.js";
import type { Clock } from "../runtime/clock.js";
import type { Store } from "../store/store.js";
import { invalidBody } from "./invalid-body.js";

/**
 * Workspaces and tokens on demand: one isolated workspace per test file, so parallel suites can
 * share one emulator; narrow or short-lived tokens to exercise 403 FORBIDDEN and 401 TOKEN_EXPIRED.
 */

export interface NewWorkspace {
  name?: string;
}

export interface NewToken {
  workspace: string;
  token?: string;
  scopes?: Scope[];
  expiresIn?: number;
}

export interface MintedToken {
  token: string;
  workspace: string;
  scopes: Scope[];
  /** ISO time on the emulator clock; null for a token that never expires. */
  expiresAt: string | null;
}

const WORKSPACE_RULE = "must be 1-64 letters, digits, - or _";

const isNewWorkspace = schemaCheck<NewWorkspace>(
  {
    type: "object",
    properties: { name: { type: "string", pattern: WORKSPACE_PATTERN.source, nullable: true } },
    additionalProperties: false,
  } satisfies JSONSchemaType<NewWorkspace>,
  { messages: { "#/properties/name/pattern": WORKSPACE_RULE } },
);

const isNewToken = schemaCheck<NewToken>(
  {
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
  } satisfies JSONSchemaType<NewToken>,
  { messages: { "#/properties/token/pattern": "must be a bearer token: letters, digits and - . _ ~ + /, then any = padding" } },
);

const WORKSPACE_HINT = 'send {} or {"name": "my-suite"} (letters, digits, - and _, up to 64)';
const TOKEN_HINT = `send {"workspace": "w", "scopes": [${allScopes.map((scope) => `"${scope}"`).join(", ")}], "expiresIn": 60}`;

/** POST /_emulator/workspaces's body, checked; 400 REQUEST_INVALID naming the field. */
export function parseNewWorkspace(body: unknown): NewWorkspace {
  if (!isNewWorkspace(body)) throw invalidBody(isNewWorkspace.problem(body), WORKSPACE_HINT);
  return body;
}

/** POST /_emulator/tokens's body, checked; 400 REQUEST_INVALID naming the field. */
export function parseNewToken(body: unknown): NewToken {
  if (!isNewToken(body)) throw invalidBody(isNewToken.problem(body), TOKEN_HINT);
  return body;
}

/** 404 NOT_FOUND for a workspace name that none has. */
export const noSuchWorkspace = (workspace: string): ApiError =>
  new ApiError("NOT_FOUND", `Workspace "${workspace}" does not exist`, { details: { path: "workspace", value: workspace } });

/** A bearer token nobody will guess or confuse with a configured one. */
const mintTokenValue = (): string => `tok_${randomBytes(18).toString("base64url")}`;
const mintWorkspaceName = (): string => `ws_${randomBytes(6).toString("hex")}`;

export class WorkspaceAdmin {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(deps: { store: Store; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
  }

  list(): string[] {
    return this.#store.workspaces.list();
  }

  /** The workspace when it exists, else 404 NOT_FOUND naming it. */
  require(workspace: string): string {
    if (!this.#store.workspaces.exists(workspace)) throw noSuchWorkspace(workspace);
    return workspace;
  }

  /** A new workspace (named, or a fresh name) and a token for it holding every scope. */
  create(input: NewWorkspace): MintedToken {
    const workspace = input.name ?? mintWorkspaceName();
    if (this.#store.workspaces.exists(workspace)) {
      throw new ApiError("WORKSPACE_EXISTS", `Workspace "${workspace}" already exists; pick another name or omit it for a fresh one`, {
        details: { path: "name", value: workspace },
      });
    }
    const token = mintTokenValue();
    this.#store.workspaces.saveToken({ token, workspace, scopes: [...allScopes], expiresAt: null }, this.#clock.now());
    return { workspace, token, scopes: [...allScopes], expiresAt: null };
  }

  /** A token for an existing workspace: a chosen value or a minted one, all scopes unless narrowed. */
  mintToken(input: NewToken): MintedToken {
    const { workspaces } = this.#store;
    if (!workspaces.exists(input.workspace)) {
      throw new ApiError("NOT_FOUND", `Workspace "${input.workspace}" does not exist; create it with POST /_emulator/workspaces`, {
        details: { path: "workspace", value: input.workspace },
      });
    }
    const scopes = input.scopes ?? [...allScopes];
    const expiresAt = input.expiresIn === undefined ? null : this.#clock.now() + Math.round(input.expiresIn * 1000);
    const token = input.token ?? mintTokenValue();
    const holder = input.token === undefined ? undefined : workspaces.findToken(token)?.workspace;
    if (holder !== undefined && holder !== input.workspace) {
      // Moving it would silently break whoever uses it there (a parallel suite, say).
      throw new ApiError("REQUEST_INVALID", `token: "${token}" belongs to workspace "${holder}"; choose another value`, {
        details: { path: "token", value: token },
      });
    }
    if (workspaces.tokenSource(token) === "config") {
      throw new ApiError("REQUEST_INVALID", `token: "${token}" is configured at start (--token); choose another value`, {
        details: { path: "token", value: token },
      });
    }
    workspaces.saveToken({ token, workspace: input.workspace, scopes, expiresAt }, this.#clock.now());
    return { token, workspace: input.workspace, scopes, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() };
  }
}
