import type { ComponentChildren, JSX } from "preact";
import { useId } from "preact/hooks";

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

export function ErrorNote(props: { error: string | null }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}

export function Section(props: { title: string; children: ComponentChildren; actions?: ComponentChildren; id?: string }) {
  const headingId = `${props.id ?? props.title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-heading`;
  return (
    <section class="panel" aria-labelledby={headingId}>
      <div class="panel-head">
        <h2 id={headingId}>{props.title}</h2>
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
