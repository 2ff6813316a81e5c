import type { OperationName, Scope } from "../domain/vocabulary.js";

export type { OperationName };

/**
 * A public API operation, independent of Express: the pipeline (http/pipeline.ts) matches the
 * route, checks scope, parses the body and handles idempotency; the operation only turns a
 * context into a result. Handlers are synchronous so a write and its stored idempotent
 * response commit in one SQLite transaction.
 */

export interface OperationContext {
  workspace: string;
  params: Record<string, string>;
  body: unknown;
  /** The body's bytes as received (after any Content-Encoding), for writes. */
  rawBody: Buffer | undefined;
  query: Record<string, unknown>;
  /** The request's `Prefer` header (RFC 7240), if any. */
  prefer: string | undefined;
  /** Emulator-clock epoch milliseconds, read once per request. */
  now: number;
}

export interface OperationResult {
  status: number;
  body: unknown;
  /** Test-facing facts travel here (`X-Emulator-*`), never in the vendor's body. */
  headers?: Record<string, string>;
  /**
   * Runs after the commit, before the response is sent: a batch wakes the worker here, and may
   * return another response to send instead (`Prefer: wait=N`). What was stored for
   * idempotency is always the committed result, never this one.
   */
  after?: () => Promise<OperationResult | undefined>;
}

export interface Operation {
  name: OperationName;
  method: "get" | "post";
  path: string;
  scope: Scope;
  /** Writes take a JSON body, honour Idempotency-Key, and commit with their stored response. */
  write: boolean;
  rateLimit: "single" | "batch";
  handle(context: OperationContext): OperationResult;
}
