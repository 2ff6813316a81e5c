import type { ComponentChildren } from "preact";
import { useMemo, useRef, useState } from "preact/hooks";
import type { JournalEntry, ObjectInfo } from "../../domain/control-plane.js";
import { operationNames } from "../../domain/vocabulary.js";
import { control, settle } from "./api.js";
import { ClipCell, DetailSection, ErrorNote, Field, FixedTable, HeadersBlock, JsonBlock, Section, Select, StatusBadge, timeOf, type Choice, type Column } from "./components.js";
import { curlCommand } from "./curl.js";
import { groupRetries, statusMatches, type EntryGroup, type StatusFilter } from "./group.js";
import { useFeedVersion, type LiveFeed } from "./live.js";

/** Rows drawn at once; the feed holds more, and the journal endpoint all of them. */
const MAX_ROWS = 300;
/**
 * Fixed widths, so a long path, key or fault label is cut in its own cell instead of pushing
 * columns out of sight; the path takes what the others leave.
 */
const columns: readonly Column[] = [
  { heading: "#", wide: "60px" },
  { heading: "Time", wide: "100px" },
  { heading: "Method", wide: "64px" },
  { heading: "Path", title: "Paths are under /public/v1" },
  { heading: "Status", wide: "140px", narrow: "128px" },
  { heading: "Fault", wide: "170px", narrow: "96px" },
  { heading: "Idempotency key", wide: "200px", narrow: "116px" },
  { heading: "Duration", class: "num", wide: "84px", narrow: "78px" },
];
/** Status classes first, then each status the journal has seen. */
const statusClasses: readonly Choice[] = ["2xx", "4xx", "5xx", { value: "none", label: "no response" }];

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

  const clear = () => settle(control("DELETE", "/journal"), { apply: () => setSelected(null), onError: setError });

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
          <Select
            label="Status"
            value={status}
            options={[...statusClasses, ...statusesSeen.map(String)]}
            anyLabel="any"
            onChange={(value) => setStatus(value as StatusFilter)}
          />
          <Select label="Operation" value={operation} options={operationNames} anyLabel="any" onChange={setOperation} />
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
        <FixedTable class="journal" caption="Public requests, newest first; choose one to see its headers and bodies." columns={columns} minWidth={{ wide: "1020px", narrow: "780px" }}>
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
        </FixedTable>
        {groups.length === 0 ? <p class="muted empty">{entries.length === 0 ? "No requests yet: anything sent to /public/v1 shows up here as it happens." : "No request fits the filters."}</p> : null}
      </Section>
      {chosen ? <EntryDetail key={chosen.seq} entry={chosen} onClose={() => setSelected(null)} /> : null}
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
      <td class="nowrap mono time">{timeOf(entry.at)}</td>
      <td>{entry.method}</td>
      <td class="path mono" title={entry.path}>
        {slashBreaks(entry.path.replace(/^\/public\/v1/, ""))}
      </td>
      <td>
        {props.chain !== null ? <span class="chain" data-testid="retry-chain">{props.chain}</span> : <StatusBadge status={entry.status} replayed={entry.replayed} />}
      </td>
      <ClipCell class="mono small" text={entry.fault ?? ""} />
      <ClipCell class="mono small" text={entry.idempotencyKey ?? ""} />
      <td class="num nowrap">{entry.durationMs.toFixed(1)} ms</td>
    </tr>
  );
}

/**
 * A path that may wrap after any slash: its end (object, operation, job id) is what tells two
 * requests apart, so a narrow column wraps it rather than cutting it off.
 */
function slashBreaks(path: string): ComponentChildren {
  return path.split("/").map((segment, index) => (index === 0 ? segment : [<wbr key={index} />, `/${segment}`]));
}

function EntryDetail(props: { entry: JournalEntry; onClose: () => void }) {
  const { entry } = props;
  const curl = curlCommand(entry, window.location.origin);
  const [copied, setCopied] = useState("");
  const commandBlock = useRef<HTMLPreElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(curl.command);
      setCopied("Copied the curl command.");
    } catch {
      // No clipboard (an insecure origin, or permission refused): select it for Ctrl+C instead.
      const block = commandBlock.current;
      const selection = window.getSelection();
      if (block && selection) selection.selectAllChildren(block);
      setCopied("The browser refused the clipboard: the command is selected, press Ctrl+C.");
    }
  };
  return (
    <DetailSection
      kind="Request"
      name={String(entry.seq)}
      plain
      id="entry-detail"
      onClose={props.onClose}
      actions={
        <button type="button" onClick={() => void copy()}>
          Copy as curl
        </button>
      }
    >
      <p class="muted small copy-status" role="status">
        {copied}
      </p>
      <p class="mono request-line">
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
      <HeadersBlock label="Request headers" headers={entry.requestHeaders} dropped={entry.headersDropped?.request ?? 0} none="none" />
      <p class="muted small">Authorization, Cookie and Proxy-Authorization are never journaled.</p>
      <JsonBlock label="Request body" value={entry.requestBody} />
      <HeadersBlock label="Response headers" headers={entry.responseHeaders} dropped={entry.headersDropped?.response ?? 0} none="none: no response was sent" />
      <JsonBlock label="Response body" value={entry.responseBody} />
      <figure class="curl">
        <figcaption>As curl</figcaption>
        {curl.caveats.map((caveat) => (
          <p key={caveat} class="warn-text small">
            {caveat}
          </p>
        ))}
        <pre ref={commandBlock} tabIndex={0} aria-label="The request as a curl command">
          {curl.command}
        </pre>
        <p class="muted small">
          Set <code>CDP_TOKEN</code> to a token of workspace {entry.workspace ?? "the request's"} first: the journal never keeps the token that was sent.
        </p>
      </figure>
    </DetailSection>
  );
}
