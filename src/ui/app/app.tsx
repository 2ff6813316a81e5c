import { useEffect, useRef, useState } from "preact/hooks";
import { control, errorText } from "./api.js";
import { ClockBadge, ClockView, useClock } from "./clock.js";
import { ErrorNote, Field } from "./components.js";
import { FaultsView } from "./faults.js";
import { JobsView } from "./jobs.js";
import { JournalView } from "./journal.js";
import { useFeedVersion, useLiveEvents, type LiveFeed } from "./live.js";
import { ObjectsView } from "./objects.js";
import { TokenPrompt } from "./token-prompt.js";
import type { ObjectInfo } from "./types.js";

const views = [
  { id: "objects", label: "Objects" },
  { id: "jobs", label: "Jobs" },
  { id: "journal", label: "Journal" },
  { id: "faults", label: "Faults & scenarios" },
  { id: "clock", label: "Clock" },
] as const;
type ViewId = (typeof views)[number]["id"];

const viewFromHash = (): ViewId => {
  const id = window.location.hash.replace(/^#\/?/, "");
  return views.find((view) => view.id === id)?.id ?? "objects";
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

  const loadWorkspaces = () =>
    control<{ workspaces: string[] }>("GET", "/workspaces")
      .then((data) => setWorkspaces(data.workspaces))
      .catch((failure: unknown) => setError(errorText(failure)));

  useEffect(() => {
    void loadWorkspaces();
    control<{ objects: ObjectInfo[] }>("GET", "/objects")
      .then((data) => setObjects(data.objects))
      .catch((failure: unknown) => setError(errorText(failure)));
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
            {views.map((item) => (
              <li key={item.id}>
                <a href={`#${item.id}`} aria-current={view === item.id ? "page" : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="context">
          <Field label="Workspace">
            {(id) => (
              <select id={id} value={workspace} onChange={(event) => chooseWorkspace(event.currentTarget.value)}>
                {known.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            )}
          </Field>
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
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reset = async () => {
    setBusy(true);
    setError(null);
    try {
      await control("POST", `/reset?workspace=${encodeURIComponent(props.workspace)}`, {});
      dialog.current?.close();
      props.onDone(`Workspace ${props.workspace} was reset.`);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };
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
        <ErrorNote error={error} />
        <div class="actions">
          <button type="button" onClick={() => dialog.current?.close()} autoFocus>
            Cancel
          </button>
          <button type="button" class="danger" disabled={busy} onClick={() => void reset()}>
            Reset {props.workspace}
          </button>
        </div>
      </dialog>
    </>
  );
}
