import express, { type RequestHandler, type Response } from "express";
import { ApiError } from "../domain/errors.js";

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
const JSON_CONTENT_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * JSON bodies only, at most 10 MB. A declared Content-Length over the limit is refused at once,
 * before a byte is read (Node discards the rest of the upload, so the connection stays usable);
 * a chunked body is refused by body-parser as soon as it passes the limit. Either way an
 * oversized upload is never held in memory. Parser errors become envelopes in error-envelope.ts.
 */
export function jsonBody(): RequestHandler[] {
  const parse = express.json({
    limit: MAX_BODY_BYTES,
    strict: true,
    type: () => true,
    // A batch keeps the bytes it was sent rather than serializing 10 MB again.
    verify: (_req, res, buffer) => {
      (res as Response).locals["rawBody"] = buffer;
    },
  });
  const requireJson: RequestHandler = (req, _res, next) => {
    const contentType = req.get("content-type");
    const declaredLength = Number(req.get("content-length") ?? 0);
    if (declaredLength > MAX_BODY_BYTES) {
      throw new ApiError(
        "PAYLOAD_TOO_LARGE",
        `Request body exceeds the 10 MB limit (${MAX_BODY_BYTES} bytes): it is ${declaredLength} bytes; send fewer records per request`,
        { details: { limitBytes: MAX_BODY_BYTES, lengthBytes: declaredLength } },
      );
    }
    const hasBody = req.get("transfer-encoding") !== undefined || declaredLength > 0;
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
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
    if (charset && !/^utf-?8$/i.test(charset)) {
      throw new ApiError("REQUEST_INVALID", `Content-Type charset must be utf-8 (got "${charset}")`, {
        details: { path: "Content-Type", value: contentType },
      });
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
