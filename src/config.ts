import { StartupError } from "./domain/startup-error.js";
import { isIP } from "node:net";
import { fileURLToPath } from "node:url";
import { defaultJournalMaxBytes } from "./runtime/journal.js";
import { collisionPolicies, type CollisionPolicy } from "./domain/object-schema.js";
import { allScopes, TOKEN_PATTERN, WORKSPACE_PATTERN, type Scope } from "./domain/vocabulary.js";

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

export interface TokenConfig {
  token: string;
  workspace: string;
  scopes: Scope[];
  /** ISO 8601; the token is refused with TOKEN_EXPIRED from then on (emulator clock). */
  expiresAt: string | null;
}

export interface RateLimitConfig {
  limit: number;
  windowSeconds: number;
}

export interface Config {
  host: string;
  port: number;
  /** A file path, or `:memory:` for a throwaway database. */
  db: string;
  schemasDir: string;
  tokens: TokenConfig[];
  logLevel: LogLevel;
  /** Simulated processing time per write, spent after the Idempotency-Key is claimed. */
  latencyMs: number;
  /** Per-object override of the schema's collision policy. */
  collisionPolicies: Record<string, CollisionPolicy>;
  rateLimits: { single: RateLimitConfig; batch: RateLimitConfig };
  /** How many public requests the journal keeps (a ring: the oldest go first). */
  journalSize: number;
  /**
   * What the journal's entries may cost in bytes (kept bodies, client-chosen strings, a fixed
   * estimate per entry); beyond it the oldest go, however few entries there are.
   */
  journalMaxBytes: number;
  /** Folder of scenario files (YAML or JSON). */
  scenariosDir: string;
  /** A scenario to load at start: a name in scenariosDir, or a file path. */
  scenario: string | null;
  /** An NDJSON file of records to load at start (the format export writes). */
  seedData: string | null;
  /**
   * More names the control plane answers as `Host` besides loopback and the listening address
   * (e.g. a compose service name); see http/control-guard.ts.
   */
  allowedHosts: string[];
  /** When set, every /_emulator request but health needs `Authorization: Bearer <controlToken>`. A secret: never printed. */
  controlToken: string | null;
}

/**
 * The journal's bounds. Entries: beyond 100,000 the ring's own slots and the scans of a query
 * cost more than a test ever gains. Bytes: 1 MiB still holds about 30 entries with two full
 * 16 KB bodies (and 700 small ones); beyond 1 GiB the emulator is no longer a small sidecar.
 */
export const JOURNAL_SIZE = { default: 10_000, min: 1, max: 100_000 } as const;
export const JOURNAL_MAX_BYTES = { default: defaultJournalMaxBytes, min: 1024 * 1024, max: 1024 * 1024 * 1024 } as const;

export const bundledSchemasDir = (): string => fileURLToPath(new URL("../schemas/objects", import.meta.url));

export const bundledScenariosDir = (): string => fileURLToPath(new URL("../scenarios", import.meta.url));

export const defaultConfig = (): Config => ({
  host: "127.0.0.1",
  port: 4010,
  db: ".cdp-emulator/cdp.sqlite",
  schemasDir: bundledSchemasDir(),
  tokens: [{ token: "dev-token", workspace: "default", scopes: [...allScopes], expiresAt: null }],
  logLevel: "info",
  latencyMs: 0,
  collisionPolicies: {},
  rateLimits: { single: { limit: 1000, windowSeconds: 1 }, batch: { limit: 100, windowSeconds: 1 } },
  journalSize: JOURNAL_SIZE.default,
  journalMaxBytes: JOURNAL_MAX_BYTES.default,
  scenariosDir: bundledScenariosDir(),
  scenario: null,
  seedData: null,
  allowedHosts: [],
  controlToken: null,
});

/** What the command line hands over: every value still a string, as typed. */
export interface RawSettings {
  host?: string;
  port?: string;
  db?: string;
  schemas?: string;
  token?: string[];
  logLevel?: string;
  latency?: string;
  collisionPolicy?: string[];
  singleRate?: string;
  batchRate?: string;
  journalSize?: string;
  journalMaxBytes?: string;
  scenarios?: string;
  scenario?: string;
  seedData?: string;
  allowedHost?: string[];
  controlToken?: string;
}

