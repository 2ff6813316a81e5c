import { beforeEach, describe, expect, it } from "vitest";
import { EmulatorClock } from "../../src/runtime/clock.js";
import { RateLimiter, type RateLimits } from "../../src/runtime/rate-limiter.js";
import { thrown } from "../helpers/thrown.js";

const start = Date.UTC(2024, 4, 1, 12, 0, 0); // a whole second
const startSeconds = start / 1000;

function setup(limits: RateLimits = { single: { limit: 2, windowSeconds: 5 }, batch: { limit: 1, windowSeconds: 60 } }) {
  const clock = new EmulatorClock();
  clock.freeze(start);
  return { clock, limiter: new RateLimiter({ clock, limits }) };
}

describe("RateLimiter", () => {
  let clock: EmulatorClock;
  let limiter: RateLimiter;
  beforeEach(() => {
    ({ clock, limiter } = setup());
  });

  it("starts a new token's bucket full", () => {
    expect(limiter.peek("t1", "single")).toEqual({
      allowed: true,
      limit: 2,
      remaining: 2,
      resetAt: startSeconds,
      retryAfterSeconds: null,
    });
  });

  it("counts remaining whole tokens and when the bucket is full again", () => {
    expect(limiter.take("t1", "single")).toEqual({
      allowed: true,
      limit: 2,
      remaining: 1,
      resetAt: startSeconds + 3, // 2.5 s to refill one token, rounded up
      retryAfterSeconds: null,
    });
    expect(limiter.take("t1", "single")).toMatchObject({ allowed: true, remaining: 0, resetAt: startSeconds + 5 });
  });

  it("refuses once exhausted and says when one token is free (limit 2 per 5 s → 2.5 s)", () => {
    limiter.take("t1", "single");
    limiter.take("t1", "single");
    expect(limiter.take("t1", "single")).toEqual({
      allowed: false,
      limit: 2,
      remaining: 0,
      resetAt: startSeconds + 5,
      retryAfterSeconds: 2.5,
    });
  });

  it("does not spend a token on a refused request", () => {
    limiter.take("t1", "single");
    limiter.take("t1", "single");
    limiter.take("t1", "single");
    clock.advance(2500);
    expect(limiter.take("t1", "single")).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("refills continuously, one token per window / limit", () => {
    limiter.take("t1", "single");
    limiter.take("t1", "single");
    clock.advance(2499);
    expect(limiter.peek("t1", "single")).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 0.1 });
    clock.advance(1);
    expect(limiter.peek("t1", "single")).toMatchObject({ allowed: true, remaining: 1 });
    clock.advance(2500);
    expect(limiter.peek("t1", "single")).toMatchObject({ remaining: 2, resetAt: startSeconds + 5 });
  });

  it("never refills beyond capacity", () => {
    limiter.take("t1", "single");
    clock.advance(3_600_000);
    expect(limiter.take("t1", "single")).toMatchObject({ remaining: 1 });
  });

  it.each([
    { elapsedMs: 0, retryAfterSeconds: 2.5 },
    { elapsedMs: 1000, retryAfterSeconds: 1.5 },
    { elapsedMs: 2401, retryAfterSeconds: 0.1 },
    { elapsedMs: 2499, retryAfterSeconds: 0.1 },
    { elapsedMs: 1234, retryAfterSeconds: 1.3 },
  ])("rounds retryAfter up to a tenth of a second ($elapsedMs ms after exhaustion → $retryAfterSeconds s)", ({ elapsedMs, retryAfterSeconds }) => {
    limiter.take("t1", "single");
    limiter.take("t1", "single");
    clock.advance(elapsedMs);
    expect(limiter.take("t1", "single").retryAfterSeconds).toBe(retryAfterSeconds);
  });

  it("rounds resetAt up to the next whole second when the clock is mid-second", () => {
    clock.advance(300);
    expect(limiter.take("t1", "single").resetAt).toBe(startSeconds + 3); // 12:00:02.800 → 12:00:03
  });

  it("does not consume on peek", () => {
    limiter.take("t1", "single");
    limiter.peek("t1", "single");
    limiter.peek("t1", "single");
    expect(limiter.peek("t1", "single").remaining).toBe(1);
  });

  it("shows a full bucket to a null token", () => {
    limiter.take("t1", "single");
    limiter.take("t1", "single");
    expect(limiter.peek(null, "single")).toEqual({
      allowed: true,
      limit: 2,
      remaining: 2,
      resetAt: startSeconds,
      retryAfterSeconds: null,
    });
  });

  it("keeps each token's bucket separate", () => {
    limiter.take("t1", "single");
    limiter.take("t1", "single");
    expect(limiter.take("t1", "single").allowed).toBe(false);
    expect(limiter.take("t2", "single")).toMatchObject({ allowed: true, remaining: 1 });
  });

  it("keeps single and batch buckets separate", () => {
    limiter.take("t1", "single");
    limiter.take("t1", "single");
    expect(limiter.take("t1", "batch")).toMatchObject({ allowed: true, limit: 1, remaining: 0, resetAt: startSeconds + 60 });
    expect(limiter.take("t1", "batch")).toMatchObject({ allowed: false, retryAfterSeconds: 60 });
  });

  it("neither adds nor removes tokens when the clock is set backwards, and refills from there", () => {
    limiter.take("t1", "single");
    limiter.take("t1", "single");
    clock.advance(1000);
    expect(limiter.peek("t1", "single").retryAfterSeconds).toBe(1.5);
    clock.set(start - 60_000);
    expect(limiter.peek("t1", "single")).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1.5 });
    clock.advance(1500);
    expect(limiter.take("t1", "single")).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("fills every bucket on reset", () => {
    limiter.take("t1", "single");
    limiter.take("t2", "batch");
    limiter.reset();
    expect(limiter.peek("t1", "single").remaining).toBe(2);
    expect(limiter.peek("t2", "batch").remaining).toBe(1);
  });

  describe("limits and configure", () => {
    it("returns a copy of the limits", () => {
      const limits = limiter.limits();
      limits.single.limit = 99;
      expect(limiter.limits().single.limit).toBe(2);
    });

    it("applies a new setting and starts that kind's buckets full for every token", () => {
      limiter.take("t1", "single");
      limiter.take("t2", "single");
      limiter.take("t1", "batch");
      limiter.configure({ single: { limit: 10, windowSeconds: 1 } });
      expect(limiter.limits()).toEqual({ single: { limit: 10, windowSeconds: 1 }, batch: { limit: 1, windowSeconds: 60 } });
      expect(limiter.take("t1", "single")).toMatchObject({ limit: 10, remaining: 9 });
      expect(limiter.take("t2", "single")).toMatchObject({ limit: 10, remaining: 9 });
      expect(limiter.take("t1", "batch").allowed).toBe(false); // untouched kind keeps its state
    });

    it("changes both kinds at once", () => {
      limiter.configure({ single: { limit: 3, windowSeconds: 9 }, batch: { limit: 4, windowSeconds: 8 } });
      expect(limiter.limits()).toEqual({ single: { limit: 3, windowSeconds: 9 }, batch: { limit: 4, windowSeconds: 8 } });
    });

    it.each([
      { change: { single: { limit: 0, windowSeconds: 5 } }, message: "single.limit: must be a whole number ≥ 1" },
      { change: { single: { limit: 1.5, windowSeconds: 5 } }, message: "single.limit: must be a whole number ≥ 1" },
      { change: { batch: { limit: "3", windowSeconds: 5 } }, message: "batch.limit: must be a whole number ≥ 1" },
      { change: { batch: { limit: 3, windowSeconds: 0 } }, message: "batch.windowSeconds: must be a number of seconds > 0 and ≤ 86400" },
      { change: { single: { limit: 3, windowSeconds: -1 } }, message: "single.windowSeconds: must be a number of seconds > 0 and ≤ 86400" },
      { change: { single: { limit: 3, windowSeconds: 86_401 } }, message: "single.windowSeconds: must be a number of seconds > 0 and ≤ 86400" },
      { change: { single: { limit: 3 } }, message: "single.windowSeconds: must be a number of seconds > 0 and ≤ 86400" },
      { change: { single: null }, message: "single: must be an object with limit and windowSeconds" },
      { change: { single: { limit: 3, windowSeconds: 5, burst: 9 } }, message: "single.burst: unknown field; a setting has limit and windowSeconds" },
      { change: { bulk: { limit: 3, windowSeconds: 5 } }, message: "bulk: unknown rate limit kind; use single or batch" },
    ])("refuses $message", ({ change, message }) => {
      const error = thrown(() => limiter.configure(change as unknown as Partial<RateLimits>));
      expect(error.kind).toBe("REQUEST_INVALID");
      expect(error.message).toBe(message);
    });

    it("changes nothing when any part of the change is invalid", () => {
      limiter.take("t1", "single");
      thrown(() =>
        limiter.configure({ single: { limit: 5, windowSeconds: 5 }, batch: { limit: 0, windowSeconds: 5 } }),
      );
      expect(limiter.limits().single).toEqual({ limit: 2, windowSeconds: 5 });
      expect(limiter.peek("t1", "single").remaining).toBe(1);
    });

    it("accepts the largest window, 86400 seconds, and fractional windows", () => {
      limiter.configure({ single: { limit: 1, windowSeconds: 86_400 }, batch: { limit: 4, windowSeconds: 0.5 } });
      expect(limiter.take("t1", "single").resetAt).toBe(startSeconds + 86_400);
      for (let i = 0; i < 4; i++) limiter.take("t1", "batch");
      expect(limiter.take("t1", "batch")).toMatchObject({ allowed: false, retryAfterSeconds: 0.2 });
      clock.advance(125);
      expect(limiter.take("t1", "batch").allowed).toBe(true);
    });

    it("validates the limits it is constructed with", () => {
      expect(() => setup({ single: { limit: 0, windowSeconds: 5 }, batch: { limit: 1, windowSeconds: 1 } })).toThrow(
        "single.limit: must be a whole number ≥ 1",
      );
    });
  });
});
