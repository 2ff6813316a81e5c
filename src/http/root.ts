import type { RequestHandler } from "express";
import { ApiError } from "../domain/errors.js";

/**
 * `GET /`, the first URL a newcomer tries: a browser is sent to the dashboard; anything else gets
 * a success envelope naming where things live. A 200, not a 404: the root exists, it is a signpost.
 */
export function rootSignpost(deps: { version: string; publicBasePath: string; controlBasePath: string }): RequestHandler {
  const dashboard = `${deps.controlBasePath}/ui/`;
  return (req, res) => {
    // Browsers ask for text/html first; curl (*/*), fetch and API clients get JSON.
    if (req.accepts(["json", "html"]) === "html") {
      res.redirect(302, dashboard);
      return;
    }
    res.json({
      success: true,
      data: {
        service: "cdp-emulator",
        version: deps.version,
        links: {
          api: deps.publicBasePath,
          metadata: `${deps.publicBasePath}/metadata/objects`,
          controlPlane: deps.controlBasePath,
          health: `${deps.controlBasePath}/health`,
          dashboard,
        },
      },
    });
  };
}

/** Outside both prefixes: still the envelope (error-envelope.ts makes it), never Express's HTML 404. */
export function unknownEndpoint(deps: { publicBasePath: string; controlBasePath: string }): RequestHandler {
  return (req) => {
    throw new ApiError(
      "NOT_FOUND",
      `No such endpoint: ${req.method} ${req.path}; the API lives under ${deps.publicBasePath}, the control plane under ${deps.controlBasePath}`,
    );
  };
}
