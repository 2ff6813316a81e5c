import { randomUUID } from "node:crypto";
import { maxHeaderSize, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { RateDecision } from "../runtime/rate-limiter.js";
import { ApiError } from "../domain/errors.js";

interface ParserError extends Error {
  code?: string;
}

/**
 * Node's `clientError` hook: requests the HTTP parser refuses before Express sees them (headers
 * or URL over Node's limit, CR/LF in a header, two Content-Lengths, garbage) get the vendor's
 * envelope, a correlation id and the quota headers, instead of Node's bare 400/431 with no body.
 * The connection is closed afterwards: the parser cannot tell where the next request would begin.
 */
export function answerClientError(deps: { logger: Logger; quota: () => RateDecision }) {
  return (error: ParserError, socket: Socket): void => {
    // A reset or a timeout is no request to answer; nothing can be written to a closed socket.
    if (error.code === "ECONNRESET" || !socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const apiError =
      error.code === "HPE_HEADER_OVERFLOW"
        ? new ApiError(
            "REQUEST_INVALID",
            `Request headers (the URL included) exceed the limit of ${maxHeaderSize} bytes (${Math.round(maxHeaderSize / 1024)} KB); send shorter headers and fewer query parameters`,
            { details: { limitBytes: maxHeaderSize } },
          )
        : new ApiError("REQUEST_INVALID", `The request is not valid HTTP/1.1 and cannot be read (${error.code ?? error.message})`);
    const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : apiError.status;
    const correlationId = randomUUID();
    const body = JSON.stringify(apiError.toEnvelope());
    const quota = deps.quota();
    const head = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`,
      "Content-Type: application/json; charset=utf-8",
      `Content-Length: ${Buffer.byteLength(body)}`,
      `x-correlation-id: ${correlationId}`,
      `X-RateLimit-Limit: ${quota.limit}`,
      `X-RateLimit-Remaining: ${quota.remaining}`,
      `X-RateLimit-Reset: ${quota.resetAt}`,
      "Connection: close",
    ];
    deps.logger.warn({ correlationId, status, code: error.code }, "unreadable request refused");
    socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
  };
}
