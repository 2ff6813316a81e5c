import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";

const ACCEPTABLE = /^[\w.:@/+=-]{1,128}$/;

/** Echo the caller's X-Correlation-Id when it is sane, else mint one; every response carries it. */
export function correlationId(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get("x-correlation-id");
    const id = incoming && ACCEPTABLE.test(incoming) ? incoming : randomUUID();
    res.locals["correlationId"] = id;
    res.setHeader("x-correlation-id", id);
    next();
  };
}
