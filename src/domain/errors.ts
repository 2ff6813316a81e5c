import type { Envelope, ErrorEnvelope, ErrorDetails, SuccessEnvelope } from "./envelope.js";
import { previewValue } from "./json-safety.js";

/**
 * The one error catalogue. Every failure the emulator reports is one of these kinds; the HTTP
 * status and the vendor's code travel together so they can never disagree. `ApiError` is
 * thrown anywhere and becomes the vendor's envelope in exactly one place (http/error-envelope.ts).
 */
export const errorCatalogue = {
  REQUEST_INVALID: { status: 400, code: "CDP_ETL.VALIDATION.REQUEST_INVALID" },
  UNAUTHORIZED: { status: 401, code: "CDP_ETL.AUTH.UNAUTHORIZED" },
  TOKEN_INVALID: { status: 401, code: "CDP_ETL.AUTH.TOKEN_INVALID" },
  TOKEN_EXPIRED: { status: 401, code: "CDP_ETL.AUTH.TOKEN_EXPIRED" },
  FORBIDDEN: { status: 403, code: "CDP_ETL.AUTH.FORBIDDEN" },
  NOT_FOUND: { status: 404, code: "CDP_ETL.NOT_FOUND" },
  WRITE_RACE: { status: 409, code: "CDP_ETL.CONFLICT.WRITE_RACE" },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, code: "CDP_ETL.CONFLICT.IDEMPOTENCY_IN_PROGRESS" },
  // Not in the vendor's table by name: the guides only promise "409 CDP_ETL.* (conflict)". Used
  // by the opt-in `reject` collision policy, which the vendor does not have.
  IDENTITY_COLLISION: { status: 409, code: "CDP_ETL.CONFLICT.IDENTITY_COLLISION" },
  // The emulator's own: creating a workspace whose name is taken.
  WORKSPACE_EXISTS: { status: 409, code: "CDP_ETL.CONFLICT.WORKSPACE_EXISTS" },
  PAYLOAD_TOO_LARGE: { status: 413, code: "CDP_ETL.VALIDATION.REQUEST_INVALID" },
  REQUEST_SCHEMA: { status: 422, code: "CDP_ETL.VALIDATION.REQUEST_SCHEMA" },
  KEY_REUSED: { status: 422, code: "CDP_ETL.IDEMPOTENCY.KEY_REUSED" },
  RATE_LIMITED: { status: 429, code: "CDP_ETL.RATE_LIMIT.EXCEEDED" },
  INTERNAL: { status: 500, code: "CDP_ETL.INTERNAL.UNHANDLED_EXCEPTION" },
  UPSTREAM_UNAVAILABLE: { status: 502, code: "CDP_ETL.UPSTREAM.UNAVAILABLE" },
  SERVICE_UNAVAILABLE: { status: 503, code: "CDP_ETL.SERVICE.UNAVAILABLE" },
  UPSTREAM_TIMEOUT: { status: 504, code: "CDP_ETL.UPSTREAM.TIMEOUT" },
} as const satisfies Record<string, { status: number; code: string }>;

export type ErrorKind = keyof typeof errorCatalogue;

export type { ErrorDetails };

export type { Envelope, ErrorEnvelope, SuccessEnvelope };

export class ApiError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetails;
  /** Extra response headers the error must carry (`Retry-After`, `WWW-Authenticate`). */
  readonly headers: Record<string, string>;

  constructor(
    kind: ErrorKind,
    message: string,
    options: { details?: ErrorDetails; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = errorCatalogue[kind].status;
    this.code = errorCatalogue[kind].code;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }

  /** The envelope, quoting client data only as a capped preview (see `capDetails`). */
  toEnvelope(): ErrorEnvelope {
    return {
      success: false,
      error: { code: this.code, message: capText(this.message, MAX_MESSAGE_CHARS), details: capDetails(this.details) },
    };
  }
}

/** A field-level problem, as a value: single writes throw it, batch jobs will record it per row. */
export interface FieldProblem {
  kind: "REQUEST_INVALID" | "REQUEST_SCHEMA";
  message: string;
  path: string;
  value: unknown;
}

export function problemToError(problem: FieldProblem): ApiError {
  return new ApiError(problem.kind, problem.message, {
    details: { path: problem.path, value: problem.value },
  });
}

const MAX_MESSAGE_CHARS = 1024;
const MAX_PATH_CHARS = 256;

function capText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * What an envelope may echo of a client's value: a 5 MB field or a value nested 60 deep comes back
 * as a short, shallow preview, with `valueTruncated: true` and `valueBytes`, the size of the value's
 * JSON. A small value comes back exactly as sent, with neither field. Paths are capped as well:
 * a field name is client data too.
 */
export function capDetails(details: ErrorDetails): ErrorDetails {
  const capped: ErrorDetails = { ...details };
  if (typeof details.path === "string") capped.path = capText(details.path, MAX_PATH_CHARS);
  if ("value" in details) {
    const preview = previewValue(details.value);
    capped.value = preview.value;
    if (preview.truncated) {
      capped.valueTruncated = true;
      if (preview.bytes !== null) capped.valueBytes = preview.bytes;
    }
  }
  return capped;
}
