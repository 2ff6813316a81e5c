import { ApiError } from "../domain/errors.js";
import type { Clock } from "./clock.js";

/**
 * Token buckets per bearer token on the emulator clock: one kind for single writes, one for
 * batch requests. Each bucket holds up to `limit` tokens and refills continuously at
 * `limit / windowSeconds` tokens per second, so a client that spends its quota gets one token
 * back every `windowSeconds / limit` seconds rather than all at once at a window edge.
 *
 * Pure state and arithmetic: no HTTP, no real time. A bucket not yet seen is full.
 */

export type BucketKind = "single" | "batch";

export interface RateLimitSetting {
  /** Bucket capacity, and how many tokens refill over one window. */
  limit: number;
  windowSeconds: number;
}

export interface RateLimits {
  single: RateLimitSetting;
  batch: RateLimitSetting;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Epoch seconds (rounded up) when the bucket is full again. */
  resetAt: number;
  /** When refused: seconds until one token is free, rounded up to 0.1 s, at least 0.1. */
  retryAfterSeconds: number | null;
}

export const bucketKinds: readonly BucketKind[] = ["single", "batch"];

const maxWindowSeconds = 86_400;

/**
 * A bucket's level is kept in "units" of token × window-milliseconds: refilling for `ms`
 * milliseconds adds `ms × limit` units and one token is `windowMs` units. With whole-millisecond
 * clocks and windows this keeps the arithmetic in integers, so "limit 2 per 5 s" refills
 * exactly one token after exactly 2500 ms, not after 2500.0000001.
 */
interface Bucket {
  units: number;
  anchoredAt: number;
}

export class RateLimiter {
  readonly #clock: Clock;
  #limits: RateLimits;
  readonly #buckets: Record<BucketKind, Map<string, Bucket>> = { single: new Map(), batch: new Map() };

  constructor(deps: { clock: Clock; limits: RateLimits }) {
    this.#clock = deps.clock;
    this.#limits = copyLimits(validateLimits(deps.limits, true));
  }

  limits(): RateLimits {
    return copyLimits(this.#limits);
  }

  /**
   * Change one or both settings. Everything is validated before anything changes; each kind
   * named in `change` starts over with every token's bucket full.
   */
  configure(change: Partial<RateLimits>): void {
    const valid = validateLimits(change, false);
    for (const kind of bucketKinds) {
      const setting = valid[kind];
      if (setting === undefined) continue;
      this.#limits = { ...this.#limits, [kind]: { limit: setting.limit, windowSeconds: setting.windowSeconds } };
      this.#buckets[kind].clear();
    }
  }

  /** Spend one token when there is one. */
  take(token: string, kind: BucketKind): RateDecision {
    const setting = this.#limits[kind];
    const now = this.#clock.now();
    const bucket = this.#refilled(token, kind, now);
    const unitsPerToken = windowMs(setting);
    const allowed = bucket.units >= unitsPerToken;
    if (allowed) bucket.units -= unitsPerToken;
    return decide(setting, bucket.units, now, allowed);
  }

  /** What `take` would see, without spending anything. A null token sees a full bucket. */
  peek(token: string | null, kind: BucketKind): RateDecision {
    const setting = this.#limits[kind];
    const now = this.#clock.now();
    // Refilling is not spending, so bringing a known bucket up to date is safe; an unknown
    // token (or none) is not given a bucket just for being looked at.
    const known = token !== null && this.#buckets[kind].has(token);
    const units = known ? this.#refilled(token, kind, now).units : capacityUnits(setting);
    return decide(setting, units, now, units >= windowMs(setting));
  }

  /** Every bucket full again. */
  reset(): void {
    for (const kind of bucketKinds) this.#buckets[kind].clear();
  }

  #refilled(token: string, kind: BucketKind, now: number): Bucket {
    const setting = this.#limits[kind];
    const capacity = capacityUnits(setting);
    let bucket = this.#buckets[kind].get(token);
    if (bucket === undefined) {
      bucket = { units: capacity, anchoredAt: now };
      this.#buckets[kind].set(token, bucket);
      return bucket;
    }
    // A clock set backwards neither adds nor removes tokens: no time has passed, and the
    // bucket refills from the new "now" onwards.
    const elapsed = Math.max(0, now - bucket.anchoredAt);
    bucket.units = Math.min(capacity, bucket.units + elapsed * setting.limit);
    bucket.anchoredAt = now;
    return bucket;
  }
}

function windowMs(setting: RateLimitSetting): number {
  return setting.windowSeconds * 1000;
}

function capacityUnits(setting: RateLimitSetting): number {
  return setting.limit * windowMs(setting);
}

function decide(setting: RateLimitSetting, units: number, now: number, allowed: boolean): RateDecision {
  const unitsPerToken = windowMs(setting);
  const msUntilFull = (capacityUnits(setting) - units) / setting.limit;
  const msUntilToken = (unitsPerToken - units) / setting.limit;
  return {
    allowed,
    limit: setting.limit,
    remaining: Math.floor(units / unitsPerToken),
    resetAt: Math.ceil((now + msUntilFull) / 1000),
    retryAfterSeconds: allowed ? null : Math.max(0.1, ceilTenths(msUntilToken / 1000)),
  };
}

/** Round up to one decimal, forgiving float noise such as 2.5000000000000004. */
function ceilTenths(seconds: number): number {
  return Math.ceil(seconds * 10 - 1e-9) / 10;
}

function copyLimits(limits: RateLimits): RateLimits {
  return { single: { ...limits.single }, batch: { ...limits.batch } };
}

function validateLimits(input: RateLimits, complete: true): RateLimits;
function validateLimits(input: Partial<RateLimits>, complete: false): Partial<RateLimits>;
function validateLimits(input: Partial<RateLimits>, complete: boolean): Partial<RateLimits> {
  if (!isRecord(input)) throw invalid("rate limits", "must be an object with single and/or batch", input);
  const unknown = Object.keys(input).filter((key) => !(bucketKinds as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw invalid(unknown[0] ?? "", `unknown rate limit kind; use ${bucketKinds.join(" or ")}`, input);
  }
  const out: Partial<RateLimits> = {};
  for (const kind of bucketKinds) {
    const setting: unknown = input[kind];
    if (setting === undefined) {
      if (complete) throw invalid(kind, "is required", setting);
      continue;
    }
    out[kind] = validateSetting(kind, setting);
  }
  return out;
}

function validateSetting(kind: BucketKind, setting: unknown): RateLimitSetting {
  if (!isRecord(setting)) throw invalid(kind, "must be an object with limit and windowSeconds", setting);
  const extra = Object.keys(setting).filter((key) => key !== "limit" && key !== "windowSeconds");
  if (extra.length > 0) {
    throw invalid(`${kind}.${extra[0] ?? ""}`, "unknown field; a setting has limit and windowSeconds", setting);
  }
  const { limit, windowSeconds } = setting;
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1) {
    throw invalid(`${kind}.limit`, "must be a whole number ≥ 1", limit);
  }
  if (
    typeof windowSeconds !== "number" ||
    !Number.isFinite(windowSeconds) ||
    windowSeconds <= 0 ||
    windowSeconds > maxWindowSeconds
  ) {
    throw invalid(`${kind}.windowSeconds`, `must be a number of seconds > 0 and ≤ ${maxWindowSeconds}`, windowSeconds);
  }
  return { limit, windowSeconds };
}

function invalid(path: string, problem: string, value: unknown): ApiError {
  return new ApiError("REQUEST_INVALID", `${path}: ${problem}`, { details: { path, value } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
