import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { AuditReport, AuditRuleResult } from "../../domain/control-plane.js";
import type { AuditRuleId } from "../../domain/vocabulary.js";
import { control, errorText, query } from "./api.js";
import { AttemptsTable, OperationsPanel, VerdictBadge } from "./audit-attempts.js";
import { countOf, ErrorNote, Field, FixedTable, Section, type Column } from "./components.js";
import { useDebounced, useFeedVersion, useLiveEvents, type LiveFeed } from "./live.js";

/**
 * The retry audit (GET /_emulator/audit) of the chosen workspace: the verdict per rule, a failed
 * rule opening to the journal entries that broke it, and beside it the logical writes the audit
 * grouped. Read on demand (Refresh), not on every request: the view says how many came since.
 */

const ruleColumns: readonly Column[] = [
  { heading: "Rule" },
  { heading: "Verdict", wide: "128px" },
  { heading: "Exercised", class: "num", wide: "86px", title: "How many operations, polls or responses the rule judged" },
  { heading: "Source", wide: "30%", title: "Where the vendor's guides say so" },
];

/** A seq as the `since` field holds it: "" for the whole journal, else a whole number. */
const sinceError = (text: string): string | null => (text.trim() === "" || /^\d+$/.test(text.trim()) ? null : "Since must be a journal seq: a whole number, 0 or more, or empty for the whole journal.");

const findingsId = (rule: AuditRuleId): string => `audit-findings-${rule}`;

export function AuditView(props: { workspace: string; feed: LiveFeed }) {
  const { workspace, feed } = props;
  useFeedVersion(feed);
  const [report, setReport] = useState<AuditReport | null>(null);
  const [since, setSince] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<ReadonlySet<AuditRuleId>>(new Set());
  // Only the latest request's answer is drawn: a slow one for the workspace left behind is dropped.
  const latest = useRef(0);

  const load = async (sinceText: string) => {
    const invalid = sinceError(sinceText);
    if (invalid !== null) {
      setError(invalid);
      return;
    }
    const ticket = ++latest.current;
    setBusy(true);
    try {
      const data = await control<AuditReport>("GET", `/audit${query({ workspace, since: sinceText.trim() })}`);
      if (ticket !== latest.current) return;
      setReport(data);
      setError(null);
    } catch (failure) {
      if (ticket === latest.current) setError(errorText(failure));
    } finally {
      if (ticket === latest.current) setBusy(false);
    }
  };

  useEffect(() => {
    setReport(null);
    setOpen(new Set());
    void load(since);
  }, [workspace]);

  // A journal cleared (or the workspace reset) leaves the report describing what is gone: read again.
  const reload = useDebounced(() => void load(since), 250);
  useLiveEvents(feed, (event) => {
    if (event.kind === "cleared" && (event.workspace === null || event.workspace === workspace)) reload();
  });

  const toggle = (rule: AuditRuleId) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(rule)) next.delete(rule);
      else next.add(rule);
      return next;
    });

  // The seqs an open failed rule names: marked among the operations beside.
  const evidence = useMemo(() => {
    const seqs = new Set<number>();
    for (const rule of report?.rules ?? []) if (open.has(rule.id)) for (const finding of rule.findings) for (const attempt of finding.attempts) seqs.add(attempt.seq);
    return seqs;
  }, [report, open]);

  const after = report === null ? null : (report.lastSeq ?? report.since ?? 0);
  const newer = after === null ? 0 : feed.entries.filter((entry) => entry.workspace === workspace && entry.seq > after).length;
  const invalid = sinceError(since) !== null;

  return (
    <div class="audit-layout">
      <Section title="Retry audit" id="audit-rules" actions={report ? <Summary report={report} /> : null}>
        <form
          class="toolbar"
          aria-label="Audit options"
          onSubmit={(event) => {
            event.preventDefault();
            void load(since);
          }}
        >
          <Field label="Since seq (optional)">
            {(id) => (
              <input
                id={id}
                name="since"
                type="text"
                inputMode="numeric"
                value={since}
                placeholder="whole journal"
                spellcheck={false}
                aria-invalid={invalid}
                onInput={(event) => setSince(event.currentTarget.value)}
              />
            )}
          </Field>
          <button type="submit" class="primary" disabled={busy}>
            Refresh
          </button>
          <button
            type="button"
            disabled={busy || report?.lastSeq === null || report === null}
            title="Set Since to the last seq this report read, so the next Refresh judges only what comes after it"
            onClick={() => {
              const next = String(report?.lastSeq ?? "");
              setSince(next);
              void load(next);
            }}
          >
            Start from here
          </button>
          <span class="muted small" data-testid="audit-newer">
            {report !== null && newer > 0 ? `${countOf(newer)} new request${newer === 1 ? "" : "s"} since this report: Refresh to judge ${newer === 1 ? "it" : "them"}.` : ""}
          </span>
        </form>
        <ErrorNote error={error} />
        {report ? <RulesTable report={report} open={open} onToggle={toggle} busy={busy} /> : <p class="muted empty">{busy ? "Reading the journal…" : "No report yet."}</p>}
        {report ? <Tolerances tolerances={report.tolerances} /> : null}
      </Section>
      <OperationsPanel operations={report?.operations ?? []} evidence={evidence} loaded={report !== null} />
    </div>
  );
}

