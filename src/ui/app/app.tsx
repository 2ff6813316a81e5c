import { useEffect, useRef, useState } from "preact/hooks";
import type { ObjectInfo } from "../../domain/control-plane.js";
import { control, settle } from "./api.js";
import { AuditView } from "./audit.js";
import { ClockBadge, ClockView, useClock } from "./clock.js";
import { ErrorNote, Select, useSubmission } from "./components.js";
import { FaultsView } from "./faults.js";
import { JobsView } from "./jobs.js";
import { JournalView } from "./journal.js";
import { useFeedVersion, useLiveEvents, type LiveFeed } from "./live.js";
import { ObjectsView } from "./objects.js";
import { TokenPrompt } from "./token-prompt.js";

/** The views in the order the navigation lists them: the hash that shows each → its name. */
const views = { objects: "Objects", jobs: "Jobs", journal: "Journal", audit: "Audit", faults: "Faults & scenarios", clock: "Clock" } as const;
type ViewId = keyof typeof views;

const viewFromHash = (): ViewId => {
  const id = window.location.hash.replace(/^#\/?/, "");
  return Object.hasOwn(views, id) ? (id as ViewId) : "objects";
};

const WORKSPACE_KEY = "cdp-emulator.workspace";

export function App(props: { feed: LiveFeed }) {
  const { feed } = props;
  const [view, setView] = useState<ViewId>(viewFromHash);
  const [workspaces, setWorkspaces] = useState<string[]>([]);
  const [workspace, setWorkspace] = useState<string>(() => window.localStorage.getItem(WORKSPACE_KEY) ?? "default");
  const [objects, setObjects] = useState<ObjectInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState("");
  const clock = useClock(feed);
  useFeedVersion(feed);

  // A notice is read out by screen readers (role=status) and then goes away.
  useEffect(() => {
    if (notice === "") return;
    const timer = window.setTimeout(() => setNotice(""), 5000);
    return () => window.clearTimeout(timer);
  }, [notice]);

  useEffect(() => {
    const onHash = () => setView(viewFromHash());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  const loadWorkspaces = () => settle(control<{ workspaces: string[] }>("GET", "/workspaces"), { apply: (data) => setWorkspaces(data.workspaces), onError: setError });

  useEffect(() => {
    void loadWorkspaces();
    void settle(control<{ objects: ObjectInfo[] }>("GET", "/objects"), { apply: (data) => setObjects(data.objects), onError: setError });
  }, []);

  // A write to a workspace the list does not know yet (one a test just made) adds it.
  useLiveEvents(feed, (event) => {
    if (event.kind === "entry" && event.entry.workspace !== null && !workspaces.includes(event.entry.workspace)) void loadWorkspaces();
  });

  const chooseWorkspace = (name: string) => {
    setWorkspace(name);
    window.localStorage.setItem(WORKSPACE_KEY, name);
  };
  const known = workspaces.includes(workspace) ? workspaces : [workspace, ...workspaces];

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <h1>
          cdp-emulator <span class="muted">dashboard</span>
        </h1>
        <nav aria-label="Views">
          <ul>
            {Object.entries(views).map(([id, label]) => (
              <li key={id}>
                <a href={`#${id}`} aria-current={view === id ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="context">
          <Select label="Workspace" value={workspace} options={known} onChange={chooseWorkspace} />
          <ResetButton
            workspace={workspace}
            onDone={(message) => {
              setNotice(message);
              void loadWorkspaces();
            }}
          />
          <ClockBadge clock={clock} />
          <span class={`live ${feed.state}`} title="The event stream from /_emulator/events">
            {feed.state === "open" ? "live" : feed.state}
          </span>
        </div>
      </header>
      <ErrorNote error={error} />
      <main id="main" tabIndex={-1}>
        {view === "objects" && <ObjectsView workspace={workspace} objects={objects} feed={feed} />}
        {view === "jobs" && <JobsView workspace={workspace} feed={feed} />}
        {view === "journal" && <JournalView workspace={workspace} feed={feed} objects={objects} />}
        {view === "audit" && <AuditView workspace={workspace} feed={feed} />}
        {view === "faults" && <FaultsView workspace={workspace} workspaces={workspaces} objects={objects} feed={feed} clock={clock} onNotice={setNotice} />}
        {view === "clock" && <ClockView clock={clock} />}
      </main>
      <p class="notice" role="status" aria-live="polite">
        {notice}
      </p>
      <TokenPrompt />
    </div>
  );
}

/** Reset wipes a workspace's rows, jobs, journal and rules: ask first, in a modal dialog. */
function ResetButton(props: { workspace: string; onDone: (message: string) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const submission = useSubmission();
  const reset = () =>
    submission.run(async () => {
      await control("POST", `/reset?workspace=${encodeURIComponent(props.workspace)}`, {});
      dialog.current?.close();
      props.onDone(`Workspace ${props.workspace} was reset.`);
    });
  return (
    <>
      <button type="button" class="danger" onClick={() => dialog.current?.showModal()}>
        Reset workspace…
      </button>
      <dialog ref={dialog} aria-labelledby="reset-title" aria-describedby="reset-what">
        <h2 id="reset-title">Reset workspace “{props.workspace}”?</h2>
        <p id="reset-what">
          This deletes its rows, identities, collisions, idempotency keys, jobs, journal entries and the fault rules that match it. Its tokens stay.
        </p>
        <ErrorNote error={submission.error} />
        <div class="actions">
          <button type="button" onClick={() => dialog.current?.close()} autoFocus>
            Cancel
          </button>
          <button type="button" class="danger" disabled={submission.busy} onClick={() => void reset()}>
            Reset {props.workspace}
          </button>
        </div>
      </dialog>
    </>
  );
}
