import express, { type RequestHandler } from "express";
import { ApiError } from "../domain/errors.js";

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
const JSON_CONTENT_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * JSON bodies only, at most 10 MB. body-parser refuses an oversized body from its
 * Content-Length before reading it, or as soon as a chunked body passes the limit, so an
 * oversized upload is never held in memory; its errors become envelopes in error-envelope.ts.
 */
export function jsonBody(): RequestHandler[] {
  const parse = express.json({ limit: MAX_BODY_BYTES, strict: true, type: () => true });
  const requireJson: RequestHandler = (req, _res, next) => {
    const contentType = req.get("content-type");
    const hasBody = req.get("transfer-encoding") !== undefined || Number(req.get("content-length") ?? 0) > 0;
    if (contentType === undefined && !hasBody) {
      throw new ApiError("REQUEST_INVALID", 'Request body is empty; send a JSON object such as {"record": {...}}');
    }
    if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType)) {
      throw new ApiError(
        "REQUEST_INVALID",
        `Content-Type must be application/json (got ${contentType === undefined ? "none" : `"${contentType}"`})`,
        { details: { path: "Content-Type", value: contentType ?? null } },
      );
    }
    next();
  };
  const requireBody: RequestHandler = (req, _res, next) => {
    if (req.body === undefined) {
      throw new ApiError("REQUEST_INVALID", 'Request body is empty; send a JSON object such as {"record": {...}}');
    }
    next();
  };
  return [requireJson, parse, requireBody];
}
