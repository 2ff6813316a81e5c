import { setTimeout as sleep } from "node:timers/promises";
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from "express";
import type { Logger } from "pino";
import type { Operation, OperationResult } from "./operation.js";
import type { Clock } from "../runtime/clock.js";
import type { Journal } from "../runtime/journal.js";
import type { RateLimiter } from "../runtime/rate-limiter.js";
import { ApiError } from "../domain/errors.js";
import type { Store } from "../store/store.js";
import { authenticate, authOf, requireScope } from "./auth.js";
import { correlationId } from "./correlation-id.js";
import { errorEnvelope } from "./error-envelope.js";
import type { IdempotencyGuard, SerializedResult } from "./idempotency.js";
import { headerLimits } from "./header-limits.js";
import { jsonBody } from "./json-body.js";
import { applyAfterCommit, faultStage, type FaultDeps } from "./faults.js";
import { quotaHeaders, rateLimit } from "./rate-limit.js";

const LARGE_BODY_BYTES = 256 * 1024;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface PipelineDeps extends FaultDeps {
  operations: readonly Operation[];
  store: Store;
  clock: Clock;
  logger: Logger;
  idempotency: IdempotencyGuard;
  rateLimiter: RateLimiter;
  journal: Journal;
  latencyMs: number;
}

/**
 * The public API's request pipeline, top to bottom. Each stage is one middleware; each
 * operation (api/) only sees an authenticated, parsed, de-duplicated request.
 */
export function createPublicPipeline(deps: PipelineDeps): Router {
  const router = express.Router({ caseSensitive: true, strict: false });

  // 1. Correlation id: echo X-Correlation-Id or mint one, on every response including errors.
  router.use(correlationId());

  // 2. Journal: every request and its outcome (status, fault, replay, duration), plus one log
  //    line. Registered first so it sees every later stage; written when the exchange ends.
  router.use(journalStage(deps));

  // 3. Quota headers on every response, a 401 included.
  router.use(quotaHeaders(deps));

  // 3b. Header limits: an over-long or malformed Idempotency-Key or X-Correlation-Id is a 400
  //     before anything else runs (Node's own header-size limit is answered in client-error.ts).
  router.use(headerLimits());

  // 4. Auth: bearer token → workspace and scopes; 401 envelopes for missing, unknown, expired.
  router.use(authenticate({ workspaces: deps.store.workspaces, clock: deps.clock }));

  for (const operation of deps.operations) {
    router[operation.method](
      operation.path,
      // 5. Route match → scope check for this operation.
      tagOperation(operation),
      requireScope(operation.scope),
      // 6. Rate limit: the token's bucket for this kind of request; 429 with Retry-After.
      rateLimit(operation, deps),
      // 7. Body: JSON only, ≤ 10 MB, refused before it is buffered whole.
      ...(operation.write ? jsonBody() : []),
      // 8. Faults: X-Emulator-Fault or the first rule that fires; refusals happen here, before
      //    execution, so they store no idempotent response and a retry runs for real.
      faultStage(deps),
      // 9. Idempotency: replay a stored response, refuse a reused or in-flight key, or claim it.
      ...(operation.write ? [idempotencyStage(deps)] : []),
      // 10. Execute: the operation runs; a write commits together with its stored response;
      //     an after-commit fault then fails the exchange (the lost acknowledgement).
      executeStage(operation, deps),
    );
  }

  // 11. Unknown route: the vendor's 404 envelope, never Express's HTML page.
  router.use((req: Request) => {
    throw new ApiError("NOT_FOUND", `No such endpoint: ${req.method} ${req.originalUrl.split("?")[0] ?? ""}`);
  });

  // 12. Error envelope: ApiError → envelope; anything else is logged and becomes a 500 envelope.
  router.use(errorEnvelope({ logger: deps.logger }));
  return router;
}

function tagOperation(operation: Operation): RequestHandler {
  return (req, res, next) => {
    res.locals.operation = operation.name;
    // A named parameter is always one string; only a wildcard's would be a list.
    const object = req.params["object"];
    res.locals.object = typeof object === "string" ? object : undefined;
    next();
  };
}

