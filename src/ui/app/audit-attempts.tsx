import { useState } from "preact/hooks";
import type { AuditAttempt, AuditOperation } from "../../domain/control-plane.js";
import type { AuditVerdict } from "../../domain/vocabulary.js";
import { ClipCell, countOf, FixedTable, Section, StatusBadge, timeOf, type Column } from "./components.js";

/** The Audit view's pieces that draw journal evidence: a verdict, a list of attempts, the grouped operations. */

const verdictTone: Record<AuditVerdict, string> = { passed: "good", failed: "bad", "not-exercised": "none" };
const verdictText: Record<AuditVerdict, string> = { passed: "passed", failed: "failed", "not-exercised": "not exercised" };

/** The verdict as a badge; styles.css sets it in capitals. */
export function VerdictBadge(props: { verdict: AuditVerdict }) {
  return <span class={`badge verdict ${verdictTone[props.verdict]}`}>{verdictText[props.verdict]}</span>;
}

/** "503 → no response → 200 (replayed)": an operation's story on one line. */
export function chainOf(attempts: readonly AuditAttempt[]): string {
  return attempts.map((attempt) => `${attempt.status ?? "no response"}${attempt.replayed ? " (replayed)" : ""}`).join(" → ");
}

const attemptColumns: readonly Column[] = [
  { heading: "#", wide: "48px" },
  { heading: "Time", wide: "96px" },
  { heading: "Status", wide: "84px" },
  { heading: "Idempotency key" },
  { heading: "Fault", wide: "84px" },
  { heading: "Replayed", wide: "74px" },
];

/** The journal entries behind a finding or an operation; `evidence` marks those a failed rule named. */
export function AttemptsTable(props: { attempts: readonly AuditAttempt[]; caption: string; evidence?: ReadonlySet<number> }) {
  return (
    <FixedTable class="attempts" caption={props.caption} columns={attemptColumns} minWidth={{ wide: "460px" }}>
      <tbody>
        {props.attempts.map((attempt) => (
          <tr key={attempt.seq} class={props.evidence?.has(attempt.seq) ? "evidence" : ""} data-seq={attempt.seq}>
            <td class="mono" title={`${attempt.method} ${attempt.path}`}>
              {attempt.seq}
            </td>
            <td class="nowrap mono time" title={attempt.at}>
              {timeOf(attempt.at)}
            </td>
            <td>
              <StatusBadge status={attempt.status} />
            </td>
            <ClipCell class="mono small" text={attempt.idempotencyKey ?? ""} />
            <ClipCell class="mono small" text={attempt.fault ?? ""} />
            <td>{attempt.replayed ? <span class="badge info">replayed</span> : <span class="muted small">no</span>}</td>
          </tr>
        ))}
      </tbody>
    </FixedTable>
  );
}

const operationColumns: readonly Column[] = [
  { heading: "Operation", wide: "124px" },
  { heading: "Object", wide: "84px" },
  { heading: "Idempotency key" },
  { heading: "Attempts", wide: "150px" },
];

/** An operation is known by its first attempt's seq, which a refreshed report keeps. */
const operationSeq = (operation: AuditOperation): number => operation.attempts[0]?.seq ?? -1;
const operationId = (seq: number): string => `audit-operation-${seq}`;

/**
 * The logical writes the audit grouped (one key, or one body re-sent under new keys), each
 * opening to its attempts. Those holding evidence of an open failed rule are marked.
 */
export function OperationsPanel(props: { operations: readonly AuditOperation[]; evidence: ReadonlySet<number>; loaded: boolean }) {
  const { operations, evidence } = props;
  const [open, setOpen] = useState<ReadonlySet<number>>(new Set());
  const toggle = (seq: number) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(seq)) next.delete(seq);
      else next.add(seq);
      return next;
    });
  return (
    <Section
      title="Operations"
      id="audit-operations"
      actions={
        <span class="muted">
          {countOf(operations.length)} logical write{operations.length === 1 ? "" : "s"}
        </span>
      }
    >
      <FixedTable class="operations" caption="The logical writes the audit grouped, each with its attempts" columns={operationColumns} minWidth={{ wide: "440px" }}>
        <tbody>
          {operations.map((operation) => {
            const seq = operationSeq(operation);
            const shown = open.has(seq);
            const marked = operation.attempts.some((attempt) => evidence.has(attempt.seq));
            const key = operation.idempotencyKey ?? "";
            return [
              <tr key={seq} class={`${marked ? "evidence" : ""} ${operation.keyChanged ? "key-changed" : ""}`} onClick={() => toggle(seq)}>
                <td class="nowrap">
                  <button
                    type="button"
                    class="expander"
                    aria-expanded={shown}
                    aria-controls={shown ? operationId(seq) : undefined}
                    aria-label={`${shown ? "Hide" : "Show"} the ${operation.attempts.length} attempt${operation.attempts.length === 1 ? "" : "s"} of ${operation.operation} ${key === "" ? "without a key" : key}`}
                    onClick={(event) => {
                      event.stopPropagation();
                      toggle(seq);
                    }}
                  >
                    {shown ? "▾" : "▸"}
                  </button>
                  {operation.operation}
                </td>
                <ClipCell text={operation.object ?? "—"} />
                <td class="clip mono small" title={key === "" ? undefined : key}>
                  {key === "" ? <span class="muted">none</span> : key}
                  {operation.keyChanged ? (
                    <>
                      <br />
                      <span class="badge warn">key changed</span>
                    </>
                  ) : null}
                </td>
                <td class="chain small">{chainOf(operation.attempts)}</td>
              </tr>,
              shown ? (
                <tr key={`${seq}:attempts`} id={operationId(seq)} class="nested">
                  <td colSpan={operationColumns.length}>
                    <AttemptsTable attempts={operation.attempts} evidence={evidence} caption={`The attempts of ${operation.operation} ${key}`} />
                  </td>
                </tr>
              ) : null,
            ];
          })}
        </tbody>
      </FixedTable>
      {props.loaded && operations.length === 0 ? <p class="muted empty">No writes to group in what the audit read.</p> : null}
    </Section>
  );
}
