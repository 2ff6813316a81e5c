import type { Router } from "express";
import { auditToJunit } from "../domain/junit.js";
import { ApiError } from "../domain/errors.js";
import { optionalString } from "../domain/paging.js";
import type { Audit } from "../services/audit.js";
import { ok } from "./respond.js";
import type { WorkspaceOf } from "./workspace-of.js";

const auditParams = ["workspace", "since", "format"] as const;
const formats = ["json", "junit"] as const;
type AuditFormat = (typeof formats)[number];

function invalid(param: string, problem: string, value: unknown): ApiError {
  return new ApiError("REQUEST_INVALID", `${param}: ${problem}`, { details: { path: param, value } });
}

/** `since` and `format` from the query, checked strictly: a typo must not quietly audit something else. */
export function parseAuditQuery(query: Record<string, unknown>): { since: number | null; format: AuditFormat } {
  const unknown = Object.keys(query).filter((key) => !(auditParams as readonly string[]).includes(key));
  if (unknown.length > 0) throw invalid(unknown[0] ?? "", `unknown query parameter; accepted: ${auditParams.join(", ")}`, query[unknown[0] ?? ""]);
  const sinceText = optionalString(query["since"], "since");
  const since = sinceText === undefined ? null : /^\d{1,15}$/.test(sinceText) ? Number(sinceText) : NaN;
  if (Number.isNaN(since)) throw invalid("since", "must be a journal seq: a whole number ≥ 0 (entries after it are audited)", sinceText);
  const format = optionalString(query["format"], "format") ?? "json";
  if (!(formats as readonly string[]).includes(format)) throw invalid("format", `must be one of ${formats.join(", ")}`, format);
  return { since, format: format as AuditFormat };
}

/** GET /_emulator/audit: a workspace's journal judged against the guides' retry rules, as JSON or JUnit XML. */
export function registerAuditRoutes(router: Router, deps: { audit: Audit; workspaceOf: WorkspaceOf }): void {
  router.get("/audit", (req, res) => {
    const { since, format } = parseAuditQuery(req.query);
    const report = deps.audit.report({ workspace: deps.workspaceOf(req), since });
    if (format === "junit") {
      res.status(200).type("application/xml").send(auditToJunit(report));
      return;
    }
    ok(res, report);
  });
}
