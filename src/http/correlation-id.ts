import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";

export const MAX_CORRELATION_ID_CHARS = 128;
/** Printable ASCII, 1 to 128 characters: safe to echo in a header and to write in a log line. */
export const CORRELATION_ID_PATTERN = /^[\x20-\x7e]{1,128}$/;

/**
 * Echo the caller's X-Correlation-Id when it is acceptable, else mint one; every response carries
 * it. An unacceptable one is also refused with 400 by the header-limits stage (public API), so the
 * refusal itself carries a usable id.
 */
export function correlationId(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get("x-correlation-id")?.trim();
    const id = incoming && CORRELATION_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    res.locals.correlationId = id;
    res.setHeader("x-correlation-id", id);
    next();
  };
}
