import type { RequestHandler, Response } from "express";
import type { Operation } from "./operation.js";
import type { RateDecision, RateLimiter } from "../runtime/rate-limiter.js";
import { ApiError } from "../domain/errors.js";
import { authOf } from "./auth.js";

export function setQuotaHeaders(res: Response, decision: RateDecision): void {
  res.setHeader("X-RateLimit-Limit", String(decision.limit));
  res.setHeader("X-RateLimit-Remaining", String(decision.remaining));
  res.setHeader("X-RateLimit-Reset", String(decision.resetAt));
}

/** Quota headers before anything can fail, so even a 401 carries them (a full bucket's view). */
export function quotaHeaders(deps: { rateLimiter: RateLimiter }): RequestHandler {
  return (_req, res, next) => {
    setQuotaHeaders(res, deps.rateLimiter.peek(null, "single"));
    next();
  };
}

/**
 * Token buckets per bearer token: a write takes one token from its bucket (a batch counts once,
 * in the batch bucket); a read only reports the single-write bucket. An empty bucket answers 429
 * with Retry-After, the time until a token is free on the emulator clock.
 */
export function rateLimit(operation: Operation, deps: { rateLimiter: RateLimiter }): RequestHandler {
  return (_req, res, next) => {
    const { token } = authOf(res);
    const decision = operation.write ? deps.rateLimiter.take(token, operation.rateLimit) : deps.rateLimiter.peek(token, operation.rateLimit);
    setQuotaHeaders(res, decision);
    // Reads only report the quota: polling a job or reading metadata is never refused for it.
    if (operation.write && !decision.allowed) {
      const setting = deps.rateLimiter.limits()[operation.rateLimit];
      const what = operation.rateLimit === "batch" ? "batch requests" : "single writes";
      throw new ApiError(
        "RATE_LIMITED",
        `Rate limit exceeded: ${setting.limit} ${what} per ${setting.windowSeconds} s for this token; retry after ${decision.retryAfterSeconds} s`,
        {
          headers: { "Retry-After": String(decision.retryAfterSeconds) },
          details: { limit: setting.limit, windowSeconds: setting.windowSeconds, retryAfter: decision.retryAfterSeconds },
        },
      );
    }
    next();
  };
}