function Summary(props: { report: AuditReport }) {
  const { report } = props;
  const { passed, failed, notExercised } = report.summary;
  return (
    <p class="audit-summary" data-testid="audit-summary">
      <span class={`badge ${failed > 0 ? "bad" : "none"}`}>{failed} failed</span>
      <span class={`badge ${passed > 0 ? "good" : "none"}`}>{passed} passed</span>
      <span class="badge">{notExercised} not exercised</span>
      <span class="muted small">
        over {countOf(report.entries)} request{report.entries === 1 ? "" : "s"} of {report.workspace}
        {report.since !== null ? ` after #${report.since}` : ""}
        {report.lastSeq !== null ? `, up to #${report.lastSeq}` : ""}
      </span>
    </p>
  );
}

function RulesTable(props: { report: AuditReport; open: ReadonlySet<AuditRuleId>; onToggle: (rule: AuditRuleId) => void; busy: boolean }) {
  const { report, open } = props;
  return (
    <>
      <FixedTable class="audit-rules" caption={`The retry audit's rules over workspace ${report.workspace}; a failed rule opens to its findings.`} columns={ruleColumns} minWidth={{ wide: "600px" }} busy={props.busy}>
        <tbody>
          {report.rules.map((rule) => {
            const expandable = rule.findings.length > 0;
            const shown = expandable && open.has(rule.id);
            return [
              <tr
                key={rule.id}
                data-rule={rule.id}
                class={`${rule.verdict === "failed" ? "failed" : ""} ${expandable ? "expandable" : ""}`}
                onClick={expandable ? () => props.onToggle(rule.id) : undefined}
              >
                <td>
                  <div class="rule-head">
                    {expandable ? (
                      <button
                        type="button"
                        class="expander"
                        aria-expanded={shown}
                        aria-controls={shown ? findingsId(rule.id) : undefined}
                        aria-label={`${shown ? "Hide" : "Show"} the findings of ${rule.id}`}
                        onClick={(event) => {
                          event.stopPropagation();
                          props.onToggle(rule.id);
                        }}
                      >
                        {shown ? "▾" : "▸"}
                      </button>
                    ) : null}
                    <span>
                      {rule.title}
                      <br />
                      <span class="mono small muted">{rule.id}</span>
                    </span>
                  </div>
                </td>
                <td>
                  <VerdictBadge verdict={rule.verdict} />
                </td>
                <td class="num">{countOf(rule.exercised)}</td>
                <td class="small source">
                  {/* "guide § section; other guide § section": one guide a line. */}
                  {rule.source.split("; ").map((part, index) => (index === 0 ? part : [<br key={index} />, part]))}
                </td>
              </tr>,
              shown ? (
                <tr key={`${rule.id}:findings`} id={findingsId(rule.id)} class="nested">
                  <td colSpan={ruleColumns.length}>
                    <Findings rule={rule} />
                  </td>
                </tr>
              ) : null,
            ];
          })}
        </tbody>
      </FixedTable>
      {report.entries === 0 ? (
        <p class="muted empty">
          No requests of {report.workspace} in the journal{report.since !== null ? ` after #${report.since}` : ""}: every rule is not exercised until a client writes.
        </p>
      ) : null}
    </>
  );
}

function Findings(props: { rule: AuditRuleResult }) {
  const { rule } = props;
  return (
    <ol class="findings" aria-label={`Findings of ${rule.id}`}>
      {rule.findings.map((finding, index) => (
        <li key={index}>
          <p class="finding-message">{finding.message}</p>
          <AttemptsTable attempts={finding.attempts} caption={`The requests behind finding ${index + 1} of ${rule.id}`} />
        </li>
      ))}
    </ol>
  );
}

function Tolerances(props: { tolerances: Record<string, number> }) {
  const entries = Object.entries(props.tolerances);
  if (entries.length === 0) return null;
  return (
    <details class="tolerances">
      <summary>The tolerances the rules applied</summary>
      <table class="kv" aria-label="Tolerances">
        <tbody>
          {entries.map(([name, value]) => (
            <tr key={name}>
              <th scope="row" class="mono">
                {name}
              </th>
              <td class="mono">{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
