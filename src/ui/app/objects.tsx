import { useEffect, useMemo, useState } from "preact/hooks";
import { control, errorText, query } from "./api.js";
import { dateTimeOf, ErrorNote, Field, JsonBlock, Section, show } from "./components.js";
import { useDebounced, useLiveEvents, type LiveFeed } from "./live.js";
import type { Collision, Identifier, ObjectInfo, RowView } from "./types.js";

const PAGE = 100;

export function ObjectsView(props: { workspace: string; objects: ObjectInfo[]; feed: LiveFeed }) {
  const { workspace, objects, feed } = props;
  // First shown: the object the workspace's latest request wrote, else profiles, else the first.
  const [objectName, setObjectName] = useState<string>(
    () => [...feed.entries].reverse().find((entry) => entry.workspace === workspace && entry.object !== null)?.object ?? "profiles",
  );
  const object = objects.find((candidate) => candidate.objectName === objectName) ?? objects[0];
  const [field, setField] = useState("");
  const [value, setValue] = useState("");
  const [search, setSearch] = useState<{ field: string; value: string } | null>(null);
  const [rows, setRows] = useState<RowView[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [collisions, setCollisions] = useState<Collision[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async (more = false) => {
    if (!object) return;
    setLoading(true);
    try {
      const filter = search ? { [search.field]: search.value } : {};
      const page = await control<{ records: RowView[]; nextCursor: string | null }>(
        "GET",
        `/records/${encodeURIComponent(object.objectName)}${query({ workspace, limit: PAGE, cursor: more ? (nextCursor ?? undefined) : undefined, ...filter })}`,
      );
      const found = await control<{ collisions: Collision[] }>("GET", `/identity/collisions${query({ workspace, object: object.objectName, limit: 1000 })}`);
      setRows((current) => (more ? [...current, ...page.records] : page.records));
      setNextCursor(page.nextCursor);
      setCollisions(found.collisions);
      setError(null);
    } catch (failure) {
      setRows([]);
      setError(errorText(failure));
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    void load();
  }, [workspace, object?.objectName, search]);

  // New rows arrive through the public API (journaled) or a batch job: refetch, at most every 300 ms.
  const reload = useDebounced(() => void load(), 300);
  useLiveEvents(feed, (event) => {
    if (!object) return;
    if (event.kind === "entry" && event.entry.workspace === workspace && event.entry.object === object.objectName) reload();
    if (event.kind === "job" && event.job.workspace === workspace && event.job.objectName === object.objectName) reload();
    if (event.kind === "cleared") reload();
  });

  const colliding = useMemo(() => {
    const ids = new Set<string>();
    for (const collision of collisions) {
      ids.add(collision.rowId);
      ids.add(collision.otherRowId);
    }
    return ids;
  }, [collisions]);

  if (!object) return <p class="muted">Loading objects…</p>;
  const searchField = field || object.primaryKey;
  const selectedRow = rows.find((row) => row.rowId === selected);

  return (
    <div class="split">
      <Section
        title={`Rows of ${object.objectName}`}
        id="rows"
        actions={<span class="muted">{rows.length === 0 ? "no rows" : `${rows.length}${nextCursor ? "+" : ""} row${rows.length === 1 && !nextCursor ? "" : "s"}`}</span>}
      >
        <div class="toolbar">
          <Field label="Object">
            {(id) => (
              <select id={id}
                value={object.objectName}
                onChange={(event) => {
                  setObjectName(event.currentTarget.value);
                  setField("");
                  setSearch(null);
                  setSelected(null);
                }}
              >
                {objects.map((candidate) => (
                  <option key={candidate.objectName} value={candidate.objectName}>
                    {candidate.objectName}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <form
            class="inline-form"
            role="search"
            onSubmit={(event) => {
              event.preventDefault();
              setSelected(null);
              setSearch(value.trim() === "" ? null : { field: searchField, value: value.trim() });
            }}
          >
            <Field label="Identity key">
              {(id) => (
                <select id={id} value={searchField} onChange={(event) => setField(event.currentTarget.value)}>
                  {object.identityKeys.map((key) => (
                    <option key={key} value={key}>
                      {key}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Value">
              {(id) => (
                <input id={id} type="search" value={value} onInput={(event) => setValue(event.currentTarget.value)} placeholder="exact value" spellcheck={false} />
              )}
            </Field>
            <button type="submit">Search</button>
            {search ? (
              <button
                type="button"
                onClick={() => {
                  setValue("");
                  setSearch(null);
                }}
              >
                Clear
              </button>
            ) : null}
          </form>
        </div>
        <p class="muted small">
          Policy <strong>{object.collisionPolicy}</strong>; identity keys {object.identityKeys.join(", ")}.{" "}
          {colliding.size > 0 ? <span class="badge warn">{collisions.length} collision{collisions.length === 1 ? "" : "s"}</span> : null}
        </p>
        <ErrorNote error={error} />
        <div class="table-wrap">
          <table class="rows" aria-busy={loading}>
            <caption class="sr-only">Rows of {object.objectName} in workspace {workspace}; choose one to see all its fields.</caption>
            <thead>
              <tr>
                <th scope="col">Row</th>
                {object.identityKeys.map((key) => (
                  <th key={key} scope="col">
                    {key}
                  </th>
                ))}
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr
                  key={row.rowId}
                  class={`${colliding.has(row.rowId) ? "collision" : ""} ${selected === row.rowId ? "selected" : ""}`}
                  onClick={() => setSelected(row.rowId)}
                >
                  <td>
                    <button type="button" class="link mono" aria-pressed={selected === row.rowId} onClick={() => setSelected(row.rowId)}>
                      {row.rowId}
                    </button>
                    {colliding.has(row.rowId) ? (
                      <span class="badge warn" title="An identifier of this row is held by another row too">
                        collision
                      </span>
                    ) : null}
                  </td>
                  {object.identityKeys.map((key) => (
                    <td key={key}>{show(row.fields[key])}</td>
                  ))}
                  <td class="nowrap">{dateTimeOf(row.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {rows.length === 0 && !loading ? <p class="muted empty">{search ? `No row with ${search.field} = ${search.value}.` : "No rows yet in this workspace."}</p> : null}
        {nextCursor ? (
          <button type="button" onClick={() => void load(true)}>
            Load more
          </button>
        ) : null}
      </Section>
      {selectedRow ? (
        <RowDetail
          row={selectedRow}
          object={object}
          workspace={workspace}
          collisions={collisions.filter((c) => c.rowId === selectedRow.rowId || c.otherRowId === selectedRow.rowId)}
          onClose={() => setSelected(null)}
          onPick={setSelected}
        />
      ) : null}
    </div>
  );
}

function RowDetail(props: {
  row: RowView;
  object: ObjectInfo;
  workspace: string;
  collisions: Collision[];
  onClose: () => void;
  onPick: (rowId: string) => void;
}) {
  const { row, object, workspace, collisions } = props;
  const [identifiers, setIdentifiers] = useState<Identifier[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setIdentifiers(null);
    control<{ identifiers: Identifier[] }>("GET", `/records/${encodeURIComponent(object.objectName)}/${encodeURIComponent(row.rowId)}/identifiers${query({ workspace })}`)
      .then((data) => {
        setIdentifiers(data.identifiers);
        setError(null);
      })
      .catch((failure: unknown) => setError(errorText(failure)));
  }, [row.rowId, row.updatedAt, workspace]);

  const fieldNames = Object.keys(row.fields).sort((a, b) => Number(object.identityKeys.includes(b)) - Number(object.identityKeys.includes(a)) || a.localeCompare(b));
  return (
    <Section
      title={`Row ${row.rowId}`}
      id="row-detail"
      actions={
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      }
    >
      <dl class="facts">
        <dt>Created</dt>
        <dd>{dateTimeOf(row.createdAt)}</dd>
        <dt>Updated</dt>
        <dd>{dateTimeOf(row.updatedAt)}</dd>
      </dl>
      <h3>Fields</h3>
      <table class="fields">
        <tbody>
          {fieldNames.map((name) => (
            <tr key={name}>
              <th scope="row">
                {name}
                {object.identityKeys.includes(name) ? <span class="badge info">identity</span> : null}
              </th>
              <td class="mono">{JSON.stringify(row.fields[name])}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Identifiers that point here</h3>
      <ErrorNote error={error} />
      {identifiers === null ? (
        <p class="muted">Loading…</p>
      ) : identifiers.length === 0 ? (
        <p class="muted">This row holds no identity key.</p>
      ) : (
        <ul class="identifiers">
          {identifiers.map((identifier) => {
            const others = identifier.holders.filter((holder) => holder !== row.rowId);
            return (
              <li key={identifier.field} class={identifier.resolvesHere ? "" : "collision"}>
                <span class="mono">
                  {identifier.field} = {JSON.stringify(identifier.value)}
                </span>{" "}
                {identifier.resolvesHere ? <span class="badge good">resolves here</span> : <span class="badge warn">resolves to another row</span>}
                {others.length > 0 ? (
                  <span>
                    {" "}
                    also held by{" "}
                    {others.map((other) => (
                      <button key={other} type="button" class="link mono" onClick={() => props.onPick(other)}>
                        {other}
                      </button>
                    ))}
                  </span>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
      {collisions.length > 0 ? (
        <>
          <h3>Collisions</h3>
          <ul class="identifiers">
            {collisions.map((collision) => (
              <li key={collision.id} class="collision">
                <span class="mono">
                  {collision.field} = {JSON.stringify(collision.value)}
                </span>{" "}
                {collision.rowId} ↔ {collision.otherRowId} ({collision.policy}: {collision.resolution}, {dateTimeOf(collision.detectedAt)})
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <JsonBlock label="Row as JSON" value={row.fields} />
    </Section>
  );
}