/** Each flag's environment variable; a flag given on the command line wins over it. */
export const environmentVariables = {
  host: "CDP_EMULATOR_HOST",
  port: "CDP_EMULATOR_PORT",
  db: "CDP_EMULATOR_DB",
  schemas: "CDP_EMULATOR_SCHEMAS",
  token: "CDP_EMULATOR_TOKENS",
  logLevel: "CDP_EMULATOR_LOG_LEVEL",
  latency: "CDP_EMULATOR_LATENCY_MS",
  collisionPolicy: "CDP_EMULATOR_COLLISION_POLICY",
  singleRate: "CDP_EMULATOR_SINGLE_RATE",
  batchRate: "CDP_EMULATOR_BATCH_RATE",
  journalSize: "CDP_EMULATOR_JOURNAL_SIZE",
  journalMaxBytes: "CDP_EMULATOR_JOURNAL_MAX_BYTES",
  scenarios: "CDP_EMULATOR_SCENARIOS",
  scenario: "CDP_EMULATOR_SCENARIO",
  seedData: "CDP_EMULATOR_SEED_DATA",
  allowedHost: "CDP_EMULATOR_ALLOWED_HOSTS",
  controlToken: "CDP_EMULATOR_CONTROL_TOKEN",
} as const;

const splitList = (value: string): string[] =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

/** Flags over environment over defaults, each value checked with a message that says how to fix it. */
export function resolveConfig(flags: RawSettings, env: Record<string, string | undefined> = {}): Config {
  const config = defaultConfig();
  const pick = (name: keyof typeof environmentVariables): string | undefined => {
    const flag = flags[name];
    if (typeof flag === "string") return flag;
    return env[environmentVariables[name]];
  };
  const pickList = (name: "token" | "collisionPolicy" | "allowedHost"): string[] | undefined => {
    const flag = flags[name];
    // A JSON token object has commas of its own: only plain values are comma-separated lists.
    if (flag && flag.length > 0) return flag.flatMap((value) => (value.trim().startsWith("{") ? [value.trim()] : splitList(value)));
    const fromEnv = env[environmentVariables[name]];
    if (fromEnv === undefined) return undefined;
    // Host names never hold commas or JSON; "[::1]" is an address, not a JSON array.
    return name === "allowedHost" ? splitList(fromEnv) : parseListSetting(fromEnv);
  };

  const host = pick("host");
  if (host !== undefined) {
    if (host.trim() === "") throw new StartupError("config", "--host must not be empty");
    config.host = host;
  }
  const port = pick("port");
  if (port !== undefined) config.port = parseInteger(port, "--port", { min: 0, max: 65535 });
  const db = pick("db");
  if (db !== undefined) {
    if (db.trim() === "") throw new StartupError("config", "--db must be a file path or :memory:");
    config.db = db;
  }
  const schemas = pick("schemas");
  if (schemas !== undefined) config.schemasDir = schemas;
  const logLevel = pick("logLevel");
  if (logLevel !== undefined) {
    if (!(logLevels as readonly string[]).includes(logLevel)) {
      throw new StartupError("config", `--log-level must be one of ${logLevels.join(", ")} (got "${logLevel}")`);
    }
    config.logLevel = logLevel as LogLevel;
  }
  const latency = pick("latency");
  if (latency !== undefined) config.latencyMs = parseInteger(latency, "--latency", { min: 0, max: 600_000 });

  const singleRate = pick("singleRate");
  if (singleRate !== undefined) config.rateLimits.single = parseRate(singleRate, "--single-rate");
  const batchRate = pick("batchRate");
  if (batchRate !== undefined) config.rateLimits.batch = parseRate(batchRate, "--batch-rate");
  const journalSize = pick("journalSize");
  if (journalSize !== undefined) config.journalSize = parseInteger(journalSize, "--journal-size", JOURNAL_SIZE);
  const journalMaxBytes = pick("journalMaxBytes");
  if (journalMaxBytes !== undefined) config.journalMaxBytes = parseJournalMaxBytes(journalMaxBytes);
  const scenarios = pick("scenarios");
  if (scenarios !== undefined) config.scenariosDir = scenarios;
  const scenario = pick("scenario");
  if (scenario !== undefined && scenario.trim() !== "") config.scenario = scenario;
  const seedData = pick("seedData");
  if (seedData !== undefined && seedData.trim() !== "") config.seedData = seedData;

  const tokens = pickList("token");
  if (tokens !== undefined) config.tokens = parseTokens(tokens);
  const policies = pickList("collisionPolicy");
  if (policies !== undefined) config.collisionPolicies = parseCollisionPolicies(policies);
  const allowedHosts = pickList("allowedHost");
  if (allowedHosts !== undefined) config.allowedHosts = allowedHosts.map(checkAllowedHost);
  const controlToken = pick("controlToken");
  // An empty variable (CDP_EMULATOR_CONTROL_TOKEN= in a compose file) means none, as for --scenario.
  if (controlToken !== undefined && controlToken !== "") config.controlToken = checkControlToken(controlToken);
  return config;
}

