import type { AuditReport } from "../domain/control-plane.js";
import { auditJournal } from "../domain/retry-audit.js";
import type { Journal } from "../runtime/journal.js";

/**
 * The retry audit over the journal: one workspace's entries, oldest first, handed to the pure
 * rules of domain/retry-audit.ts. The journal keeps at most its capacity (and byte budget) of
 * entries, so an audit judges what is still held; `since` lets a caller judge one run only.
 */
export class Audit {
  readonly #journal: Journal;

  constructor(deps: { journal: Journal }) {
    this.#journal = deps.journal;
  }

  report(input: { workspace: string; since: number | null }): AuditReport {
    const since = input.since ?? 0;
    // The journal's own query, oldest first: every held entry of the workspace after `since`.
    const entries = this.#journal.query({ workspace: input.workspace, since: String(since) }, this.#journal.size);
    return auditJournal(entries, input);
  }
}
