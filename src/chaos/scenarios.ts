import { StartupError } from "../domain/startup-error.js";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { ApiError } from "../domain/errors.js";
import { schemaCheck, type SchemaCheck, type SchemaProblem } from "../domain/schema-check.js";
import { FaultRules } from "./faults.js";
import type { RateLimits } from "../runtime/rate-limiter.js";

/**
 * Scenarios: named files (YAML or JSON) that put the emulator in a known condition — fault
 * rules, rate limits, the clock, seed data. This module only reads and checks them; applying one
 * (which writes seed records through the store) is a service's job (services/scenario-runner.ts).
 *
 * Everything a file can get wrong without knowing the database is checked here, at start-up:
 * the document against schemas/scenario.schema.json, `name` against the file name, the clock
 * timestamp, and every fault rule exactly as POST /_emulator/faults would check it. Seed records
 * are checked against the object schemas when the scenario is applied (an upsert's outcome
 * depends on what the workspace already holds), and refuse the whole scenario there.
 */

export interface ScenarioClock {
  /** RFC 3339 with a T and an offset. */
  set?: string;
  freeze?: boolean;
}

export interface ScenarioSeed {
  workspace: string;
  /** Object name → records, in write order. */
  records: Record<string, Record<string, unknown>[]>;
}

export interface Scenario {
  name: string;
  description: string;
  /** The file it was read from. */
  file: string;
  /** Fault rule inputs, each already accepted by FaultRules.add. */
  faults: Record<string, unknown>[];
  rateLimits: Partial<RateLimits> | null;
  clock: ScenarioClock | null;
  seed: ScenarioSeed | null;
}

interface ScenarioDocument {
  name: string;
  description: string;
  faults?: Record<string, unknown>[];
  rateLimits?: Partial<RateLimits>;
  clock?: ScenarioClock;
  seed?: { workspace?: string; records: Record<string, Record<string, unknown>[]> };
}

/** Start-up refuses a bad scenario file, or an unknown `--scenario`, and says which and why. */
export const scenarioExtensions: readonly string[] = [".yaml", ".yml", ".json"];

const schemaUrl = new URL("../../schemas/scenario.schema.json", import.meta.url);

// A regular expression's source helps nobody: these say what the pattern wants.
const scenarioMessages: Readonly<Record<string, string>> = {
  "#/type": "must hold an object (name, description, faults, rateLimits, clock, seed)",
  "#/properties/name/pattern": "must be lower-case letters, digits and -, like flaky-5xx",
  "#/properties/clock/properties/set/pattern": 'must be an RFC 3339 timestamp with a T and an offset, like "2026-04-21T15:30:00Z"',
  "#/properties/seed/properties/workspace/pattern": "must be 1-64 letters, digits, - or _",
};

let compiled: SchemaCheck<ScenarioDocument> | undefined;

/** The scenario schema, read once, on first use (schemaCheck compiles it on its first call). */
function checkDocument(): SchemaCheck<ScenarioDocument> {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(schemaUrl, "utf8")) as Record<string, unknown>;
    compiled = schemaCheck<ScenarioDocument>(schema, { messages: scenarioMessages });
  }
  return compiled;
}

/** `rateLimits.single.limit: must be at least 1`; a problem with the whole file says "the file". */
function documentProblemText(problem: SchemaProblem | undefined): string {
  if (!problem) return "is not a scenario";
  return problem.path ? `${problem.path}: ${problem.message}` : `the file ${problem.message}`;
}

