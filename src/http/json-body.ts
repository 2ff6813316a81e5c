import { isUtf8 } from "node:buffer";
import express, { type RequestHandler } from "express";
import { ApiError } from "../domain/errors.js";
import { describeJsonProblem, findJsonProblem, MAX_JSON_DEPTH } from "../domain/json-safety.js";
import { isExpressResponse } from "./exchange-state.js";

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const MAX_CONTROL_BODY_BYTES = 1024 * 1024;
const JSON_CONTENT_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/** body-parser turns an error thrown by `verify` into its own; this `type` tells ours apart. */
export const INVALID_UTF8_ERROR_TYPE = "cdp.body.invalid-utf8";

/**
 * The one JSON parser for client bodies, public API and control plane alike: body-parser for
 * the limits and the streaming, then the checks body-parser does not make. Invalid UTF-8 would
 * otherwise be rewritten to U+FFFD and stored; nesting past MAX_JSON_DEPTH or a lone surrogate
 * would parse, then break a later recursive reader or disagree between memory and SQLite.
 */
function boundedJsonParser(limit: number): RequestHandler[] {
  const parse = express.json({
    limit,
    strict: true,
    type: () => true,
    verify: (_req, res, buffer) => {
      // A batch keeps the bytes it was sent rather than serializing 10 MB again; the journal keeps them too.
      // Express hands its own response to the parser; were that ever not so, batch bytes and
      // journal bodies would vanish silently, so fail loudly instead.
      if (!isExpressResponse(res)) throw new Error("json body: the response is not Express's; cannot keep the raw body");
      res.locals.rawBody = buffer;
      if (!isUtf8(buffer)) throw Object.assign(new Error("Request body is not valid UTF-8"), { type: INVALID_UTF8_ERROR_TYPE });
    },
  });
  const checkShape: RequestHandler = (req, _res, next) => {
    const problem = findJsonProblem(req.body);
    if (problem !== null) {
      // The parsed value must not linger where later stages (or the journal) could walk it.
      req.body = undefined;
      throw new ApiError("REQUEST_INVALID", describeJsonProblem(problem), {
        details: { path: problem.path, ...(problem.kind === "depth" ? { limit: MAX_JSON_DEPTH } : {}) },
      });
    }
    next();
  };
  return [parse, checkShape];
}

function checkContentType(contentType: string): void {
  if (!JSON_CONTENT_TYPE.test(contentType)) {
    throw new ApiError("REQUEST_INVALID", `Content-Type must be application/json (got "${contentType}")`, {
      details: { path: "Content-Type", value: contentType },
    });
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
  if (charset && !/^utf-?8$/i.test(charset)) {
    throw new ApiError("REQUEST_INVALID", `Content-Type charset must be utf-8 (got "${charset}")`, {
      details: { path: "Content-Type", value: contentType },
    });
  }
}

/**
 * JSON bodies only, at most 10 MB. A declared Content-Length over the limit is refused at once,
 * before a byte is read (Node discards the rest of the upload, so the connection stays usable);
 * a chunked body is refused by body-parser as soon as it passes the limit. Either way an
 * oversized upload is never held in memory. Parser errors become envelopes in error-envelope.ts.
 */
export function jsonBody(): RequestHandler[] {
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
    if (contentType === undefined) {
      throw new ApiError("REQUEST_INVALID", "Content-Type must be application/json (got none)", {
        details: { path: "Content-Type", value: null },
      });
    }
    checkContentType(contentType);
    next();
  };
  const requireBody: RequestHandler = (req, _res, next) => {
    if (req.body === undefined) {
      throw new ApiError("REQUEST_INVALID", 'Request body is empty; send a JSON object such as {"record": {...}}');
    }
    next();
  };
  return [requireJson, ...boundedJsonParser(MAX_BODY_BYTES), requireBody];
}

/**
 * The control plane's bodies: optional (most of its routes take none), JSON when present, at most
 * 1 MB, under the same checks as the public API's. A body with no JSON Content-Type is not read.
 */
export function controlJsonBody(): RequestHandler[] {
  const [parse, checkShape] = boundedJsonParser(MAX_CONTROL_BODY_BYTES) as [RequestHandler, RequestHandler];
  const parseWhenJson: RequestHandler = (req, res, next) => {
    const contentType = req.get("content-type");
    if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType)) return next();
    checkContentType(contentType);
    return parse(req, res, next);
  };
  return [parseWhenJson, checkShape];
}
