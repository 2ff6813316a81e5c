import type { RequestHandler } from "express";
import type { Clock } from "../chaos/clock.js";
import type { RateLimitConfig } from "../config.js";

/**
 * X-RateLimit-* headers on every public response. For now they report the configured quota;
 * enforcement (token buckets, 429 with Retry-After) arrives with the chaos control plane.
 */
export function rateLimitHeaders(deps: { limit: RateLimitConfig; clock: Clock }): RequestHandler {
  return (_req, res, next) => {
    const windowMs = deps.limit.windowSeconds * 1000;
    const now = deps.clock.now();
    const windowEnd = Math.floor(now / windowMs) * windowMs + windowMs;
    res.setHeader("X-RateLimit-Limit", String(deps.limit.limit));
    res.setHeader("X-RateLimit-Remaining", String(deps.limit.limit));
    res.setHeader("X-RateLimit-Reset", String(Math.ceil(windowEnd / 1000)));
    next();
  };
}
