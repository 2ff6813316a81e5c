import { useEffect, useState } from "preact/hooks";
import type { FaultRule, ObjectInfo, ScenarioSummary } from "../../domain/control-plane.js";
import { control, settle } from "./api.js";
import type { ClockModel } from "./clock.js";
import { dateTimeOf, ErrorNote, Section, Select, TableHead, useSubmission, type Column, type Submission } from "./components.js";
import { useDebounced, useLiveEvents, type LiveFeed } from "./live.js";
import { RuleForm, type RuleInput } from "./rule-form.js";

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

const ruleColumns: readonly Column[] = [
  ...["On", "Rule", "Source", "Match", "Action", "Schedule", "Matched", "Hits"].map((heading) => ({ heading })),
  { heading: "Remove", unseen: true },
];

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

  const loadRules = () => settle(control<{ faults: FaultRule[] }>("GET", "/faults"), { apply: (data) => setRules(data.faults), onError: setError });
  const loadScenarios = () =>
    settle(control<{ scenarios: ScenarioSummary[]; active: string | null }>("GET", "/scenarios"), {
      apply: (data) => {
        setScenarios(data.scenarios);
        setActive(data.active);
        setScenario((current) => current || data.active || data.scenarios[0]?.name || "");
      },
      onError: setError,
    });
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
            <TableHead columns={ruleColumns} />
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
          <Select
            label="Scenario"
            value={scenario}
            options={scenarios.map((candidate) => ({ value: candidate.name, label: `${candidate.name}${candidate.name === active ? " (active)" : ""}` }))}
            onChange={setScenario}
          />
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
function describe(parts: object): string {
  return Object.entries(parts)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name} ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(", ");
}
