import type { RequestHandler } from "express";
import { ApiError } from "../domain/errors.js";
import { CORRELATION_ID_PATTERN, MAX_CORRELATION_ID_CHARS } from "./correlation-id.js";

export const MAX_IDEMPOTENCY_KEY_CHARS = 255;
/** Visible ASCII, 1 to 255 characters: a UUID fits many times over. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * The headers the emulator stores or echoes are refused when they cannot be kept as sent, before
 * auth, quota, body or anything else runs: a 20 KB key would otherwise be hashed, journaled and
 * stored, and a correlation id with control characters would be echoed into logs.
 */
export function headerLimits(): RequestHandler {
  return (req, _res, next) => {
    const key = req.get("idempotency-key");
    if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new ApiError(
        "REQUEST_INVALID",
        key.length > MAX_IDEMPOTENCY_KEY_CHARS
          ? `Idempotency-Key is ${key.length} characters; the limit is ${MAX_IDEMPOTENCY_KEY_CHARS} (a UUID is ideal)`
          : `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters, without spaces (a UUID is ideal)`,
        { details: { path: "Idempotency-Key", value: key } },
      );
    }
    const correlation = req.get("x-correlation-id")?.trim();
    if (correlation && !CORRELATION_ID_PATTERN.test(correlation)) {
      throw new ApiError(
        "REQUEST_INVALID",
        correlation.length > MAX_CORRELATION_ID_CHARS
          ? `X-Correlation-Id is ${correlation.length} characters; the limit is ${MAX_CORRELATION_ID_CHARS}`
          : `X-Correlation-Id must be printable ASCII, without control characters`,
        { details: { path: "X-Correlation-Id", value: correlation } },
      );
    }
    next();
  };
}
