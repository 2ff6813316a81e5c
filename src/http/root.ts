import type { RequestHandler } from "express";

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
