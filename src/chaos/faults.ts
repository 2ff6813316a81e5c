import type { FaultMatch, FaultRule, FaultSchedule } from "../domain/control-plane.js";

export type { FaultMatch, FaultRule, FaultSchedule };
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { OperationName } from "../domain/vocabulary.js";
import { ApiError, type ErrorDetails } from "../domain/errors.js";
import { MAX_MS, checkAction, faultStatuses, labelFor, type AppliedFault, type FaultAction, type Problem } from "./fault-action.js";
import { seededRandom } from "./seeded-random.js";

// What a fault does and the header's parser live beside this file; importers of faults.ts keep one door.
export { faultDelayMs, faultError, type AppliedFault, type FaultAction, type FaultStatus } from "./fault-action.js";
export { parseFaultHeader } from "./fault-header.js";

/**
 * Fault rules: what to break, when, and how. Pure — no Express, no I/O, no clock — so the HTTP
 * layer asks `pick(facts)` per public request and acts on the answer (delay, status, reset,
 * timeout, malformed body, or fail after the commit), and a test can ask for one fault with the
 * `X-Emulator-Fault` header (parsed in fault-header.ts).
 */




export interface RequestFacts {
  operation: OperationName | null;
  object: string | null;
  method: string;
  path: string;
  header(name: string): string | undefined;
  workspace: string | null;
  idempotencyKey: string | null;
}

// A Record so the compiler notices when an operation is added and not listed here.
const knownOperations: Record<OperationName, true> = {
  append: true,
  upsert: true,
  "append-batch": true,
  "upsert-batch": true,
  "job-status": true,
  metadata: true,
};
const operationNames = Object.keys(knownOperations);

const millis = { type: "integer", minimum: 0, maximum: MAX_MS };
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

interface FaultRuleInput {
  match?: FaultMatch;
  action: FaultAction;
  schedule?: FaultSchedule;
  enabled?: boolean;
}

/** What PATCH /_emulator/faults/:id may change. */
export interface FaultRulePatch {
  enabled: boolean;
}

const ruleSchema = {
  type: "object",
  required: ["action"],
  additionalProperties: false,
  properties: {
    enabled: { type: "boolean" },
    match: {
      type: "object",
      additionalProperties: false,
      properties: {
        operation: { type: "string", enum: operationNames },
        object: { type: "string", minLength: 1 },
        method: { type: "string", pattern: "^[A-Za-z]+$" },
        path: { type: "string", minLength: 1 },
        header: { type: "object", additionalProperties: { type: "string" } },
        workspace: { type: "string", minLength: 1 },
        idempotencyKey: { type: "string", minLength: 1 },
      },
    },
    action: {
      type: "object",
      additionalProperties: false,
      properties: {
        status: { type: "integer", enum: faultStatuses },
        retryAfter: { type: "number", minimum: 0 },
        delayMs: millis,
        jitterMs: millis,
        reset: { type: "boolean" },
        timeout: {
          type: "object",
          required: ["holdMs", "then"],
          additionalProperties: false,
          properties: { holdMs: millis, then: { enum: [504, "drop"] } },
        },
        malformed: { type: "boolean" },
        afterCommit: { type: "boolean" },
      },
    },
    schedule: {
      type: "object",
      additionalProperties: false,
      properties: {
        times: { type: "integer", minimum: 1 },
        after: { type: "integer", minimum: 0 },
        every: { type: "integer", minimum: 1 },
        probability: { type: "number", minimum: 0, maximum: 1 },
        seed: { type: "integer" },
        until: { type: "string", minLength: 1 },
        forSeconds: { type: "number", exclusiveMinimum: 0, maximum: 1_000_000_000 },
      },
    },
  },
};

// Compiled on first use, not at import: compiling was an eighth of the emulator's start-up, and
// most runs never add a fault rule.
let compiledRuleCheck: ValidateFunction<FaultRuleInput> | undefined;
const ruleCheck = (): ValidateFunction<FaultRuleInput> =>
  (compiledRuleCheck ??= new Ajv({ allErrors: false, strict: true, verbose: true }).compile<FaultRuleInput>(ruleSchema));

const patchSchema = {
  type: "object",
  required: ["enabled"],
  additionalProperties: false,
  properties: { enabled: { type: "boolean" } },
};
let compiledPatchCheck: ValidateFunction<FaultRulePatch> | undefined;
const patchCheck = (): ValidateFunction<FaultRulePatch> =>
  (compiledPatchCheck ??= new Ajv({ allErrors: false, strict: true, verbose: true }).compile<FaultRulePatch>(patchSchema));

