import type { ServerResponse } from "node:http";
import type { Response } from "express";
import type { AppliedFault } from "../chaos/faults.js";
import type { OperationName } from "../domain/vocabulary.js";
import type { AuthContext } from "./auth.js";
import type { IdempotencyClaim } from "./idempotency.js";

/**
 * What the stages of one exchange hand each other, declared once. Express keeps it per response
 * in `res.locals`; naming every key here gives it one type wherever it is read or written, so a
 * misspelt key or a wrong value fails the typecheck instead of reading as undefined. Every key is
 * optional because it exists only once the stage that sets it has run: a 401 has no `operation`.
 */
declare module "express-serve-static-core" {
  interface Locals {
    /** correlation-id.ts: the caller's X-Correlation-Id, or the one minted for it. */
    correlationId?: string;
    /** auth.ts: the bearer token's workspace and scopes. */
    auth?: AuthContext;
    /** pipeline.ts, route match: the operation and the object its path names. */
    operation?: OperationName;
    object?: string;
    /** json-body.ts: the body's bytes as they came in, for a batch's rows and for the journal. */
    rawBody?: Buffer;
    /** pipeline.ts, idempotency: the response is a stored one, sent again. */
    replayed?: boolean;
    /** pipeline.ts, idempotency: the key this request holds while it executes. */
    claim?: IdempotencyClaim;
    /** faults.ts: the label of the fault applied (X-Emulator-Fault). */
    fault?: string;
    /** faults.ts: a fault that fails the exchange only after the write has committed. */
    afterCommitFault?: AppliedFault;
    /** error-envelope.ts: the envelope's code, for the request's log line. */
    errorCode?: string;
  }
}

/**
 * body-parser hands its `verify` hook Node's own response type, though under Express it is always
 * Express's: checked at run time rather than cast, so the hook can reach `locals` typed.
 */
export function isExpressResponse(res: ServerResponse): res is Response {
  return "locals" in res;
}
