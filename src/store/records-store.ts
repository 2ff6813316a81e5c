import type { RowOrder } from "../domain/control-plane.js";
import type { IdentityLookup, StoredRow, WritePlan } from "../domain/identity.js";
import type { CollisionPolicy, ObjectDefinition } from "../domain/object-schema.js";
import type { Fields } from "../domain/validation.js";
import type { Statement } from "better-sqlite3";
import type { Database } from "./database.js";
import { IdentityIndex, type IdentityRow, type IdentityValue } from "./identity-index.js";

interface RecordSqlRow {
  seq: number;
  id: string;
  fields: string;
  created_at: number;
  updated_at: number;
}

export interface CollisionReport {
  id: number;
  workspace: string;
  object: string;
  field: string;
  value: unknown;
  rowId: string;
  otherRowId: string;
  policy: CollisionPolicy;
  resolution: string;
  detectedAt: string;
}

interface CollisionSqlRow {
  id: number;
  workspace: string;
  object: string;
  field: string;
  value: string;
  row_id: string;
  other_row_id: string;
  policy: CollisionPolicy;
  resolution: string;
  detected_at: number;
}

export interface RowFilter {
  field: string;
  value: string | number;
}

/** The write order a list follows: `oldest` first (the default), or `newest` first. */
export type { RowOrder };

/** ` AND json_extract(fields, ?) = ?` per filter; its parameters come from `filterParams`. */
const filterConditions = (filters: readonly RowFilter[]): string => filters.map(() => " AND json_extract(fields, ?) = ?").join("");

const filterParams = (filters: readonly RowFilter[]): (string | number)[] =>
  filters.flatMap((filter) => [`$."${filter.field.replaceAll('"', '\\"')}"`, filter.value]);

