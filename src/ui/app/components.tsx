import type { ComponentChildren, JSX } from "preact";
import { useId, useState } from "preact/hooks";
import { ControlError, errorText } from "./api.js";

/** A JSON value, pretty-printed and scrollable; `null` reads as "none". */
export function JsonBlock(props: { value: unknown; label: string }) {
  return (
    <figure class="json">
      <figcaption>{props.label}</figcaption>
      {props.value === null || props.value === undefined ? (
        <p class="muted">none</p>
      ) : (
        <pre tabIndex={0} aria-label={props.label}>
          {JSON.stringify(props.value, null, 2)}
        </pre>
      )}
    </figure>
  );
}

export function StatusBadge(props: { status: number | null; replayed?: boolean }) {
  const { status } = props;
  const tone = status === null ? "none" : status >= 500 ? "bad" : status >= 400 ? "warn" : "good";
  return (
    <span class={`badge ${tone}`}>
      {status === null ? "no response" : status}
      {props.replayed ? " (replayed)" : ""}
    </span>
  );
}

export function StateBadge(props: { state: string }) {
  const tone = props.state === "failed" ? "bad" : props.state === "completed" ? "good" : props.state === "processing" ? "info" : "none";
  return <span class={`badge ${tone}`}>{props.state}</span>;
}

export function ErrorNote(props: { error: string | null; id?: string }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert" id={props.id}>
      {props.error}
    </p>
  );
}

/** One form's submission: busy while it runs, then the server's message when it was refused. */
export interface Submission {
  busy: boolean;
  error: string | null;
  /** The field the server named (`schedule.every`), when it named one. */
  path: string | null;
  /** Runs `work`; resolves true when it succeeded, false when its error is now shown. */
  run(work: () => Promise<unknown>): Promise<boolean>;
  clear(): void;
}

/**
 * The state behind a form's own error note: each form shows what its submission was refused for
 * beside itself (role=alert), never in another card where the person is not looking.
 */
export function useSubmission(): Submission {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<{ error: string; path: string | null } | null>(null);
  return {
    busy,
    error: failure?.error ?? null,
    path: failure?.path ?? null,
    clear: () => setFailure(null),
    async run(work) {
      setBusy(true);
      setFailure(null);
      try {
        await work();
        return true;
      } catch (caught) {
        setFailure({ error: errorText(caught), path: caught instanceof ControlError ? caught.path : null });
        return false;
      } finally {
        setBusy(false);
      }
    },
  };
}

/** A message's headers as a name/value table; `null` reads as `none`. */
export function HeadersBlock(props: { label: string; headers: Record<string, string> | null; dropped: number; none: string }) {
  const entries = props.headers === null ? [] : Object.entries(props.headers);
  return (
    <figure class="headers">
      <figcaption>{props.label}</figcaption>
      {entries.length === 0 ? (
        <p class="muted">{props.none}</p>
      ) : (
        <table class="kv" aria-label={props.label}>
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
      )}
      {props.dropped > 0 ? (
        <p class="muted small">
          {props.dropped} more {props.dropped === 1 ? "was" : "were"} left out: the journal keeps at most 64 headers and 8 KB per request.
        </p>
      ) : null}
    </figure>
  );
}

/** A card; `heading` draws the title differently (an id in monospace) while `title` stays its text. */
export function Section(props: { title: string; heading?: ComponentChildren; children: ComponentChildren; actions?: ComponentChildren; id?: string }) {
  const headingId = `${props.id ?? props.title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-heading`;
  return (
    <section class="panel" aria-labelledby={headingId}>
      <div class="panel-head">
        <h2 id={headingId}>{props.heading ?? props.title}</h2>
        {props.actions ? <div class="actions">{props.actions}</div> : null}
      </div>
      {props.children}
    </section>
  );
}

/** "15:30:00.123" of an ISO time (the emulator's clock is UTC). */
export const timeOf = (iso: string | null): string => (iso ? iso.slice(11, 23) : "—");
/** "2026-04-21 15:30:00Z" */
export const dateTimeOf = (iso: string | null): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : "—");

/** "1,234": the same grouping whatever the browser's language, like the rest of the page. */
export const countOf = (n: number): string => n.toLocaleString("en-US");

