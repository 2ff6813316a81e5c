import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";
import { control, errorText } from "./api.js";
import { ErrorNote, Field, JsonBlock, Section, StatusBadge, timeOf } from "./components.js";
import { groupRetries, statusMatches, type EntryGroup, type StatusFilter } from "./group.js";
import { useFeedVersion, type LiveFeed } from "./live.js";
import type { JournalEntry, ObjectInfo } from "./types.js";

const operations = ["append", "upsert", "append-batch", "upsert-batch", "job-status", "metadata"];
/** Rows drawn at once; the feed holds more, and the journal endpoint all of them. */
const MAX_ROWS = 300;

export function JournalView(props: { workspace: string; feed: LiveFeed; objects: ObjectInfo[] }) {
  const { feed, workspace } = props;
  useFeedVersion(feed);
  const [status, setStatus] = useState<StatusFilter>("");
  const [operation, setOperation] = useState("");
  const [key, setKey] = useState("");
  const [onlyWorkspace, setOnlyWorkspace] = useState(false);
  const [grouped, setGrouped] = useState(true);
  const [selected, setSelected] = useState<number | null>(null);
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);

  const entries = feed.entries;
  const fits = (entry: JournalEntry): boolean =>
    statusMatches(status, entry.status) &&
    (operation === "" || entry.operation === operation) &&
    (key === "" || (entry.idempotencyKey ?? "").includes(key)) &&
    (!onlyWorkspace || entry.workspace === workspace);

  // Grouped, a call is shown when any of its attempts fits, with all its attempts: "503 → 200".
  const groups: EntryGroup[] = useMemo(() => {
    if (grouped) return groupRetries(entries).filter((group) => group.entries.some(fits)).reverse().slice(0, MAX_ROWS);
    return entries
      .filter(fits)
      .reverse()
      .slice(0, MAX_ROWS)
      .map((entry) => ({ id: `#${entry.seq}`, idempotencyKey: entry.idempotencyKey, entries: [entry], chain: "" }));
  }, [entries, grouped, status, operation, key, onlyWorkspace, workspace]);

  const statusesSeen = useMemo(() => [...new Set(entries.map((entry) => entry.status).filter((code): code is number => code !== null))].sort(), [entries]);
  const chosen = entries.find((entry) => entry.seq === selected);
  const toggle = (id: string) =>
    setExpanded((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const clear = async () => {
    try {
      await control("DELETE", "/journal");
      setSelected(null);
    } catch (failure) {
      setError(errorText(failure));
    }
  };

  return (
    <div class="split">
      <Section
        title="Journal"
        actions={
          <>
            <span class="muted">
              {entries.length} request{entries.length === 1 ? "" : "s"}
            </span>
            <button type="button" onClick={() => void clear()}>
              Clear journal
            </button>
          </>
        }
      >
        <form class="toolbar" aria-label="Filter the journal" onSubmit={(event) => event.preventDefault()}>
          <Field label="Status">
            {(id) => (
              <select id={id} value={status} onChange={(event) => setStatus(event.currentTarget.value as StatusFilter)}>
                <option value="">any</option>
                <option value="2xx">2xx</option>
                <option value="4xx">4xx</option>
                <option value="5xx">5xx</option>
                <option value="none">no response</option>
                {statusesSeen.map((code) => (
                  <option key={code} value={String(code)}>
                    {code}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Operation">
            {(id) => (
              <select id={id} value={operation} onChange={(event) => setOperation(event.currentTarget.value)}>
                <option value="">any</option>
                {operations.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Idempotency key">
            {(id) => (
              <input id={id} type="search" value={key} onInput={(event) => setKey(event.currentTarget.value)} placeholder="contains" spellcheck={false} />
            )}
          </Field>
          <label class="check">
            <input type="checkbox" checked={onlyWorkspace} onChange={(event) => setOnlyWorkspace(event.currentTarget.checked)} /> Only {workspace}
          </label>
          <label class="check">
            <input type="checkbox" checked={grouped} onChange={(event) => setGrouped(event.currentTarget.checked)} /> Group retries by key
          </label>
        </form>
        <ErrorNote error={error} />
        <div class="table-wrap">
          <table class="journal">
            <caption class="sr-only">Public requests, newest first; choose one to see its request and response bodies.</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Time</th>
                <th scope="col">Method</th>
                <th scope="col">
                  Path <span class="muted small">(under /public/v1)</span>
                </th>
                <th scope="col">Status</th>
                <th scope="col">Fault</th>
                <th scope="col">Idempotency key</th>
                <th scope="col">ms</th>
              </tr>
            </thead>
            <tbody>
              {groups.map((group) => {
                const last = group.entries[group.entries.length - 1];
                if (!last) return null;
                const retried = group.entries.length > 1;
                const open = expanded.has(group.id);
                return [
                  <EntryRow
                    key={group.id}
                    entry={last}
                    selected={selected === last.seq}
                    onSelect={() => setSelected(last.seq)}
                    chain={retried ? group.chain : null}
                    expander={
                      retried ? (
                        <button type="button" class="expander" aria-expanded={open} aria-label={`${open ? "Hide" : "Show"} the ${group.entries.length} attempts`} onClick={() => toggle(group.id)}>
                          {open ? "▾" : "▸"}
                        </button>
                      ) : null
                    }
                  />,
                  ...(retried && open
                    ? group.entries.map((entry) => (
                        <EntryRow key={`${group.id}:${entry.seq}`} entry={entry} attempt selected={selected === entry.seq} onSelect={() => setSelected(entry.seq)} chain={null} expander={null} />
                      ))
                    : []),
                ];
              })}
            </tbody>
          </table>
        </div>
        {groups.length === 0 ? <p class="muted empty">{entries.length === 0 ? "No requests yet: anything sent to /public/v1 shows up here as it happens." : "No request fits the filters."}</p> : null}
      </Section>
      {chosen ? <EntryDetail entry={chosen} onClose={() => setSelected(null)} /> : null}
    </div>
  );
}

function EntryRow(props: {
  entry: JournalEntry;
  selected: boolean;
  onSelect: () => void;
  chain: string | null;
  expander: ComponentChildren;
  attempt?: boolean;
}) {
  const { entry } = props;
  return (
    <tr class={`${props.selected ? "selected" : ""} ${props.attempt ? "attempt" : ""} ${entry.status === null || entry.status >= 500 ? "failed" : ""}`} onClick={props.onSelect}>
      <td class="nowrap">
        {props.expander}
        <button type="button" class="link" aria-pressed={props.selected} aria-label={`Request ${entry.seq}: ${entry.method} ${entry.path}`} onClick={props.onSelect}>
          {entry.seq}
        </button>
      </td>
      <td class="nowrap mono">{timeOf(entry.at)}</td>
      <td>{entry.method}</td>
      <td class="path mono" title={entry.path}>
        {entry.path.replace(/^\/public\/v1/, "")}
      </td>
      <td class="nowrap">
        {props.chain !== null ? <span class="chain" data-testid="retry-chain">{props.chain}</span> : <StatusBadge status={entry.status} replayed={entry.replayed} />}
      </td>
      <td class="mono small">{entry.fault ?? ""}</td>
      <td class="mono small">{entry.idempotencyKey ?? ""}</td>
      <td class="num">{entry.durationMs.toFixed(1)}</td>
    </tr>
  );
}

function EntryDetail(props: { entry: JournalEntry; onClose: () => void }) {
  const { entry } = props;
  return (
    <Section
      title={`Request ${entry.seq}`}
      id="entry-detail"
      actions={
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      }
    >
      <p class="mono">
        {entry.method} {entry.path}
      </p>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={entry.status} replayed={entry.replayed} />
        </dd>
        <dt>At</dt>
        <dd>{entry.at}</dd>
        <dt>Workspace</dt>
        <dd>{entry.workspace ?? "— (not authenticated)"}</dd>
        <dt>Operation</dt>
        <dd>{entry.operation ?? "—"}</dd>
        <dt>Fault</dt>
        <dd>{entry.fault ?? "none"}</dd>
        <dt>Idempotency key</dt>
        <dd class="mono">{entry.idempotencyKey ?? "none"}</dd>
        <dt>Correlation id</dt>
        <dd class="mono">{entry.correlationId}</dd>
        <dt>Duration</dt>
        <dd>{entry.durationMs.toFixed(2)} ms</dd>
      </dl>
      <JsonBlock label="Request body" value={entry.requestBody} />
      <JsonBlock label="Response body" value={entry.responseBody} />
    </Section>
  );
}