export const CONTROL_TOKEN_MIN_LENGTH = 16;

/**
 * A control token guards wiping data and minting tokens, so it must not be guessable in a few
 * tries, and it must fit in one `Authorization: Bearer <token>` header (no whitespace). The
 * message never quotes it: it is a secret.
 */
export function checkControlToken(token: string): string {
  if (/\s/.test(token)) throw new StartupError("config", "--control-token must not contain whitespace (it is sent as \"Authorization: Bearer <token>\")");
  if (token.length < CONTROL_TOKEN_MIN_LENGTH) {
    throw new StartupError("config",
      `--control-token must be at least ${CONTROL_TOKEN_MIN_LENGTH} characters (got ${token.length}); generate one with: openssl rand -hex 24`,
    );
  }
  return token;
}

/** A name or address as a Host header carries it, without scheme, port or path: compared case-insensitively. */
function checkAllowedHost(host: string): string {
  const ipv6 = isIP(host.replace(/^\[(.*)\]$/, "$1")) === 6;
  if (!ipv6 && !/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$/.test(host)) {
    throw new StartupError("config", `--allowed-host "${host}" must be a host name or address without scheme, port or path, like cdp-emulator or 10.0.0.5`);
  }
  return host.toLowerCase();
}

/** A list setting in the environment is comma-separated, or a JSON array for token objects. */
function parseListSetting(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new StartupError("config", `${environmentVariables.token} is not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new StartupError("config", `${environmentVariables.token} must be a JSON array`);
    return parsed.map((item) => (typeof item === "string" ? item : JSON.stringify(item)));
  }
  return splitList(trimmed);
}


/**
 * Token specs: `token` (workspace `default`, every scope), `token@workspace`, or a JSON object
 * `{"token","workspace","scopes","expiresAt"}` for narrower scopes and an expiry.
 */
export function parseTokens(specs: string[]): TokenConfig[] {
  if (specs.length === 0) throw new StartupError("config", "at least one token is needed; give --token <token>");
  const tokens = specs.map((spec, index): TokenConfig => {
    const which = tokenName(index);
    if (spec.startsWith("{")) return parseTokenObject(spec, which);
    const [token = "", workspace = "default", ...rest] = spec.split("@");
    if (rest.length > 0) throw new StartupError("config", `${which}: use token@workspace, with one @`);
    return checkToken({ token, workspace, scopes: [...allScopes], expiresAt: null }, which);
  });
  const seen = new Map<string, number>();
  tokens.forEach(({ token }, index) => {
    const first = seen.get(token);
    if (first !== undefined) throw new StartupError("config", `${tokenName(index)} is the same as ${tokenName(first)}: give each token once`);
    seen.set(token, index);
  });
  return tokens;
}

/**
 * Tokens are secrets: a message names one by its place in the list, never by its value, because
 * start-up errors land in CI logs and container logs that many can read.
 */
const tokenName = (index: number): string => `token #${index + 1} (of --token / ${environmentVariables.token})`;

function parseTokenObject(spec: string, which: string): TokenConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(spec);
  } catch {
    // Not the parser's message: it quotes the text, token and all.
    throw new StartupError("config", `${which} starts with { but is not valid JSON: give {"token": "...", "workspace": "...", "scopes": [...]}`);
  }
  const object = parsed as Record<string, unknown>;
  const scopes = object["scopes"] ?? [...allScopes];
  if (!Array.isArray(scopes) || scopes.some((scope) => !(allScopes as readonly unknown[]).includes(scope))) {
    throw new StartupError("config", `${which}: scopes must be a list drawn from ${allScopes.join(", ")}`);
  }
  const expiresAt = object["expiresAt"] ?? null;
  if (expiresAt !== null && (typeof expiresAt !== "string" || Number.isNaN(Date.parse(expiresAt)))) {
    throw new StartupError("config", `${which}: expiresAt must be an ISO 8601 timestamp`);
  }
  return checkToken({
    token: String(object["token"] ?? ""),
    workspace: String(object["workspace"] ?? "default"),
    scopes: scopes as Scope[],
    expiresAt,
  }, which);
}

