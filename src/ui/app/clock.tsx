import { useEffect, useState } from "preact/hooks";
import type { ClockState } from "../../domain/control-plane.js";
import { control, settle } from "./api.js";
import { ErrorNote, Field, Section, useSubmission } from "./components.js";
import { useDebounced, useLiveEvents, type LiveFeed } from "./live.js";

export interface ClockModel {
  state: ClockState | null;
  /** Emulator time now, in epoch ms: moved on locally between reads while the clock runs. */
  nowMs: number | null;
  /** Why it could not be read, if it could not. */
  error: string | null;
  /** Sends a change; rejects with the server's refusal, for the form that sent it to show. */
  change(body: Record<string, unknown>): Promise<void>;
  reload(): void;
}

/**
 * The emulator clock, read once and then re-read after each change and after journal activity
 * (a test may move it through the API); a running clock is advanced locally every second.
 */
export function useClock(feed: LiveFeed): ClockModel {
  const [state, setState] = useState<ClockState | null>(null);
  const [readAt, setReadAt] = useState(0);
  const [, setTick] = useState(0);
  const [error, setError] = useState<string | null>(null);

  const accept = (next: ClockState) => {
    setState(next);
    setReadAt(performance.now());
  };
  const load = () => settle(control<ClockState>("GET", "/clock"), { apply: accept, onError: setError });

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => setTick((tick) => tick + 1), 1000);
    return () => window.clearInterval(timer);
  }, []);
  const reload = useDebounced(() => void load(), 1000);
  useLiveEvents(feed, (event) => {
    if (event.kind === "entry") reload();
  });

  const nowMs = state === null ? null : Date.parse(state.now) + (state.frozen ? 0 : performance.now() - readAt);
  return {
    state,
    nowMs,
    error,
    reload: () => void load(),
    async change(body) {
      accept(await control<ClockState>("POST", "/clock", body));
      setError(null);
    },
  };
}

const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

export function ClockBadge(props: { clock: ClockModel }) {
  const { nowMs, state } = props.clock;
  return (
    <span class="clock-badge" aria-label="Emulator time">
      <time dateTime={nowMs === null ? undefined : new Date(nowMs).toISOString()}>{nowMs === null ? "…" : isoSeconds(nowMs)}</time>
      {state?.frozen ? <span class="badge info">frozen</span> : null}
    </span>
  );
}

const quickSteps = [
  { label: "+1 min", advance: "PT1M" },
  { label: "+1 h", advance: "PT1H" },
  { label: "+24 h", advance: "PT24H" },
  { label: "+24 h 1 s (keys expire)", advance: "PT24H1S" },
];

export function ClockView(props: { clock: ClockModel }) {
  const { clock } = props;
  // One note per place a change is sent from, shown beside it.
  const buttons = useSubmission();
  // A test or a scenario may have moved the clock since it was last read.
  useEffect(() => clock.reload(), []);
  return (
    <div class="stack">
      <Section title="Clock">
        <p class="clock-now">
          <span class="muted">Emulator time</span>{" "}
          <output aria-live="off" data-testid="clock-now">
            {clock.nowMs === null ? "…" : new Date(clock.nowMs).toISOString()}
          </output>{" "}
          {clock.state?.frozen ? <span class="badge info">frozen</span> : <span class="badge good">running</span>}
        </p>
        <p class="muted">
          Idempotency keys (24 h), token expiry, rate-limit windows, <code>acceptedAt</code>, job times and fault rules with an end all follow this clock.
        </p>
        <ErrorNote error={clock.error} />
        <div class="actions">
          {clock.state?.frozen ? (
            <button type="button" onClick={() => void buttons.run(() => clock.change({ freeze: false }))}>
              Unfreeze
            </button>
          ) : (
            <button type="button" onClick={() => void buttons.run(() => clock.change({ freeze: true }))}>
              Freeze
            </button>
          )}
          {quickSteps.map((step) => (
            <button key={step.advance} type="button" onClick={() => void buttons.run(() => clock.change({ advance: step.advance }))}>
              {step.label}
            </button>
          ))}
        </div>
        <ErrorNote error={buttons.error} />
        <ClockForm name="Advance the clock" label="Advance by (ISO 8601 duration)" initial="PT30S" placeholder="PT30S" submit="Advance" errorId="clock-advance-error" change={(text) => clock.change({ advance: text })} />
        <ClockForm name="Set the clock" label="Set to (RFC 3339 with an offset)" initial="" placeholder="2026-04-21T15:30:00Z" submit="Set" errorId="clock-set-error" change={(text) => clock.change({ set: text })} />
      </Section>
    </div>
  );
}

/** One text field and its button that change the clock, with its own note of what was refused. */
function ClockForm(props: { name: string; label: string; initial: string; placeholder: string; submit: string; errorId: string; change: (text: string) => Promise<void> }) {
  const [text, setText] = useState(props.initial);
  const submission = useSubmission();
  return (
    <form
      class="inline-form"
      aria-label={props.name}
      onSubmit={(event) => {
        event.preventDefault();
        void submission.run(() => props.change(text.trim()));
      }}
    >
      <Field label={props.label}>
        {(id) => (
          <input
            id={id}
            value={text}
            onInput={(event) => setText(event.currentTarget.value)}
            placeholder={props.placeholder}
            required
            spellcheck={false}
            aria-invalid={submission.error !== null}
            aria-describedby={submission.error !== null ? props.errorId : undefined}
          />
        )}
      </Field>
      <button type="submit" disabled={submission.busy}>
        {props.submit}
      </button>
      <ErrorNote error={submission.error} id={props.errorId} />
    </form>
  );
}
