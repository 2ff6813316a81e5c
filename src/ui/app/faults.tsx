import { useEffect, useRef, useState } from "preact/hooks";
import { control, errorText } from "./api.js";
import type { ClockModel } from "./clock.js";
import { dateTimeOf, ErrorNote, Field, Section, useSubmission, type Submission } from "./components.js";
import { useDebounced, useLiveEvents, type LiveFeed } from "./live.js";
import type { FaultRule, ObjectInfo, ScenarioSummary } from "./types.js";

type RuleInput = { match?: Record<string, unknown>; action: Record<string, unknown>; schedule?: Record<string, unknown> };

/** One click each; every public POST is a write. */
const presets: { label: string; description: string; rule: RuleInput }[] = [
  {
    label: "503 for 30 s",
    description: "every public request gets 503 with Retry-After 1 for the next 30 s of emulator time",
    rule: { action: { status: 503, retryAfter: 1 }, schedule: { forSeconds: 30 } },
  },
  {
    label: "429, Retry-After 2",
    description: "the next write gets 429 with Retry-After: 2",
    rule: { match: { method: "POST" }, action: { status: 429, retryAfter: 2 }, schedule: { times: 1 } },
  },
  {
    label: "Lost ack on next write",
    description: "the next write commits, then its connection is reset; a retry with the same key replays the 200",
    rule: { match: { method: "POST" }, action: { afterCommit: true, reset: true }, schedule: { times: 1 } },
  },
];

const operations = ["append", "upsert", "append-batch", "upsert-batch", "job-status", "metadata"];
const statuses = ["409", "429", "500", "502", "503", "504"];

