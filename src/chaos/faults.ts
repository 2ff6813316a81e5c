import type { FaultMatch, FaultRule, FaultSchedule } from "../domain/control-plane.js";
import { labelFor, type AppliedFault } from "./fault-action.js";
import { parseFaultRuleInput } from "./fault-rule-input.js";
import { fires, matches, ruleEntry, type RequestFacts, type RuleEntry } from "./fault-matching.js";

export type { FaultMatch, FaultRule, FaultSchedule, RequestFacts };
// What a fault does, the header's parser, the input checks and the matching live beside this
// file; importers of faults.ts keep one door.
export { faultDelayMs, faultError, type AppliedFault, type FaultAction, type FaultStatus } from "./fault-action.js";
export { parseFaultHeader } from "./fault-header.js";
export { parseFaultPatch, type FaultRulePatch } from "./fault-rule-input.js";

/**
 * Fault rules: what to break, when, and how. Pure — no Express, no I/O — so the HTTP layer asks
 * `pick(facts)` per public request and acts on the answer (delay, status, reset, timeout,
 * malformed body, or fail after the commit), and a test can ask for one fault with the
 * `X-Emulator-Fault` header (parsed in fault-header.ts).
 */
export class FaultRules {
  #entries: RuleEntry[] = [];
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
    const { match, action, schedule, enabled } = parseFaultRuleInput(input);
    if (schedule.forSeconds !== undefined) {
      schedule.until = new Date(this.#now() + Math.round(schedule.forSeconds * 1000)).toISOString();
      delete schedule.forSeconds;
    }

    this.#counter += 1;
    const rule: FaultRule = { id: `flt_${this.#counter}`, enabled, match, action, schedule, matched: 0, hits: 0, source };
    this.#entries.push(ruleEntry(rule));
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
