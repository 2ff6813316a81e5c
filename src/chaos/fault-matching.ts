import type { FaultRule } from "../domain/control-plane.js";
import type { OperationName } from "../domain/vocabulary.js";
import { seededRandom } from "./seeded-random.js";

/**
 * Whether a rule applies to a request, and whether its schedule lets it fire this time. Kept
 * apart from the rule store so the counting rules (after → every → times → probability) can be
 * read in one place.
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

/** A rule with what matching it needs prepared once: its path glob compiled, its RNG seeded. */
export interface RuleEntry {
  rule: FaultRule;
  path: RegExp | null;
  random: () => number;
  /** Epoch ms from `schedule.until`; Infinity when the rule has no end. */
  untilMs: number;
}

export function ruleEntry(rule: FaultRule): RuleEntry {
  const { match, schedule } = rule;
  return {
    rule,
    path: match.path === undefined ? null : globToRegExp(match.path),
    random: seededRandom(schedule.seed ?? 1),
    untilMs: schedule.until === undefined ? Infinity : Date.parse(schedule.until),
  };
}

export function matches(entry: RuleEntry, facts: RequestFacts): boolean {
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
export function fires(entry: RuleEntry): boolean {
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
