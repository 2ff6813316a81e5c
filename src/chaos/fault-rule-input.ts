import type { FaultMatch, FaultSchedule } from "../domain/control-plane.js";
import { ApiError, type ErrorDetails } from "../domain/errors.js";
import { schemaCheck } from "../domain/schema-check.js";
import type { OperationName } from "../domain/vocabulary.js";
import { MAX_MS, checkAction, faultStatuses, type FaultAction, type Problem } from "./fault-action.js";

/**
 * What POST /_emulator/faults and PATCH /_emulator/faults/:id accept, and the sentences that
 * refuse the rest. A scenario file's rules come through here too, so a bad rule reads the same
 * whichever way it arrived.
 */

export interface FaultRuleInput {
  match?: FaultMatch;
  action: FaultAction;
  schedule?: FaultSchedule;
  enabled?: boolean;
}

/** A rule's parts once checked: copies the caller's object no longer shares. */
export interface ParsedFaultRule {
  match: FaultMatch;
  action: FaultAction;
  schedule: FaultSchedule;
  enabled: boolean;
}

/** What PATCH /_emulator/faults/:id may change. */
export interface FaultRulePatch {
  enabled: boolean;
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

const millis = { type: "integer", minimum: 0, maximum: MAX_MS };
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;
/** Where a problem with the whole body is reported: `details.path` is never empty here. */
const TOP_LEVEL = "(top level)";

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
        operation: { type: "string", enum: Object.keys(knownOperations) },
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

const isRuleInput = schemaCheck<FaultRuleInput>(ruleSchema, {
  messages: { "#/properties/match/properties/method/pattern": "must be an HTTP method name, like POST" },
});

const isPatch = schemaCheck<FaultRulePatch>({
  type: "object",
  required: ["enabled"],
  additionalProperties: false,
  properties: { enabled: { type: "boolean" } },
});

/** Checks a PATCH body, `{"enabled": true|false}`; throws REQUEST_INVALID naming the field at fault. */
export function parseFaultPatch(input: unknown): FaultRulePatch {
  if (!isPatch(input)) throw invalid(isPatch.problem(input));
  return { enabled: input.enabled };
}

/**
 * Checks `{match?, action, schedule?, enabled?}` and returns private copies of its parts; throws
 * REQUEST_INVALID naming the field at fault. The schema goes first, then what it cannot say.
 */
export function parseFaultRuleInput(input: unknown): ParsedFaultRule {
  if (!isRuleInput(input)) throw invalid(isRuleInput.problem(input));
  const match = structuredClone(input.match ?? {});
  const action = structuredClone(input.action);
  const schedule = structuredClone(input.schedule ?? {});
  const problem = checkMatch(match) ?? checkAction(action) ?? checkSchedule(schedule);
  if (problem) throw invalid(problem);
  return { match, action, schedule, enabled: input.enabled ?? true };
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

function invalid(problem: Problem | undefined): ApiError {
  const path = problem?.path || TOP_LEVEL;
  const message = problem?.message ?? "is not a fault rule";
  const details: ErrorDetails = { path };
  if (problem?.value !== undefined) details.value = problem.value;
  return new ApiError("REQUEST_INVALID", `${path}: ${message}`, { details });
}