/** Checks a PATCH body, `{"enabled": true|false}`; throws REQUEST_INVALID naming the field at fault. */
export function parseFaultPatch(input: unknown): FaultRulePatch {
  const check = patchCheck();
  if (!check(input)) throw invalid(describeSchemaError(check.errors?.[0]));
  return { enabled: input.enabled };
}

interface Entry {
  rule: FaultRule;
  path: RegExp | null;
  random: () => number;
  /** Epoch ms from `schedule.until`; Infinity when the rule has no end. */
  untilMs: number;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

export class FaultRules {
  #entries: Entry[] = [];
  #counter = 0;
  /** Read only by rules with an end (`until`), so the rest stays pure. */
  readonly #now: () => number;

  /** `clock` is the emulator clock that a rule's `until` is measured on. */
  constructor(options: { clock?: { now(): number } } = {}) {
    const clock = options.clock;
    this.#now = clock ? () => clock.now() : () => Date.now();
  }

  /** Validates `{match?, action, schedule?}` and appends the rule; throws REQUEST_INVALID naming the field at fault. */
  add(input: unknown, source = "api"): FaultRule {
    const checkRuleInput = ruleCheck();
    if (!checkRuleInput(input)) throw invalid(describeSchemaError(checkRuleInput.errors?.[0]));
    const match = structuredClone(input.match ?? {});
    const action = structuredClone(input.action);
    const schedule = structuredClone(input.schedule ?? {});
    const problem = checkMatch(match) ?? checkAction(action) ?? checkSchedule(schedule);
    if (problem) throw invalid(problem);
    if (schedule.forSeconds !== undefined) {
      schedule.until = new Date(this.#now() + Math.round(schedule.forSeconds * 1000)).toISOString();
      delete schedule.forSeconds;
    }

    this.#counter += 1;
    const rule: FaultRule = { id: `flt_${this.#counter}`, enabled: input.enabled ?? true, match, action, schedule, matched: 0, hits: 0, source };
    this.#entries.push({
      rule,
      path: match.path === undefined ? null : globToRegExp(match.path),
      random: seededRandom(schedule.seed ?? 1),
      untilMs: schedule.until === undefined ? Infinity : Date.parse(schedule.until),
    });
    return structuredClone(rule);
  }

  list(): FaultRule[] {
    return this.#entries.map((entry) => structuredClone(entry.rule));
  }

  get(id: string): FaultRule | undefined {
    const entry = this.#entries.find((candidate) => candidate.rule.id === id);
    return entry ? structuredClone(entry.rule) : undefined;
  }

  /** Switches a rule off or on again; returns it as it now is, or undefined when there is no such rule. */
  setEnabled(id: string, enabled: boolean): FaultRule | undefined {
    const entry = this.#entries.find((candidate) => candidate.rule.id === id);
    if (!entry) return undefined;
    entry.rule.enabled = enabled;
    return structuredClone(entry.rule);
  }

  remove(id: string): boolean {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((entry) => entry.rule.id !== id);
    return this.#entries.length < before;
  }

  /** Removes every rule, or those the predicate picks; returns how many went. */
  clear(predicate?: (rule: FaultRule) => boolean): number {
    const before = this.#entries.length;
    this.#entries = predicate ? this.#entries.filter((entry) => !predicate(structuredClone(entry.rule))) : [];
    return before - this.#entries.length;
  }

