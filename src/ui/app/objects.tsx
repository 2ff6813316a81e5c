import { useEffect, useMemo, useState } from "preact/hooks";
import type { Collision, Identifier, ObjectInfo, RowOrder, RowsPage, RowView } from "../../domain/control-plane.js";
import { control, errorText, query, settle } from "./api.js";
import { ClipCell, countOf, dateTimeOf, DetailSection, ErrorNote, Field, FixedTable, JsonBlock, Section, Select, show, type Column } from "./components.js";
import { useDebounced, useLiveEvents, type LiveFeed } from "./live.js";

const PAGE = 100;
/** The control plane's largest page: a live refetch re-reads at most this many of the rows shown. */
const MAX_PAGE = 1000;
const orders: { value: RowOrder; label: string }[] = [
  { value: "newest", label: "newest first" },
  { value: "oldest", label: "oldest first" },
];

/**
 * The row id, the identity keys, the time of the last write. The primary key (an email, usually)
 * is the longest value a row shows: it is given room when there is some.
 */
function rowColumns(object: ObjectInfo): Column[] {
  const keys = object.identityKeys.map((key): Column => (key === object.primaryKey ? { heading: key, wide: "24%", narrow: "auto" } : { heading: key }));
  return [{ heading: "Row", wide: "160px", narrow: "120px" }, ...keys, { heading: "Updated", wide: "164px", narrow: "148px" }];
}

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
  const [total, setTotal] = useState<number | null>(null);
  // Newest first: the rows a person just wrote are the ones they look for, not page 12 of a seed.
  const [order, setOrder] = useState<RowOrder>("newest");
  const [collisions, setCollisions] = useState<Collision[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  /**
   * The first page again (`shown` rows, so a refetch keeps what "Load more" added), or with
   * `more` the page after the last row shown.
   */
  const load = async (options: { more?: boolean; shown?: number } = {}) => {
    if (!object) return;
    setLoading(true);
    try {
      const filter = search ? { [search.field]: search.value } : {};
      const limit = options.more ? PAGE : Math.min(MAX_PAGE, Math.max(PAGE, options.shown ?? 0));
      const cursor = options.more ? (nextCursor ?? undefined) : undefined;
      const page = await control<RowsPage>("GET", `/records/${encodeURIComponent(object.objectName)}${query({ workspace, order, limit, cursor, ...filter })}`);
      const found = await control<{ collisions: Collision[] }>("GET", `/identity/collisions${query({ workspace, object: object.objectName, limit: 1000 })}`);
      setRows((current) => (options.more ? [...current, ...page.records] : page.records));
      setNextCursor(page.nextCursor);
      setTotal(page.total);
      setCollisions(found.collisions);
      setError(null);
    } catch (failure) {
      setRows([]);
      setTotal(null);
      setError(errorText(failure));
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    void load();
  }, [workspace, object?.objectName, search, order]);

  // New rows arrive through the public API (journaled) or a batch job: refetch, at most every 300 ms.
  const reload = useDebounced(() => void load({ shown: rows.length }), 300);
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
        actions={
          <span class="muted" data-testid="row-count">
            {total === null ? "" : total === 0 ? "no rows" : `${countOf(total)} row${total === 1 ? "" : "s"}`}
          </span>
        }
      >
        <div class="toolbar">
          <Select
            label="Object"
            value={object.objectName}
            options={objects.map((candidate) => candidate.objectName)}
            onChange={(value) => {
              setObjectName(value);
              setField("");
              setSearch(null);
              setSelected(null);
            }}
          />
          <form
            class="inline-form"
            role="search"
            onSubmit={(event) => {
              event.preventDefault();
              setSelected(null);
              setSearch(value.trim() === "" ? null : { field: searchField, value: value.trim() });
            }}
          >
            <Select label="Identity key" value={searchField} options={object.identityKeys} onChange={setField} />
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
          <Select label="Order" value={order} options={orders} onChange={(value) => setOrder(value === "oldest" ? "oldest" : "newest")} />
        </div>
        {/* Beside the search form: a refused search (say, a number field given text) says why right here. */}
        <ErrorNote error={error} />
        <p class="muted small">
          Policy <strong>{object.collisionPolicy}</strong>; identity keys {object.identityKeys.join(", ")}.{" "}
          {colliding.size > 0 ? <span class="badge warn">{collisions.length} collision{collisions.length === 1 ? "" : "s"}</span> : null}
        </p>
        <FixedTable
          class="rows"
          busy={loading}
          caption={`Rows of ${object.objectName} in workspace ${workspace}, ${order} first; choose one to see all its fields.`}
          columns={rowColumns(object)}
          minWidth={{ wide: "860px", narrow: "720px" }}
        >
          <tbody>
            {rows.map((row) => (
              <tr
                key={row.rowId}
                class={`${colliding.has(row.rowId) ? "collision" : ""} ${selected === row.rowId ? "selected" : ""}`}
                onClick={() => setSelected(row.rowId)}
              >
                <td>
                  {/* Cut at the start: a row id's tail is what tells two rows apart. */}
                  <button type="button" class="link mono tail-id" title={row.rowId} aria-pressed={selected === row.rowId} onClick={() => setSelected(row.rowId)}>
                    {row.rowId}
                  </button>
                  {colliding.has(row.rowId) ? (
                    <span class="badge warn" title="An identifier of this row is held by another row too">
                      collision
                    </span>
                  ) : null}
                </td>
                {object.identityKeys.map((key) => (
                  <ClipCell key={key} text={show(row.fields[key])} />
                ))}
                <td class="when">{dateTimeOf(row.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </FixedTable>
        {rows.length === 0 && !loading ? <p class="muted empty">{search ? `No row with ${search.field} = ${search.value}.` : "No rows yet in this workspace."}</p> : null}
        {nextCursor ? (
          <p class="more">
            <span class="muted">
              Showing {countOf(rows.length)}
              {total === null ? "" : ` of ${countOf(total)}`}, {order} first.
            </span>{" "}
            <button type="button" onClick={() => void load({ more: true })}>
              Load {PAGE} more
            </button>
          </p>
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
    void settle(control<{ identifiers: Identifier[] }>("GET", `/records/${encodeURIComponent(object.objectName)}/${encodeURIComponent(row.rowId)}/identifiers${query({ workspace })}`), {
      apply: (data) => {
        setIdentifiers(data.identifiers);
        setError(null);
      },
      onError: setError,
    });
  }, [row.rowId, row.updatedAt, workspace]);

  const fieldNames = Object.keys(row.fields).sort((a, b) => Number(object.identityKeys.includes(b)) - Number(object.identityKeys.includes(a)) || a.localeCompare(b));
  return (
    <DetailSection kind="Row" name={row.rowId} id="row-detail" onClose={props.onClose}>
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
    </DetailSection>
  );
}
