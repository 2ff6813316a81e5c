import { allScopes } from "../domain/vocabulary.js";
import { encodeCursor } from "../domain/paging.js";
import type { ControlClient } from "../testing/control-client.js";

/**
 * The provider states the emulator can set up for a Pact verification: a documented, reusable
 * set of sentences that any consumer of the CDP Records API may write in `given(...)`. Each is
 * matched by pattern (so "profile bob@example.com exists" works as well as the Jane example) and
 * set up through the control plane only, as an outside test would. Some return values for
 * `fromProviderState(...)` expressions, e.g. the id of a job the emulator created.
 */

export type StateParams = Record<string, unknown>;
export type StateValues = Record<string, string | number | boolean | null>;

export interface ProviderStateDefinition {
  /** The sentence as docs/contract-testing.md documents it, with <placeholders>. */
  sentence: string;
  pattern: RegExp;
  /** What `fromProviderState` can use, and the params it reads. */
  provides?: string;
  params?: string;
  setup(context: { control: ControlClient; match: RegExpExecArray; params: StateParams }): Promise<StateValues | undefined>;
}

/** The token a narrow or expired state makes when the interaction's params name none. */
export const DEFAULT_EXPIRED_TOKEN = "expired-token";
export const DEFAULT_NARROW_TOKEN = "narrow-token";
const ALL_SCOPES: string[] = [...allScopes];

const stringParam = (params: StateParams, name: string): string | undefined =>
  typeof params[name] === "string" ? params[name] : undefined;
const recordParam = (params: StateParams, name: string): Record<string, unknown> =>
  typeof params[name] === "object" && params[name] !== null && !Array.isArray(params[name]) ? (params[name] as Record<string, unknown>) : {};
const workspaceParam = (params: StateParams): string => stringParam(params, "workspace") ?? "default";

/** Rows that fail validation on purpose, to give a job its invalid rows. */
const invalidProfile = (index: number): Record<string, unknown> => ({ email: `not-an-email-${index}` });
const validProfile = (index: number): Record<string, unknown> => ({ email: `row${index}@example.com`, tier: "gold" });

/**
 * A profiles upsert-batch job run to its end (the job patterns admit profiles only): its id is
 * the emulator's, so the states return it for `fromProviderState`.
 */
async function makeJob(control: ControlClient, options: { valid: number; invalid: number; workspace: string }) {
  const records = [
    ...Array.from({ length: options.valid }, (_, index) => validProfile(index)),
    ...Array.from({ length: options.invalid }, (_, index) => invalidProfile(index)),
  ];
  return control.jobs.create({ object: "profiles", operation: "upsert-batch", records, matchKey: "email", workspace: options.workspace });
}