  /**
   * First rule (in insertion order) whose match fits AND whose schedule fires; a rule whose match
   * fits but whose schedule does not fire is counted (matched++) and the search continues to the
   * next rule. Rules after the one that fires do not see the request. A disabled rule is passed
   * over before its match is tried, so it counts nothing. Returns null when none fires.
   */
  pick(facts: RequestFacts): AppliedFault | null {
    let now: number | undefined;
    for (const entry of this.#entries) {
      if (!entry.rule.enabled) continue;
      if (entry.untilMs !== Infinity && (now ??= this.#now()) >= entry.untilMs) continue;
      if (!matches(entry, facts)) continue;
      if (!fires(entry)) continue;
      const { id, action } = entry.rule;
      return { ruleId: id, action: structuredClone(action), label: labelFor(action, id) };
    }
    return null;
  }
}

function matches(entry: Entry, facts: RequestFacts): boolean {
  const match = entry.rule.match;
  if (match.operation !== undefined && facts.operation !== match.operation) return false;
  if (match.object !== undefined && facts.object !== match.object) return false;
  if (match.method !== undefined && facts.method.toUpperCase() !== match.method.toUpperCase()) return false;
  if (match.workspace !== undefined && facts.workspace !== match.workspace) return false;
  if (match.idempotencyKey !== undefined && facts.idempotencyKey !== match.idempotencyKey) return false;
  if (entry.path && !entry.path.test(withoutQuery(facts.path))) return false;
  if (match.header) {
    for (const [name, value] of Object.entries(match.header)) {
      if (facts.header(name.toLowerCase()) !== value) return false;
    }
  }
  return true;
}

/** Counts the match, then decides: after → every → times → probability (the RNG moves only when reached). */
function fires(entry: Entry): boolean {
  const rule = entry.rule;
  const { after, every, times, probability } = rule.schedule;
  rule.matched += 1;
  const n = rule.matched;
  if (after !== undefined && n <= after) return false;
  if (every !== undefined && (n - (after ?? 0)) % every !== 0) return false;
  if (times !== undefined && rule.hits >= times) return false;
  if (probability !== undefined && !(entry.random() < probability)) return false;
  rule.hits += 1;
  return true;
}

function withoutQuery(path: string): string {
  const question = path.indexOf("?");
  return question < 0 ? path : path.slice(0, question);
}

function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let index = 0; index < glob.length; index += 1) {
    const char = glob.charAt(index);
    if (char === "*" && glob.charAt(index + 1) === "*") {
      source += ".*";
      index += 1;
    } else if (char === "*") {
      source += "[^/]*";
    } else if (char === "?") {
      source += "[^/]";
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}

function checkMatch(match: FaultMatch): Problem | null {
  if (match.path !== undefined && !/^[/*]/.test(match.path)) {
    return {
      path: "match.path",
      message: "must start with / or * (it is matched against the whole path, e.g. /public/v1/records/*/append)",
      value: match.path,
    };
  }
  for (const name of Object.keys(match.header ?? {})) {
    if (!HEADER_NAME.test(name)) {
      return { path: `match.header.${name}`, message: "is not a valid header name", value: name };
    }
  }
  return null;
}

function checkSchedule(schedule: FaultSchedule): Problem | null {
  if (schedule.until !== undefined && schedule.forSeconds !== undefined) {
    return { path: "schedule.forSeconds", message: "give until or forSeconds, not both", value: schedule.forSeconds };
  }
  if (schedule.until !== undefined && !(RFC3339.test(schedule.until) && !Number.isNaN(Date.parse(schedule.until)))) {
    return {
      path: "schedule.until",
      message: 'must be an RFC 3339 timestamp with an offset, like "2026-04-21T15:30:00Z"',
      value: schedule.until,
    };
  }
  return null;
}

function invalid(problem: Problem): ApiError {
  const details: ErrorDetails = { path: problem.path };
  if (problem.value !== undefined) details.value = problem.value;
  return new ApiError("REQUEST_INVALID", `${problem.path}: ${problem.message}`, { details });
}

function describeSchemaError(error: ErrorObject | undefined): Problem {
  if (!error) return { path: "(top level)", message: "is not a fault rule" };
  const at = error.instancePath
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .join(".");
  const join = (child: string): string => (at ? `${at}.${child}` : child);
  const path = at || "(top level)";
  const data: unknown = error.data;
  switch (error.keyword) {
    case "required":
      return { path: join(String(error.params["missingProperty"])), message: "is required" };
    case "additionalProperties": {
      const extra = String(error.params["additionalProperty"]);
      const properties = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
      const allowed = Object.keys(properties ?? {}).join(", ");
      const value = data !== null && typeof data === "object" ? (data as Record<string, unknown>)[extra] : undefined;
      return { path: join(extra), message: `is not a known field; use ${allowed}`, value };
    }
    case "enum": {
      const allowed = (error.params["allowedValues"] as unknown[]).map((value) => String(value)).join(", ");
      return { path, message: `must be one of ${allowed}`, value: data };
    }
    case "type": {
      const type = String(error.params["type"]);
      const article = /^[aeiou]/.test(type) ? "an" : "a";
      return { path, message: `must be ${article} ${type}`, value: data };
    }
    case "minimum":
      return { path, message: `must be at least ${String(error.params["limit"])}`, value: data };
    case "maximum":
      return { path, message: `must be at most ${String(error.params["limit"])}`, value: data };
    case "exclusiveMinimum":
      return { path, message: `must be more than ${String(error.params["limit"])}`, value: data };
    case "minLength":
      return { path, message: "must not be empty", value: data };
    case "pattern":
      return { path, message: "must be an HTTP method name, like POST", value: data };
    default:
      return { path, message: error.message ?? "is invalid", value: data };
  }
}

