import type { Response, Router } from "express";
import type { Clock } from "../runtime/clock.js";
import { findObject } from "../services/objects.js";
import { NDJSON_CONTENT_TYPE } from "../domain/vocabulary.js";
import { createSeedRequestParser, exportSeedLines, seedGenerated, type SeedWriter } from "../services/seeding.js";
import { ok } from "./respond.js";
import type { WorkspaceOf } from "./workspace-of.js";

/** Export writes this much text per chunk: one write per row would cost a chunk header each. */
const EXPORT_CHUNK_CHARS = 64 * 1024;

/** POST /seed (generated records) and GET /export/{object} (the rows as seed-data NDJSON). */
export function registerSeedRoutes(router: Router, deps: SeedWriter & { clock: Clock; workspaceOf: WorkspaceOf }): void {
  const parseSeedRequest = createSeedRequestParser(deps.objects);

  router.post("/seed", async (req, res) => {
    const request = parseSeedRequest(req.body ?? {});
    ok(res, await seedGenerated(deps, { ...request, now: deps.clock.now() }));
  });

  router.get("/export/:object", async (req, res) => {
    const object = findObject(deps.objects, req.params["object"]);
    const lines = exportSeedLines(deps.store, { workspace: deps.workspaceOf(req), object });
    // setHeader, not res.type(): Express would append a charset; NDJSON is UTF-8 by definition.
    res.status(200).setHeader("Content-Type", NDJSON_CONTENT_TYPE);
    let chunk = "";
    for (const line of lines) {
      chunk += line;
      if (chunk.length < EXPORT_CHUNK_CHARS) continue;
      const flushed = res.write(chunk);
      chunk = "";
      if (!flushed) await drained(res);
      if (res.destroyed) return; // the client hung up: stop reading rows for nobody
    }
    res.end(chunk);
  });
}

/** Resolves once the response can take more, or is gone. */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