function toStoredRow(row: RecordSqlRow): StoredRow {
  return {
    seq: row.seq,
    id: row.id,
    fields: JSON.parse(row.fields) as Fields,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Records, their identity index and the collision log. Every statement is prepared once. */
export class RecordsStore {
  readonly #db: Database;
  readonly #statements;
  /** Prepared once per order and number of filters (the SQL differs by both, never by values). */
  readonly #filteredLists = new Map<string, Statement<unknown[], RecordSqlRow>>();
  readonly #filteredCounts = new Map<number, Statement<unknown[], { total: number }>>();
  readonly #index: IdentityIndex;
  readonly #keyIds = new Map<string, number>();
  /** Orders identity writes so "most recently written" survives clock changes and restarts. */
  #writeSeq: number;

  constructor(db: Database) {
    this.#db = db;
    this.#statements = {
      rowBySeq: db.prepare<[number], RecordSqlRow>(`SELECT seq, id, fields, created_at, updated_at FROM records WHERE seq = ?`),
      insertRow: db.prepare<[string, string, string, string, number, number]>(
        `INSERT INTO records (id, workspace, object, fields, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      updateRow: db.prepare<[string, number, number]>(`UPDATE records SET fields = ?, updated_at = ? WHERE seq = ?`),
      deleteRow: db.prepare<[number]>(`DELETE FROM records WHERE seq = ?`),
      scopeIdentities: db.prepare<[string, string], IdentityRow>(
        `SELECT k.field, i.value, i.record_seq, i.written_seq
           FROM identity_keys k JOIN identities i ON i.key_id = k.id
          WHERE k.workspace = ? AND k.object = ?`,
      ),
      keyId: db.prepare<[string, string, string], { id: number }>(
        `SELECT id FROM identity_keys WHERE workspace = ? AND object = ? AND field = ?`,
      ),
      insertKey: db.prepare<[string, string, string]>(`INSERT INTO identity_keys (workspace, object, field) VALUES (?, ?, ?)`),
      insertIdentity: db.prepare<[number, IdentityValue, number, number]>(
        `INSERT INTO identities (key_id, value, record_seq, written_seq) VALUES (?, ?, ?, ?)`,
      ),
      deleteIdentity: db.prepare<[number, IdentityValue, number]>(`DELETE FROM identities WHERE key_id = ? AND value = ? AND record_seq = ?`),
      touchIdentity: db.prepare<[number, number, IdentityValue, number]>(
        `UPDATE identities SET written_seq = ? WHERE key_id = ? AND value = ? AND record_seq = ?`,
      ),
      insertCollision: db.prepare<[string, string, string, string, string, string, string, string, number]>(
        `INSERT INTO collisions (workspace, object, field, value, row_id, other_row_id, policy, resolution, detected_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getRow: db.prepare<[string, string, string], RecordSqlRow>(
        `SELECT seq, id, fields, created_at, updated_at FROM records WHERE workspace = ? AND object = ? AND id = ?`,
      ),
      collisions: db.prepare<[string, string | null, string | null, number, number], CollisionSqlRow>(
        `SELECT * FROM collisions
          WHERE workspace = ? AND (? IS NULL OR object = ?) AND id > ?
          ORDER BY id LIMIT ?`,
      ),
      maxWriteSeq: db.prepare<[], { max: number | null }>(`SELECT MAX(written_seq) AS max FROM identities`),
      fieldsPage: db.prepare<[string, string, number, number], { seq: number; fields: string }>(
        `SELECT seq, fields FROM records WHERE workspace = ? AND object = ? AND seq > ? ORDER BY seq LIMIT ?`,
      ),
    };
    this.#index = new IdentityIndex((workspace, object) => this.#statements.scopeIdentities.all(workspace, object));
    this.#writeSeq = this.#statements.maxWriteSeq.get()?.max ?? 0;
  }

  lookup(workspace: string, object: string): IdentityLookup {
    const scope = this.#index.scope(workspace, object);
    return {
      holders: (field, value) => scope.holders(field, value as IdentityValue),
      row: (seq) => {
        const row = this.#statements.rowBySeq.get(seq);
        if (!row) throw new Error(`identity index names row ${seq}, which does not exist`);
        return toStoredRow(row);
      },
    };
  }

  /** Wraps every write transaction, so a rollback cannot leave the in-memory caches ahead of the db. */
  guard<T>(work: () => T): T {
    try {
      return this.#index.guard(work);
    } catch (error) {
      this.#keyIds.clear(); // an id minted in the rolled-back transaction no longer exists
      throw error;
    }
  }

  /** After a reset: the index reloads from the database on next use. */
  forgetIndex(workspace?: string): void {
    this.#index.clear(workspace);
  }

  /** The small integer that stands for (workspace, object, field) in the identities table. */
  #keyId(workspace: string, object: string, field: string): number {
    const name = `${workspace}\u0000${object}\u0000${field}`;
    let id = this.#keyIds.get(name);
    if (id === undefined) {
      id = this.#statements.keyId.get(workspace, object, field)?.id ?? Number(this.#statements.insertKey.run(workspace, object, field).lastInsertRowid);
      this.#keyIds.set(name, id);
    }
    return id;
  }

  /** Applies a domain write plan; the caller wraps it in a transaction with whatever else commits with it. */
  apply(input: { workspace: string; object: ObjectDefinition; plan: WritePlan; newId: () => string; now: number }): StoredRow {
    const { workspace, plan, now } = input;
    const object = input.object.objectName;
    const scope = this.#index.scope(workspace, object);
    this.#writeSeq += 1;
    const writeSeq = this.#writeSeq;

    for (const absorbed of plan.absorbed) {
      this.#statements.deleteRow.run(absorbed.seq);
      for (const field of input.object.identityKeys) {
        const value = absorbed.fields[field];
        if (value === undefined || value === null) continue;
        this.#statements.deleteIdentity.run(this.#keyId(workspace, object, field), value as IdentityValue, absorbed.seq);
        scope.remove(field, value as IdentityValue, absorbed.seq);
      }
    }

    let row: StoredRow;
    const serialized = JSON.stringify(plan.fields);
    if (plan.target) {
      this.#statements.updateRow.run(serialized, now, plan.target.seq);
      row = { ...plan.target, fields: plan.fields, updatedAt: now };
    } else {
      const id = input.newId();
      const info = this.#statements.insertRow.run(id, workspace, object, serialized, now, now);
      row = { seq: Number(info.lastInsertRowid), id, fields: plan.fields, createdAt: now, updatedAt: now };
    }

    // The index holds exactly the identifiers the row holds, one value per identity field at
    // most: diff field by field against what it held. A new identifier, or one this write
    // asserted again, becomes the most recent; the others keep their place.
    const before = plan.target?.fields;
    for (const field of input.object.identityKeys) {
      const had = before?.[field] ?? null;
      const has = row.fields[field] ?? null;
      if (had !== null && had !== has) {
        this.#statements.deleteIdentity.run(this.#keyId(workspace, object, field), had as IdentityValue, row.seq);
        scope.remove(field, had as IdentityValue, row.seq);
      }
      if (has === null) continue;
      if (had !== has) {
        this.#statements.insertIdentity.run(this.#keyId(workspace, object, field), has as IdentityValue, row.seq, writeSeq);
        scope.put(field, has as IdentityValue, row.seq);
      } else if (scope.holders(field, has as IdentityValue)[0] !== row.seq && plan.asserted.some((entry) => entry.field === field)) {
        // Only the order among current holders matters (a future holder always gets a higher
        // write seq), so a row that is already the most recent holder needs no update.
        this.#statements.touchIdentity.run(writeSeq, this.#keyId(workspace, object, field), has as IdentityValue, row.seq);
        scope.put(field, has as IdentityValue, row.seq);
      }
    }

    for (const collision of plan.collisions) {
      this.#statements.insertCollision.run(
        workspace,
        object,
        collision.field,
        JSON.stringify(collision.value),
        row.id,
        collision.otherRowId,
        input.object.collisionPolicy,
        collision.resolution,
        now,
      );
    }
    return row;
  }

  get(workspace: string, object: string, id: string): StoredRow | undefined {
    const row = this.#statements.getRow.get(workspace, object, id);
    return row ? toStoredRow(row) : undefined;
  }

  /**
   * Rows matching every filter exactly, a page at a time by keyset on the write order: `oldest`
   * gives the rows written after `afterSeq` (0: from the start), `newest` the rows written before
   * it (0: from the latest), newest first. A keyset rather than an offset, so a page boundary
   * holds still while rows are being written.
   */
  list(input: { workspace: string; object: string; filters: RowFilter[]; afterSeq: number; limit: number; order?: RowOrder }): StoredRow[] {
    const { filters } = input;
    const order = input.order ?? "oldest";
    const cacheKey = `${order}:${filters.length}`;
    let statement = this.#filteredLists.get(cacheKey);
    if (!statement) {
      const keyset = order === "oldest" ? "seq > ?" : "seq < ?";
      statement = this.#db.prepare<unknown[], RecordSqlRow>(
        `SELECT seq, id, fields, created_at, updated_at FROM records
          WHERE workspace = ? AND object = ? AND ${keyset}${filterConditions(filters)}
          ORDER BY seq ${order === "oldest" ? "ASC" : "DESC"} LIMIT ?`,
      );
      this.#filteredLists.set(cacheKey, statement);
    }
    // No cursor on a newest-first list: start above any seq SQLite can hand out.
    const position = order === "newest" && input.afterSeq === 0 ? Number.MAX_SAFE_INTEGER : input.afterSeq;
    return statement.all(input.workspace, input.object, position, ...filterParams(filters), input.limit).map(toStoredRow);
  }

  /** How many rows match every filter: the total a paged list is a part of. */
  count(input: { workspace: string; object: string; filters: RowFilter[] }): number {
    const { filters } = input;
    let statement = this.#filteredCounts.get(filters.length);
    if (!statement) {
      statement = this.#db.prepare<unknown[], { total: number }>(
        `SELECT COUNT(*) AS total FROM records WHERE workspace = ? AND object = ?${filterConditions(filters)}`,
      );
      this.#filteredCounts.set(filters.length, statement);
    }
    return statement.get(input.workspace, input.object, ...filterParams(filters))?.total ?? 0;
  }

  /**
   * Every row's fields as stored (JSON text, not parsed), in write order. Fetched a page at a time
   * rather than through one open cursor: a caller that awaits between rows (a streamed HTTP
   * response) must not keep the connection busy, or every other statement would throw meanwhile.
   */
  *iterateFields(input: { workspace: string; object: string; pageSize?: number }): Generator<string, void, undefined> {
    const pageSize = input.pageSize ?? 1000;
    let afterSeq = 0;
    for (;;) {
      const page = this.#statements.fieldsPage.all(input.workspace, input.object, afterSeq, pageSize);
      for (const row of page) yield row.fields;
      const last = page.at(-1);
      if (!last || page.length < pageSize) return;
      afterSeq = last.seq;
    }
  }

  collisions(input: { workspace: string; object?: string; afterId: number; limit: number }): CollisionReport[] {
    const object = input.object ?? null;
    return this.#statements.collisions
      .all(input.workspace, object, object, input.afterId, input.limit)
      .map((row) => ({
        id: row.id,
        workspace: row.workspace,
        object: row.object,
        field: row.field,
        value: JSON.parse(row.value) as unknown,
        rowId: row.row_id,
        otherRowId: row.other_row_id,
        policy: row.policy,
        resolution: row.resolution,
        detectedAt: new Date(row.detected_at).toISOString(),
      }));
  }
}
