import { setTimeout as sleep } from "node:timers/promises";
import type { Request, RequestHandler, Response } from "express";
import type * as ChaosFaults from "../chaos/faults.js";
import type { AppliedFault, FaultRules, RequestFacts } from "../chaos/faults.js";
import { ApiError } from "../domain/errors.js";

/**
 * chaos/'s fault code, handed in by the composition root: the http layer may name chaos's types
 * but not import its code (eslint.config.js), and the fault stage needs only these three.
 */
export type FaultFunctions = Pick<typeof ChaosFaults, "parseFaultHeader" | "faultDelayMs" | "faultError">;

export interface FaultDeps {
  faults: FaultRules;
  faultFunctions: FaultFunctions;
  /** For jitter; probability schedules have their own seeded generators. */
  random: () => number;
}

export function requestFacts(req: Request, res: Response): RequestFacts {
  return {
    operation: res.locals.operation ?? null,
    object: res.locals.object ?? null,
    method: req.method,
    path: req.baseUrl + req.path,
    header: (name) => req.get(name),
    workspace: res.locals.auth?.workspace ?? null,
    idempotencyKey: req.get("idempotency-key") ?? null,
  };
}

/** Ends the exchange with no response at all, as a reset connection or a dropped request does. */
export function dropConnection(req: Request): void {
  req.socket.destroy();
}

/** A 200 whose JSON stops half way: what a client sees when a proxy cuts a response short. */
export function sendMalformed(res: Response, body: string): void {
  res
    .status(200)
    .type("application/json")
    .send(body.slice(0, Math.max(1, Math.floor(body.length / 2))));
}

/**
 * Picks the fault for this request (the X-Emulator-Fault header first, then the first rule
 * that fires), notes it, waits any delay, and then refuses, resets, times out or garbles the
 * request before it executes. An after-commit fault is left for the execute stage.
 */
export function faultStage(deps: FaultDeps): RequestHandler {
  const { parseFaultHeader, faultDelayMs, faultError } = deps.faultFunctions;
  return async (req, res, next) => {
    const header = req.get("x-emulator-fault");
    const applied: AppliedFault | null = header !== undefined ? parseFaultHeader(header) : deps.faults.pick(requestFacts(req, res));
    if (!applied) return next();
    res.locals.fault = applied.label;
    res.setHeader("X-Emulator-Fault", applied.label);
    const { action } = applied;
    const delay = faultDelayMs(action, deps.random);
    if (delay > 0) await sleep(delay);
    if (action.afterCommit) {
      res.locals.afterCommitFault = applied;
      return next();
    }
    if (action.timeout) {
      await sleep(action.timeout.holdMs);
      if (action.timeout.then === "drop") return dropConnection(req);
      throw new ApiError("UPSTREAM_TIMEOUT", `Injected fault: the request timed out after ${action.timeout.holdMs} ms`, {
        details: { fault: applied.label },
      });
    }
    if (action.reset) return dropConnection(req);
    if (action.malformed) {
      const operation = res.locals.operation ?? "";
      const object = res.locals.object ?? "";
      return sendMalformed(res, JSON.stringify({ success: true, data: { operation, objectName: object, accepted: true } }));
    }
    if (action.status) throw faultError(applied, action.status);
    next();
  };
}

/** After the write committed (and its idempotent response was stored): fail as the fault asks. */
export function applyAfterCommit(
  deps: Pick<FaultDeps, "faultFunctions">,
  exchange: { req: Request; res: Response; fault: AppliedFault; committedBody: string },
): void {
  const { req, res, fault, committedBody } = exchange;
  const { action } = fault;
  if (action.reset) return dropConnection(req);
  if (action.malformed) return sendMalformed(res, committedBody);
  if (action.status) throw deps.faultFunctions.faultError(fault, action.status);
}