/**
 * A table cell that keeps to its column: one line, cut with an ellipsis, the whole text in its
 * title (and in the accessible name, which is the text itself).
 */
export function ClipCell(props: { text: string; class?: string }) {
  return (
    <td class={`clip ${props.class ?? ""}`} title={props.text === "" ? undefined : props.text}>
      {props.text}
    </td>
  );
}

export const show = (value: unknown): string => {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
};

/**
 * A labelled control: the label names it by `for`, not by wrapping it, so a select's options
 * never become part of its accessible name.
 */
export function Field(props: { label: string; children: (id: string) => JSX.Element }) {
  const id = useId();
  return (
    <div class="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children(id)}
    </div>
  );
}

/** An option of a `Select`: its value, or its value and the text shown for it. */
export type Choice = string | { value: string; label: string };

/**
 * A labelled select; `anyLabel` puts first an option with the value "" (no filter, no choice).
 * `attributes` go on the select itself: a form field's name, its aria-invalid.
 */
export function Select(props: {
  label: string;
  value: string;
  options: readonly Choice[];
  onChange: (value: string) => void;
  anyLabel?: string;
  attributes?: { name?: string; "aria-invalid"?: boolean; "aria-describedby"?: string };
}) {
  return (
    <Field label={props.label}>
      {(id) => (
        <select id={id} {...props.attributes} value={props.value} onChange={(event) => props.onChange(event.currentTarget.value)}>
          {props.anyLabel !== undefined ? <option value="">{props.anyLabel}</option> : null}
          {props.options.map((option) => {
            const { value, label } = typeof option === "string" ? { value: option, label: option } : option;
            return (
              <option key={value} value={value}>
                {label}
              </option>
            );
          })}
        </select>
      )}
    </Field>
  );
}

/**
 * The detail of one item beside its list: "Job <id>", its id in monospace, with `actions` and
 * then Close at its head.
 */
export function DetailSection(props: {
  kind: string;
  name: string;
  id: string;
  /** Draws the name plain rather than in monospace (a request's number). */
  plain?: boolean;
  actions?: ComponentChildren;
  onClose: () => void;
  children: ComponentChildren;
}) {
  return (
    <Section
      title={`${props.kind} ${props.name}`}
      heading={
        props.plain ? undefined : (
          <>
            {props.kind} <span class="mono heading-id">{props.name}</span>
          </>
        )
      }
      id={props.id}
      actions={
        <>
          {props.actions}
          <button type="button" onClick={props.onClose}>
            Close
          </button>
        </>
      }
    >
      {props.children}
    </Section>
  );
}

/**
 * A length of a fixed table's layout: `wide` as a rule, `narrow` while a detail is open beside
 * the list (styles.css reads them); either absent means the browser's own (auto).
 */
export interface Width {
  wide?: string;
  narrow?: string;
}

/** A column of a table: its heading and, in a fixed table, its width. */
export interface Column extends Width {
  heading: string;
  /** A heading for screen readers only (a column of buttons). */
  unseen?: boolean;
  /** The heading's class: `num` for a column of counts, aligned right. */
  class?: string;
  /** The heading's tooltip. */
  title?: string;
}

export function TableHead(props: { columns: readonly Column[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((column, index) => (
          <th key={index} scope="col" class={column.class} title={column.title}>
            {column.unseen ? <span class="sr-only">{column.heading}</span> : column.heading}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/**
 * A table that keeps to its panel: its columns at the widths given (a long value is cut in its
 * own cell, see ClipCell), its caption for screen readers, and a minimum width under which it
 * scrolls sideways rather than crush its columns. `children` is its body.
 */
export function FixedTable(props: {
  class: string;
  caption: ComponentChildren;
  columns: readonly Column[];
  minWidth: Width;
  busy?: boolean;
  children: ComponentChildren;
}) {
  return (
    <div class="table-wrap">
      <table class={`${props.class} fixed`} aria-busy={props.busy} style={{ "--min-wide": props.minWidth.wide, "--min-narrow": props.minWidth.narrow }}>
        <caption class="sr-only">{props.caption}</caption>
        <colgroup>
          {props.columns.map((column, index) => (
            <col key={index} style={{ "--wide": column.wide, "--narrow": column.narrow }} />
          ))}
        </colgroup>
        <TableHead columns={props.columns} />
        {props.children}
      </table>
    </div>
  );
}
