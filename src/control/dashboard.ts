import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { type Request, type Router } from "express";
import { ApiError } from "../domain/errors.js";

/**
 * The dashboard's static files (built by `npm run build` into dist/ui), served under
 * /_emulator/ui. Everything it loads comes from here: the policy below refuses any other origin,
 * so the page works offline and cannot quietly depend on a CDN.
 */
export function dashboard(options: { dir: string }): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader(
      "Content-Security-Policy",
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
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