function idempotencyStage(deps: PipelineDeps): RequestHandler {
  return (req, res, next) => {
    const key = req.get("idempotency-key");
    if (key === undefined) return next();
    const decision = deps.idempotency.begin({
      workspace: authOf(res).workspace,
      key,
      method: req.method,
      path: req.baseUrl + req.path,
      body: req.body,
    });
    if (decision.kind === "replay") {
      res.locals.replayed = true;
      res
        .status(decision.response.status)
        .set(decision.response.headers)
        .set("Idempotent-Replayed", "true")
        .send(decision.response.body);
      return;
    }
    res.locals.claim = decision.claim;
    // Freed by the execute stage when execution ends, not when the client hangs up: a client
    // that timed out and retries must see 409 IN_PROGRESS, never a second write.
    next();
  };
}

function executeStage(operation: Operation, deps: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const { claim } = res.locals;
    try {
      if (operation.write && deps.latencyMs > 0) await sleep(deps.latencyMs);
      // Parsing a multi-megabyte batch already held the event loop; let waiting requests through
      // before its checks and commit hold it again.
      const bodyBytes = res.locals.rawBody?.length ?? 0;
      if (bodyBytes > LARGE_BODY_BYTES) await yieldToEventLoop();
      const now = deps.clock.now();
      const context = {
        workspace: authOf(res).workspace,
        params: req.params as Record<string, string>,
        body: req.body as unknown,
        rawBody: res.locals.rawBody,
        query: req.query as Record<string, unknown>,
        prefer: req.get("prefer"),
        now,
      };
      let after: OperationResult["after"];
      const run = (): SerializedResult => {
        const outcome = operation.handle(context);
        after = outcome.after;
        const result = serialize(outcome);
        claim?.save(result, now);
        return result;
      };
      // `accepted: true` is only ever sent after this commit returns.
      let result = operation.write ? deps.store.transaction(run) : run();
      const later = after ? await after() : undefined;
      if (later) result = serialize(later);
      const fault = res.locals.afterCommitFault;
      if (fault) return applyAfterCommit(deps, { req, res, fault, committedBody: result.body });
      res.status(result.status).set(result.headers).send(result.body);
    } finally {
      claim?.release();
    }
  };
}

function serialize(result: OperationResult): SerializedResult {
  return {
    status: result.status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...result.headers },
    body: JSON.stringify(result.body),
  };
}

function journalStage(deps: { logger: Logger; journal: Journal; clock: Clock }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    // Real time beside the emulator clock's: a test may freeze that clock, but the retry audit
    // must judge a client's waits as they really were.
    const wallMs = performance.timeOrigin + performance.now();
    const at = new Date(deps.clock.now()).toISOString();
    // Every stage answers through res.send (res.json ends there too): keep what went out, so the
    // journal shows the response beside the request.
    let sent: string | Buffer | undefined;
    const send = res.send;
    res.send = function journaledSend(this: Response, body?: unknown) {
      if (typeof body === "string" || Buffer.isBuffer(body)) sent = body;
      return send.call(this, body);
    };
    res.once("close", () => {
      // No headers sent means no response at all: a reset or a dropped request.
      const status = res.headersSent ? res.statusCode : null;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const entry = deps.journal.record({
        at,
        wallMs,
        method: req.method,
        path: req.originalUrl.split("?")[0] ?? "",
        operation: res.locals.operation ?? null,
        object: res.locals.object ?? null,
        workspace: res.locals.auth?.workspace ?? null,
        idempotencyKey: req.get("idempotency-key") ?? null,
        correlationId: res.locals.correlationId ?? "",
        status,
        fault: res.locals.fault ?? null,
        replayed: res.locals.replayed === true,
        durationMs,
        // The bytes as they came in (kept by the body parser), never req.body: the journal
        // keeps raw bytes and parses them only when read.
        requestBody: res.locals.rawBody,
        responseBody: status === null ? undefined : sent,
        // As they came and went; the journal itself leaves out Authorization and the other
        // credentials, and caps the rest.
        requestHeaders: req.headers,
        responseHeaders: status === null ? undefined : res.getHeaders(),
      });
      deps.logger.info(
        {
          seq: entry.seq,
          correlationId: entry.correlationId,
          method: entry.method,
          path: entry.path,
          status,
          operation: entry.operation ?? undefined,
          workspace: entry.workspace ?? undefined,
          idempotencyKey: entry.idempotencyKey ?? undefined,
          replayed: entry.replayed || undefined,
          fault: entry.fault ?? undefined,
          errorCode: res.locals.errorCode,
          durationMs,
        },
        "request",
      );
    });
    next();
  };
}