function checkToken(token: TokenConfig, which: string): TokenConfig {
  if (!TOKEN_PATTERN.test(token.token)) {
    throw new StartupError("config", `${which} must be non-empty and use only letters, digits and -._~+/`);
  }
  if (!WORKSPACE_PATTERN.test(token.workspace)) {
    throw new StartupError("config", `workspace "${token.workspace}" must be 1-64 letters, digits, - or _`);
  }
  return token;
}

function parseCollisionPolicies(specs: string[]): Record<string, CollisionPolicy> {
  const policies: Record<string, CollisionPolicy> = {};
  for (const spec of specs) {
    const [object, policy] = spec.split("=");
    if (!object || !policy || !(collisionPolicies as readonly string[]).includes(policy)) {
      throw new StartupError("config",
        `--collision-policy "${spec}" must be object=policy, policy one of ${collisionPolicies.join(", ")} (for example profiles=merge)`,
      );
    }
    policies[object] = policy as CollisionPolicy;
  }
  return policies;
}

/** `1000/1` (a thousand per second), `10/60`, or `500` (per second). */
function parseRate(value: string, name: string): RateLimitConfig {
  const match = /^\s*(\d+)\s*(?:\/\s*(\d+(?:\.\d+)?)\s*)?$/.exec(value);
  const limit = Number(match?.[1]);
  const windowSeconds = Number(match?.[2] ?? 1);
  if (!match || limit < 1 || windowSeconds <= 0 || windowSeconds > 86_400) {
    throw new StartupError("config", `${name} must be <limit>/<seconds>, like 1000/1 or 10/60 (got "${value}")`);
  }
  return { limit, windowSeconds };
}

function parseInteger(value: string, name: string, range: { min: number; max: number }): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || parsed < range.min || parsed > range.max) {
    throw new StartupError("config", `${name} must be a whole number from ${range.min} to ${range.max} (got "${value}")`);
  }
  return parsed;
}

// 1024-based, as memory limits usually are (Docker's --memory 512m, say).
const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** A byte count, plain (`33554432`) or with a 1024-based unit (`32mb`, `512KiB`, `1g`). */
function parseJournalMaxBytes(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = BYTE_UNITS[match?.[2]?.toLowerCase() ?? "-"];
  const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : Number.NaN;
  if (!(bytes >= JOURNAL_MAX_BYTES.min && bytes <= JOURNAL_MAX_BYTES.max)) {
    throw new StartupError("config",
      `--journal-max-bytes must be a size from 1mb to 1gb: a number of bytes, or with a unit such as 64mb or 512kb (got "${value}")`,
    );
  }
  return bytes;
}
