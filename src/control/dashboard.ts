import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { type Request, type Router } from "express";
import { ApiError } from "../domain/errors.js";

/**
 * The page may load and call only this emulator: no inline script or style (index.html holds
 * none, and Preact sets styles through the DOM, which the policy allows), no plugin, no other
 * frame may embed it (clickjacking the Reset button), no form posts anywhere, and the `data:`
 * image is the empty favicon that stops the browser asking for /favicon.ico.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The dashboard's static files (built by `npm run build` into dist/ui), served under
 * /_emulator/ui. Everything it loads comes from here: the policy above refuses any other origin,
 * so the page works offline and cannot quietly depend on a CDN.
 */
export function dashboard(options: { dir: string }): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader("Content-Security-Policy", DASHBOARD_CSP);
    // A file is only ever what its Content-Type says, and no URL of the page leaves in a Referer.
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    next();
  });
  router.use(express.static(options.dir, { index: "index.html", fallthrough: true }));
  router.use((req: Request) => {
    if (!existsSync(join(options.dir, "index.html"))) {
      throw new ApiError("NOT_FOUND", `The dashboard has not been built: \`npm run build\` writes it to ${options.dir}`);
    }
    throw new ApiError("NOT_FOUND", `No dashboard file ${req.originalUrl.split("?")[0] ?? ""}`);
  });
  return router;
}
