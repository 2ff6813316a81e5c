import type { ErrorRequestHandler } from "express";
import type { Logger } from "pino";
import { ApiError } from "../domain/errors.js";
import { INVALID_UTF8_ERROR_TYPE } from "./json-body.js";

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  length?: number;
  limit?: number;
}

const megabytes = (bytes: number): string => `${Math.round(bytes / (1024 * 1024))} MB`;

/** The one place an error becomes the vendor's envelope. Nothing else ever reaches the wire. */
export function toApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  const parserError = error as BodyParserError;
  switch (parserError?.type) {
    case "entity.too.large": {
      const limit = parserError.limit ?? 0;
      return new ApiError(
        "PAYLOAD_TOO_LARGE",
        `Request body exceeds the ${megabytes(limit)} limit (${limit} bytes)${parserError.length ? `: it is ${parserError.length} bytes` : ""}; send fewer records per request`,
        { details: { limitBytes: limit, ...(parserError.length ? { lengthBytes: parserError.length } : {}) } },
      );
    }
    case INVALID_UTF8_ERROR_TYPE:
      return new ApiError("REQUEST_INVALID", "Request body is not valid UTF-8; send JSON encoded as UTF-8");
    case "entity.parse.failed":
      return new ApiError("REQUEST_INVALID", `Request body is not valid JSON: ${parserError.message}`);
    case "encoding.unsupported":
    case "charset.unsupported":
    case "request.size.invalid":
      return new ApiError("REQUEST_INVALID", `Request body cannot be read: ${parserError.message}`);
    default:
      // e.g. a malformed percent-encoding in the path, which the router refuses with status 400.
      if (parserError?.status === 400) return new ApiError("REQUEST_INVALID", `The request cannot be read: ${parserError.message}`);
      return null;
  }
}

export function errorEnvelope(deps: { logger: Logger }): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if ((error as BodyParserError)?.type === "request.aborted") return; // the client hung up
    let apiError = toApiError(error);
    if (!apiError) {
      deps.logger.error(
        { err: error, correlationId: res.locals.correlationId, method: req.method, path: req.originalUrl },
        "unhandled error",
      );
      apiError = new ApiError(
        "INTERNAL",
        `Unexpected error in the emulator; quote correlation id ${res.locals.correlationId ?? "n/a"} when reporting it`,
      );
    }
    res.locals.errorCode = apiError.code;
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    res.status(apiError.status).set(apiError.headers).json(apiError.toEnvelope());
  };
}
