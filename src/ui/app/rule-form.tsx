import { useEffect, useRef, useState } from "preact/hooks";
import type { ObjectInfo } from "../../domain/control-plane.js";
import { operationNames } from "../../domain/vocabulary.js";
import { ErrorNote, Field, Section, Select, useSubmission, type Submission } from "./components.js";
import { faultStatuses } from "../../domain/vocabulary.js";

/**
 * The form that adds one fault rule: every field optional but the outcome, sent as typed, so the
 * server names the field it refuses and the form puts the focus there.
 */

/** A rule as sent: loosely typed, because a field the person got wrong goes as they typed it. */
export type RuleInput = { match?: Record<string, unknown>; action: Record<string, unknown>; schedule?: Record<string, unknown> };

const statuses = faultStatuses.map(String);

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

export function RuleForm(props: { objects: ObjectInfo[]; workspaces: string[]; onAdd: (submission: Submission, rule: RuleInput) => Promise<boolean> }) {
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
  const choice = (name: keyof FormState, label: string, options: readonly string[], anyLabel?: string) => (
    <Select label={label} value={String(form[name])} options={options} anyLabel={anyLabel} attributes={{ name, ...invalid(name) }} onChange={(value) => set(name, value as never)} />
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
          {choice("operation", "Operation", operationNames, "any")}
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
          {choice("outcome", "Outcome", ["status", "reset", "timeout", "malformed", "delay"])}
          {form.outcome === "status" ? (
            <>
              {choice("status", "Status", statuses)}
              {text("retryAfter", "Retry-After (s)", { inputMode: "decimal", placeholder: "429: 1" })}
            </>
          ) : null}
          {form.outcome === "timeout" ? (
            <>
              {text("holdMs", "Hold (ms)", { inputMode: "numeric" })}
              {choice("then", "Then", ["504", "drop"])}
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
