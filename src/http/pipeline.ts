import { setTimeout as sleep } from "node:timers/promises";
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from "express";
import type { Logger } from "pino";
import type { Operation, OperationResult } from "../api/operation.js";
import type { Clock } from "../chaos/clock.js";
import type { RateLimitConfig } from "../config.js";
import { ApiError } from "../domain/errors.js";
import type { Store } from "../store/store.js";
import { authenticate, requireScope } from "./auth.js";
import { correlationId } from "./correlation-id.js";
import { errorEnvelope } from "./error-envelope.js";
import type { IdempotencyClaim, IdempotencyGuard, SerializedResult } from "./idempotency.js";
import { jsonBody } from "./json-body.js";
import { rateLimitHeaders } from "./rate-limit.js";

const LARGE_BODY_BYTES = 256 * 1024;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface PipelineDeps {
  operations: readonly Operation[];
  store: Store;
  clock: Clock;
  logger: Logger;
  idempotency: IdempotencyGuard;
  rateLimits: { single: RateLimitConfig; batch: RateLimitConfig };
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

  // 2. Journal: one structured log line per request, written when the response finishes, so it
  //    records the outcome of every later stage (it is registered first to see them all).
  router.use(requestLog(deps));

  // 3. Rate limit headers: the quota on every response, a 401 included (single-write bucket
  //    unless the route is a batch, which overrides them below).
  router.use(rateLimitHeaders({ limit: deps.rateLimits.single, clock: deps.clock }));

  // 4. Auth: bearer token → workspace and scopes; 401 envelopes for missing, unknown, expired.
  router.use(authenticate({ workspaces: deps.store.workspaces, clock: deps.clock }));

  // 5. Faults: injected failures arrive with the chaos control plane; none are applied yet.

  for (const operation of deps.operations) {
    router[operation.method](
      operation.path,
      // 6. Route match → scope check for this operation.
      tagOperation(operation),
      requireScope(operation.scope),
      ...(operation.rateLimit === "batch" ? [rateLimitHeaders({ limit: deps.rateLimits.batch, clock: deps.clock })] : []),
      // 7. Body: JSON only, ≤ 10 MB, refused before it is buffered whole.
      ...(operation.write ? jsonBody() : []),
      // 8. Idempotency: replay a stored response, refuse a reused or in-flight key, or claim it.
      ...(operation.write ? [idempotencyStage(deps)] : []),
      // 9. Execute: the operation runs; a write commits together with its stored response.
      executeStage(operation, deps),
    );
  }

  // 10. Unknown route: the vendor's 404 envelope, never Express's HTML page.
  router.use((req: Request) => {
    throw new ApiError("NOT_FOUND", `No such endpoint: ${req.method} ${req.originalUrl.split("?")[0] ?? ""}`);
  });

  // 11. Error envelope: ApiError → envelope; anything else is logged and becomes a 500 envelope.
  router.use(errorEnvelope({ logger: deps.logger }));
  return router;
}

function tagOperation(operation: Operation): RequestHandler {
  return (_req, res, next) => {
    res.locals["operation"] = operation.name;
    next();
  };
}

function idempotencyStage(deps: PipelineDeps): RequestHandler {
  return (req, res, next) => {
    const key = req.get("idempotency-key");
    if (key === undefined) return next();
    res.locals["idempotencyKey"] = key;
    const decision = deps.idempotency.begin({
      workspace: String(res.locals["workspace"]),
      key,
      method: req.method,
      path: req.baseUrl + req.path,
      body: req.body,
    });
    if (decision.kind === "replay") {
      res.locals["replayed"] = true;
      res
        .status(decision.response.status)
        .set(decision.response.headers)
        .set("Idempotent-Replayed", "true")
        .send(decision.response.body);
      return;
    }
    res.locals["claim"] = decision.claim;
    // Whatever happens next (an error, a client hang-up), the key is freed when the exchange ends.
    res.once("close", () => decision.claim.release());
    next();
  };
}

function executeStage(operation: Operation, deps: PipelineDeps): RequestHandler {
  return async (req, res) => {
    const claim = res.locals["claim"] as IdempotencyClaim | undefined;
    try {
      if (operation.write && deps.latencyMs > 0) await sleep(deps.latencyMs);
      // Parsing a multi-megabyte batch already held the event loop; let waiting requests through
      // before its checks and commit hold it again.
      const bodyBytes = (res.locals["rawBody"] as Buffer | undefined)?.length ?? 0;
      if (bodyBytes > LARGE_BODY_BYTES) await yieldToEventLoop();
      const now = deps.clock.now();
      const context = {
        workspace: String(res.locals["workspace"]),
        params: req.params as Record<string, string>,
        body: req.body as unknown,
        rawBody: res.locals["rawBody"] as Buffer | undefined,
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

function requestLog(deps: { logger: Logger }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.once("close", () => {
      deps.logger.info(
        {
          correlationId: res.locals["correlationId"],
          method: req.method,
          path: req.originalUrl.split("?")[0],
          status: res.statusCode,
          operation: res.locals["operation"],
          workspace: res.locals["workspace"],
          idempotencyKey: res.locals["idempotencyKey"],
          replayed: res.locals["replayed"] === true ? true : undefined,
          errorCode: res.locals["errorCode"],
          completed: res.writableFinished,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        },
        "request",
      );
    });
    next();
  };
}