/** Reads, parses and checks one scenario file; throws a StartupError naming the file. */
export function loadScenarioFile(file: string): Scenario {
  const extension = extname(file).toLowerCase();
  if (!scenarioExtensions.includes(extension)) {
    throw new StartupError("scenario", `${file}: a scenario file must end in ${scenarioExtensions.join(", ")}`);
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8").replace(/^\uFEFF/, "");
  } catch (error) {
    throw new StartupError("scenario", `${file}: cannot be read (${(error as Error).message})`);
  }
  const document = parse(file, text, extension);

  const check = checkDocument();
  if (!check(document)) throw new StartupError("scenario", `${file}: ${documentProblemText(check.problem(document))}`);

  const expected = basename(file, extname(file));
  if (document.name !== expected) {
    throw new StartupError("scenario", `${file}: name: "${document.name}" must equal the file's base name "${expected}"`);
  }
  if (document.clock?.set !== undefined && Number.isNaN(Date.parse(document.clock.set))) {
    throw new StartupError("scenario", `${file}: clock.set: "${document.clock.set}" is not a real date and time`);
  }
  // Each rule exactly as the API would take it, in a scratch set that is then thrown away.
  const scratch = new FaultRules();
  const faults = document.faults ?? [];
  for (const [index, rule] of faults.entries()) {
    try {
      scratch.add(rule, `scenario:${document.name}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      throw new StartupError("scenario", `${file}: ${rulePath(index, error)}`);
    }
  }

  return {
    name: document.name,
    description: document.description,
    file,
    faults: structuredClone(faults),
    rateLimits: document.rateLimits ? structuredClone(document.rateLimits) : null,
    clock: document.clock ? { ...document.clock } : null,
    seed: document.seed
      ? { workspace: document.seed.workspace ?? "default", records: structuredClone(document.seed.records) }
      : null,
  };
}

/** The scenarios of one folder, by name, plus any file `--scenario` named from outside it. */
export class ScenarioCatalogue {
  readonly dir: string;
  readonly #byName = new Map<string, Scenario>();

  private constructor(dir: string, scenarios: Scenario[]) {
    this.dir = dir;
    for (const scenario of scenarios) this.#add(scenario);
  }

  /**
   * Every `*.yaml`, `*.yml` and `*.json` in `dir` (not in sub-folders, not dot-files), in file
   * name order. A folder that does not exist is an error, whoever named it: the bundled folder
   * ships with the package and always exists, so a missing one was given by the user
   * (--scenarios, CDP_EMULATOR_SCENARIOS) and is almost certainly a typo — better to refuse to
   * start than to run silently without the scenarios they meant. An existing empty folder is
   * fine: there are simply no scenarios to load.
   */
  static load(dir: string): ScenarioCatalogue {
    let entries: string[];
    try {
      if (!statSync(dir).isDirectory()) throw new Error("not a directory");
      entries = readdirSync(dir)
        .filter((entry) => !entry.startsWith(".") && scenarioExtensions.includes(extname(entry).toLowerCase()))
        .filter((entry) => statSync(join(dir, entry)).isFile())
        .sort();
    } catch (error) {
      throw new StartupError("scenario", `scenarios folder ${dir} cannot be read: ${(error as Error).message}`);
    }
    return new ScenarioCatalogue(dir, entries.map((entry) => loadScenarioFile(join(dir, entry))));
  }

  /** In name order. */
  list(): Scenario[] {
    return [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Scenario | undefined {
    return this.#byName.get(name);
  }

  /**
   * `--scenario <name|file>`: a scenario of the folder by name, else a file path (relative to
   * the working directory), checked like the folder's files and added to the catalogue so it is
   * listed and can be applied again by name. A name is tried first: names are plain words, so
   * `--scenario flaky-5xx` never means a file `./flaky-5xx` that happens to exist.
   */
  resolve(ref: string): Scenario {
    const known = this.#byName.get(ref);
    if (known) return known;
    const file = resolve(ref);
    let isFile = false;
    try {
      isFile = statSync(file).isFile();
    } catch {
      isFile = false;
    }
    if (!isFile) {
      const names = this.list().map((scenario) => scenario.name);
      throw new StartupError("scenario",
        `scenario "${ref}" is neither a scenario in ${this.dir} (${names.length > 0 ? names.join(", ") : "none there"}) nor a scenario file`,
      );
    }
    const scenario = loadScenarioFile(file);
    const same = this.#byName.get(scenario.name);
    if (same && resolve(same.file) === file) return same;
    this.#add(scenario);
    return scenario;
  }

  #add(scenario: Scenario): void {
    const earlier = this.#byName.get(scenario.name);
    if (earlier) {
      throw new StartupError("scenario", `${scenario.file}: name: "${scenario.name}" is already the name of ${earlier.file}`);
    }
    this.#byName.set(scenario.name, scenario);
  }
}

function parse(file: string, text: string, extension: string): unknown {
  if (extension === ".json") {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new StartupError("scenario", `${file}: not valid JSON (${(error as Error).message})`);
    }
  }
  // YAML 1.2 core schema: `on`/`yes` stay strings and timestamps stay strings; duplicate keys
  // are an error. Only the first line of a parse error: it already gives the line and column.
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const error = document.errors[0];
  if (error) {
    const firstLine = (error.message.split("\n")[0] ?? "").replace(/:$/, "");
    throw new StartupError("scenario", `${file}: not valid YAML (${firstLine})`);
  }
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    throw new StartupError("scenario", `${file}: not valid YAML (${(cause as Error).message})`);
  }
}

/** `faults[1].action.status: must be one of ...` from the API's error for rule 1. */
function rulePath(index: number, error: ApiError): string {
  const path = typeof error.details.path === "string" ? error.details.path : "";
  const prefix = `${path}: `;
  const message = path && error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  const at = path && path !== "(top level)" ? `faults[${index}].${path}` : `faults[${index}]`;
  return `${at}: ${message}`;
}