export const providerStates: readonly ProviderStateDefinition[] = [
  {
    sentence: "profile <email> exists",
    pattern: /^(?:a )?profile (\S+@\S+) exists$/i,
    params: "record (more fields for the row), workspace",
    async setup({ control, match, params }) {
      await control.records.put("profiles", [{ ...recordParam(params, "record"), email: match[1] }], workspaceParam(params));
      return undefined;
    },
  },
  {
    sentence: "<object> record with <field> <value> exists",
    pattern: /^(?:an? )?(\w+) record with (\w+) (\S+) exists$/i,
    params: "record (more fields for the row), workspace",
    async setup({ control, match, params }) {
      const [, object = "", field = "", value = ""] = match;
      await control.records.put(object, [{ ...recordParam(params, "record"), [field]: value }], workspaceParam(params));
      return undefined;
    },
  },
  {
    sentence: "no profile <email> exists",
    pattern: /^no (\w+?) (\S+) exists$/i,
    // Every interaction starts from an empty emulator, so there is nothing to remove.
    setup: async () => undefined,
  },
  {
    sentence: "job <label> completed with <n> invalid row(s)",
    // Profiles jobs only (their valid and invalid rows are made up here): "orders job …" is not a
    // state this emulator knows, and verify says so before starting rather than failing mid-run.
    pattern: /^(?:a |the )?(?:(profiles) )?job (\S+) completed with (\d+) invalid rows?$/i,
    provides: "jobId, object, secondPageCursor (the errors page after the first row, when n ≥ 2)",
    params: "valid (valid rows besides the invalid ones, default 1), workspace",
    async setup({ control, match, params }) {
      const invalid = Number(match[3]);
      const valid = typeof params["valid"] === "number" ? params["valid"] : 1;
      const job = await makeJob(control, { valid, invalid, workspace: workspaceParam(params) });
      // Valid rows come first, so the second invalid row is at index valid + 1; an errors page
      // cursor is the position of the first row it returns.
      return { jobId: job.jobId, object: "profiles", secondPageCursor: invalid >= 2 ? encodeCursor(valid + 1) : null };
    },
  },
  {
    sentence: "job <label> completed",
    pattern: /^(?:a |the )?(?:(profiles) )?job (\S+) completed$/i,
    provides: "jobId, object",
    params: "valid (rows, default 2), workspace",
    async setup({ control, params }) {
      const valid = typeof params["valid"] === "number" ? params["valid"] : 2;
      const job = await makeJob(control, { valid, invalid: 0, workspace: workspaceParam(params) });
      return { jobId: job.jobId, object: "profiles" };
    },
  },
  {
    sentence: "job <label> is queued",
    pattern: /^(?:a |the )?(?:(profiles) )?job (\S+) is (?:queued|still processing|processing)$/i,
    provides: "jobId, object",
    async setup({ control, params }) {
      await control.jobs.hold();
      const job = await makeJob(control, { valid: 1, invalid: 0, workspace: workspaceParam(params) });
      return { jobId: job.jobId, object: "profiles" };
    },
  },
  {
    sentence: "token is expired",
    pattern: /^(?:the )?token(?: (\S+))? (?:is|has) expired$/i,
    params: `token (default "${DEFAULT_EXPIRED_TOKEN}"), workspace`,
    async setup({ control, match, params }) {
      const token = match[1] ?? stringParam(params, "token") ?? DEFAULT_EXPIRED_TOKEN;
      await control.workspaces.mintToken({ workspace: workspaceParam(params), token, scopes: ALL_SCOPES, expiresIn: 0.001 });
      // Expiry is on the emulator clock, which runs: two milliseconds and the token is past it.
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { token };
    },
  },
  {
    sentence: "token lacks the <scope> scope",
    pattern: /^(?:the )?token(?: (\S+))? lacks the (records:write|records:read|metadata:read) scope$/i,
    params: `token (default "${DEFAULT_NARROW_TOKEN}"), workspace`,
    async setup({ control, match, params }) {
      const token = match[1] ?? stringParam(params, "token") ?? DEFAULT_NARROW_TOKEN;
      const scopes = ALL_SCOPES.filter((scope) => scope !== match[2]);
      await control.workspaces.mintToken({ workspace: workspaceParam(params), token, scopes });
      return { token };
    },
  },
  {
    sentence: "token is unknown",
    pattern: /^(?:the )?token(?: (\S+))? is (?:unknown|invalid|revoked)$/i,
    // Tokens of interactions in this state are not configured for the run (see collectTokens).
    setup: async () => undefined,
  },
  {
    sentence: "the next <operation> races another write",
    pattern: /^the next (append|upsert|append-batch|upsert-batch) races another write$/i,
    async setup({ control, match }) {
      await control.faults.add({ match: { operation: match[1]?.toLowerCase() }, action: { status: 409 }, schedule: { times: 1 } });
      return undefined;
    },
  },
  {
    sentence: "the single-write quota is spent",
    pattern: /^the (single-write|batch) quota is (?:spent|exhausted)$/i,
    params: "retryAfter (seconds, default 2)",
    async setup({ control, match, params }) {
      const retryAfter = typeof params["retryAfter"] === "number" ? params["retryAfter"] : 2;
      const operations = match[1]?.toLowerCase() === "batch" ? ["append-batch", "upsert-batch"] : ["append", "upsert"];
      for (const operation of operations) {
        await control.faults.add({ match: { operation }, action: { status: 429, retryAfter } });
      }
      return undefined;
    },
  },
  {
    sentence: "the service is in a maintenance window",
    pattern: /^the service is (?:in a maintenance window|unavailable)$/i,
    params: "retryAfter (seconds, default 30)",
    async setup({ control, params }) {
      const retryAfter = typeof params["retryAfter"] === "number" ? params["retryAfter"] : 30;
      await control.faults.add({ action: { status: 503, retryAfter } });
      return undefined;
    },
  },
  {
    sentence: "scenario <name> is active",
    pattern: /^(?:the )?scenario (\S+) is active$/i,
    async setup({ control, match }) {
      await control.applyScenario(match[1] ?? "");
      return undefined;
    },
  },
];

/** Token-changing states: the bearer token of their interactions must not be made valid. */
const TOKEN_STATE = /^(?:the )?token\b/i;

export function findProviderState(name: string): { definition: ProviderStateDefinition; match: RegExpExecArray } | undefined {
  for (const definition of providerStates) {
    const match = definition.pattern.exec(name.trim());
    if (match) return { definition, match };
  }
  return undefined;
}

export function isTokenState(name: string): boolean {
  return TOKEN_STATE.test(name.trim());
}