export function FaultsView(props: {
  workspace: string;
  workspaces: string[];
  objects: ObjectInfo[];
  feed: LiveFeed;
  clock: ClockModel;
  onNotice: (message: string) => void;
}) {
  const { feed, clock } = props;
  const [rules, setRules] = useState<FaultRule[]>([]);
  const [scenarios, setScenarios] = useState<ScenarioSummary[]>([]);
  const [active, setActive] = useState<string | null>(null);
  const [scenario, setScenario] = useState("");
  const [error, setError] = useState<string | null>(null);
  // Each place that sends something shows its own refusal beside itself.
  const presetRun = useSubmission();
  const rulesRun = useSubmission();
  const scenarioRun = useSubmission();

  const loadRules = async () => {
    try {
      setRules((await control<{ faults: FaultRule[] }>("GET", "/faults")).faults);
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  const loadScenarios = async () => {
    try {
      const data = await control<{ scenarios: ScenarioSummary[]; active: string | null }>("GET", "/scenarios");
      setScenarios(data.scenarios);
      setActive(data.active);
      setScenario((current) => current || data.active || data.scenarios[0]?.name || "");
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  useEffect(() => {
    void loadRules();
    void loadScenarios();
  }, []);
  // Hit counts move with requests: re-read the rules after journal activity.
  const reload = useDebounced(() => void loadRules(), 250);
  useLiveEvents(feed, (event) => {
    if (event.kind === "entry" || event.kind === "cleared") reload();
  });

  /** Sends `work` as `submission`, whose note shows a refusal; on success says `notice` and re-reads the rules. */
  const run = async (submission: Submission, work: () => Promise<unknown>, notice: string): Promise<boolean> => {
    const done = await submission.run(work);
    if (done) props.onNotice(notice);
    await loadRules();
    return done;
  };

  const chosen = scenarios.find((candidate) => candidate.name === scenario);
  return (
    <div class="stack">
      <Section title="Presets">
        <ul class="presets">
          {presets.map((preset) => (
            <li key={preset.label}>
              <button type="button" onClick={() => void run(presetRun, () => control("POST", "/faults", preset.rule), `Added: ${preset.label}.`)}>
                {preset.label}
              </button>
              <span class="muted small">{preset.description}</span>
            </li>
          ))}
        </ul>
        <ErrorNote error={presetRun.error} />
      </Section>
      <Section
        title="Active fault rules"
        id="rules"
        actions={
          rules.length > 0 ? (
            <button type="button" class="danger" onClick={() => void run(rulesRun, () => control("DELETE", "/faults"), "Removed every fault rule.")}>
              Remove all
            </button>
          ) : null
        }
      >
        <ErrorNote error={error ?? rulesRun.error} />
        <div class="table-wrap">
          <table class="rules">
            <caption class="sr-only">Fault rules in the order they are tried; the first that matches and fires wins. A rule switched off is skipped.</caption>
            <thead>
              <tr>
                <th scope="col">On</th>
                <th scope="col">Rule</th>
                <th scope="col">Source</th>
                <th scope="col">Match</th>
                <th scope="col">Action</th>
                <th scope="col">Schedule</th>
                <th scope="col">Matched</th>
                <th scope="col">Hits</th>
                <th scope="col">
                  <span class="sr-only">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rules.map((rule) => {
                const ended = rule.schedule.until !== undefined && clock.nowMs !== null && clock.nowMs >= Date.parse(rule.schedule.until);
                return (
                  <tr key={rule.id} class={`${ended ? "ended" : ""} ${rule.enabled ? "" : "off"}`}>
                    <td>
                      {/* A switch, not a delete: the rule keeps its place, schedule and counts while off. */}
                      <input
                        type="checkbox"
                        role="switch"
                        class="switch"
                        checked={rule.enabled}
                        aria-label={`Rule ${rule.id} on`}
                        onChange={(event) => {
                          const enabled = event.currentTarget.checked;
                          void run(
                            rulesRun,
                            () => control("PATCH", `/faults/${encodeURIComponent(rule.id)}`, { enabled }),
                            `${rule.id} switched ${enabled ? "on" : "off"}.`,
                          );
                        }}
                      />
                    </td>
                    <td class="mono">
                      {rule.id}
                      {rule.enabled ? null : <span class="badge none">off</span>}
                    </td>
                    <td class="small">{rule.source}</td>
                    <td class="mono small">{describe(rule.match) || "every request"}</td>
                    <td class="mono small">{describe(rule.action)}</td>
                    <td class="mono small">
                      {describe({ ...rule.schedule, until: undefined }) || (rule.schedule.until ? "" : "always")}
                      {rule.schedule.until ? (
                        <span>
                          {" "}
                          until {dateTimeOf(rule.schedule.until)} {ended ? <span class="badge none">ended</span> : <span class="badge warn">active</span>}
                        </span>
                      ) : null}
                    </td>
                    <td class="num">{rule.matched}</td>
                    <td class="num">{rule.hits}</td>
                    <td>
                      <button
                        type="button"
                        aria-label={`Remove rule ${rule.id}`}
                        onClick={() => void run(rulesRun, () => control("DELETE", `/faults/${encodeURIComponent(rule.id)}`), `Removed ${rule.id}.`)}
                      >
                        Remove
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {rules.length === 0 ? <p class="muted empty">No fault rules: every request is answered normally (unless it sends X-Emulator-Fault).</p> : null}
      </Section>
      <RuleForm objects={props.objects} workspaces={props.workspaces} onAdd={(submission, rule) => run(submission, () => control("POST", "/faults", rule), "Fault rule added.")} />
      <Section title="Scenario">
        <form
          class="inline-form"
          aria-label="Apply a scenario"
          onSubmit={(event) => {
            event.preventDefault();
            void run(
              scenarioRun,
              async () => {
                await control("POST", `/scenarios/${encodeURIComponent(scenario)}`);
                await loadScenarios();
              },
              `Scenario ${scenario} applied.`,
            );
          }}
        >
          <Field label="Scenario">
            {(id) => (
              <select id={id} value={scenario} onChange={(event) => setScenario(event.currentTarget.value)}>
                {scenarios.map((candidate) => (
                  <option key={candidate.name} value={candidate.name}>
                    {candidate.name}
                    {candidate.name === active ? " (active)" : ""}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <button type="submit" disabled={!scenario || scenarioRun.busy}>
            Apply scenario
          </button>
          <ErrorNote error={scenarioRun.error} />
        </form>
        <p class="muted">
          Active: <strong>{active ?? "none"}</strong>
          {chosen ? ` — ${chosen.name}: ${chosen.description}` : ""}
        </p>
      </Section>
    </div>
  );
}

/** `{status: 503, retryAfter: 1}` → "status 503, retryAfter 1". */
function describe(parts: Record<string, unknown>): string {
  return Object.entries(parts)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name} ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(", ");
}

interface FormState {
  operation: string;
  object: string;
  method: string;
  path: string;
  workspace: string;
  idempotencyKey: string;
  headerName: string;
  headerValue: string;
  outcome: "status" | "reset" | "timeout" | "malformed" | "delay";
  status: string;
  retryAfter: string;
  delayMs: string;
  jitterMs: string;
  holdMs: string;
  then: "504" | "drop";
  afterCommit: boolean;
  times: string;
  after: string;
  every: string;
  probability: string;
  seed: string;
  forSeconds: string;
}

const emptyForm: FormState = {
  operation: "",
  object: "",
  method: "",
  path: "",
  workspace: "",
  idempotencyKey: "",
  headerName: "",
  headerValue: "",
  outcome: "status",
  status: "503",
  retryAfter: "",
  delayMs: "",
  jitterMs: "",
  holdMs: "1000",
  then: "504",
  afterCommit: false,
  times: "",
  after: "",
  every: "",
  probability: "",
  seed: "",
  forSeconds: "",
};

/** A number when the text is one; otherwise the text, so the server names the field it refuses. */
const numeric = (text: string): number | string => (text.trim() !== "" && Number.isFinite(Number(text)) ? Number(text) : text);

export function toRule(form: FormState): RuleInput {
  const match: Record<string, unknown> = {};
  for (const name of ["operation", "object", "method", "path", "workspace", "idempotencyKey"] as const) if (form[name].trim() !== "") match[name] = form[name].trim();
  if (form.headerName.trim() !== "") match["header"] = { [form.headerName.trim()]: form.headerValue };
  const action: Record<string, unknown> = {};
  if (form.delayMs.trim() !== "") action["delayMs"] = numeric(form.delayMs);
  if (form.jitterMs.trim() !== "") action["jitterMs"] = numeric(form.jitterMs);
  if (form.outcome === "status") {
    action["status"] = Number(form.status);
    if (form.retryAfter.trim() !== "") action["retryAfter"] = numeric(form.retryAfter);
  }
  if (form.outcome === "reset") action["reset"] = true;
  if (form.outcome === "malformed") action["malformed"] = true;
  if (form.outcome === "timeout") action["timeout"] = { holdMs: numeric(form.holdMs), then: form.then === "504" ? 504 : "drop" };
  if (form.afterCommit) action["afterCommit"] = true;
  const schedule: Record<string, unknown> = {};
  for (const name of ["times", "after", "every", "probability", "seed", "forSeconds"] as const) if (form[name].trim() !== "") schedule[name] = numeric(form[name]);
  return { match, action, schedule };
}

/** The form field a server path names: `schedule.every` → every, `match.header.X-Run` → headerName. */
function fieldOf(path: string | null): keyof FormState | null {
  if (path === null) return null;
  if (path.startsWith("match.header")) return "headerName";
  const last = path.split(".").pop() ?? "";
  return Object.hasOwn(emptyForm, last) ? (last as keyof FormState) : null;
}

const ERROR_ID = "add-rule-error";

function RuleForm(props: { objects: ObjectInfo[]; workspaces: string[]; onAdd: (submission: Submission, rule: RuleInput) => Promise<boolean> }) {
  const [form, setForm] = useState<FormState>(emptyForm);
  const submission = useSubmission();
  const formRef = useRef<HTMLFormElement>(null);
  const faulty = submission.error === null ? null : fieldOf(submission.path);
  // The field the server refused gets the focus, so the person lands on what to fix.
  useEffect(() => {
    if (faulty === null) return;
    const element = formRef.current?.elements.namedItem(faulty);
    if (element instanceof HTMLElement) element.focus();
  }, [faulty, submission.error]);
  const set = <K extends keyof FormState>(name: K, value: FormState[K]) => setForm((current) => ({ ...current, [name]: value }));
  const invalid = (name: keyof FormState) => (faulty === name ? { "aria-invalid": true, "aria-describedby": ERROR_ID } : {});
  const text = (name: keyof FormState, label: string, extra: { placeholder?: string; inputMode?: "numeric" | "decimal" } = {}) => (
    <Field label={label}>
      {(id) => (
        <input
          id={id}
          name={name}
          value={String(form[name])}
          onInput={(event) => set(name, event.currentTarget.value as never)}
          placeholder={extra.placeholder}
          inputMode={extra.inputMode}
          spellcheck={false}
          {...invalid(name)}
        />
      )}
    </Field>
  );
  const choice = (name: keyof FormState, label: string, options: string[], anyLabel: string | null) => (
    <Field label={label}>
      {(id) => (
        <select id={id} name={name} value={String(form[name])} onChange={(event) => set(name, event.currentTarget.value as never)} {...invalid(name)}>
          {anyLabel !== null ? <option value="">{anyLabel}</option> : null}
          {options.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
  return (
    <Section title="Add a fault rule" id="add-rule">
      <form
        ref={formRef}
        class="rule-form"
        aria-label="Add a fault rule"
        onSubmit={(event) => {
          event.preventDefault();
          void props.onAdd(submission, toRule(form)).then((added) => {
            if (added) setForm(emptyForm);
          });
        }}
      >
        <fieldset>
          <legend>Match (all optional)</legend>
          {choice("operation", "Operation", operations, "any")}
          {choice(
            "object",
            "Object",
            props.objects.map((object) => object.objectName),
            "any",
          )}
          {choice("method", "Method", ["POST", "GET"], "any")}
          {text("path", "Path glob", { placeholder: "/public/v1/records/*/upsert" })}
          {choice("workspace", "Workspace", props.workspaces, "any")}
          {text("idempotencyKey", "Idempotency key")}
          {text("headerName", "Header name", { placeholder: "X-Test-Run" })}
          {text("headerValue", "Header value")}
        </fieldset>
        <fieldset>
          <legend>Action</legend>
          {choice("outcome", "Outcome", ["status", "reset", "timeout", "malformed", "delay"], null)}
          {form.outcome === "status" ? (
            <>
              {choice("status", "Status", statuses, null)}
              {text("retryAfter", "Retry-After (s)", { inputMode: "decimal", placeholder: "429: 1" })}
            </>
          ) : null}
          {form.outcome === "timeout" ? (
            <>
              {text("holdMs", "Hold (ms)", { inputMode: "numeric" })}
              {choice("then", "Then", ["504", "drop"], null)}
            </>
          ) : null}
          {text("delayMs", "Delay (ms)", { inputMode: "numeric" })}
          {text("jitterMs", "Jitter (ms)", { inputMode: "numeric" })}
          <label class="check">
            <input type="checkbox" name="afterCommit" checked={form.afterCommit} onChange={(event) => set("afterCommit", event.currentTarget.checked)} /> After commit (lost ack)
          </label>
        </fieldset>
        <fieldset>
          <legend>Schedule (all optional)</legend>
          {text("times", "First N matches", { inputMode: "numeric" })}
          {text("after", "Skip N", { inputMode: "numeric" })}
          {text("every", "Every Nth", { inputMode: "numeric" })}
          {text("probability", "Probability 0–1", { inputMode: "decimal" })}
          {text("seed", "Seed", { inputMode: "numeric" })}
          {text("forSeconds", "For seconds", { inputMode: "decimal" })}
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary" disabled={submission.busy}>
            Add rule
          </button>
          <button
            type="reset"
            onClick={() => {
              setForm(emptyForm);
              submission.clear();
            }}
          >
            Clear form
          </button>
        </div>
        {/* Beside the button that sent it: what the server refused, naming the field. */}
        <ErrorNote error={submission.error} id={ERROR_ID} />
      </form>
    </Section>
  );
}
