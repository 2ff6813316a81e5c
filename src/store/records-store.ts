import type { IdentityEntry, IdentityLookup, StoredRow, WritePlan } from "../domain/identity.js";
import type { CollisionPolicy, ObjectDefinition } from "../domain/object-schema.js";
import type { Fields } from "../domain/validation.js";
import type { Statement } from "better-sqlite3";
import type { Database } from "./database.js";
import { IdentityIndex, type IdentityRow } from "./identity-index.js";

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

function toStoredRow(row: RecordSqlRow): StoredRow {
  return {
    seq: row.seq,
    id: row.id,
    fields: JSON.parse(row.fields) as Fields,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Identity values are stored as JSON text so that "42" and 42 stay different identifiers. */
const identityValue = (value: unknown): string => JSON.stringify(value);

function identitiesOf(identityKeys: readonly string[], fields: Fields): { field: string; value: string; key: string }[] {
  const entries: { field: string; value: string; key: string }[] = [];
  for (const field of identityKeys) {
    const value = fields[field];
    if (value === undefined || value === null) continue;
    const json = identityValue(value);
    entries.push({ field, value: json, key: `${field}\u0000${json}` });
  }
  return entries;
}

/** Records, their identity index and the collision log. Every statement is prepared once. */
export class RecordsStore {
  readonly #db: Database;
  readonly #statements;
  readonly #filteredLists = new Map<number, Statement<unknown[], RecordSqlRow>>();
  readonly #index: IdentityIndex;
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
      // Its identities go with it (ON DELETE CASCADE).
      deleteRow: db.prepare<[number]>(`DELETE FROM records WHERE seq = ?`),
      scopeIdentities: db.prepare<[string, string], IdentityRow>(
        `SELECT field, value, record_seq, written_seq FROM identities WHERE workspace = ? AND object = ?`,
      ),
      insertIdentity: db.prepare<[string, string, string, string, number, number]>(
        `INSERT INTO identities (workspace, object, field, value, record_seq, written_seq) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      deleteIdentity: db.prepare<[string, string, string, string, number]>(
        `DELETE FROM identities WHERE workspace = ? AND object = ? AND field = ? AND value = ? AND record_seq = ?`,
      ),
      touchIdentity: db.prepare<[number, string, string, string, string, number]>(
        `UPDATE identities SET written_seq = ? WHERE workspace = ? AND object = ? AND field = ? AND value = ? AND record_seq = ?`,
      ),
      touchAllIdentities: db.prepare<[number, number]>(`UPDATE identities SET written_seq = ? WHERE record_seq = ?`),
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
    };
    this.#index = new IdentityIndex((workspace, object) => this.#statements.scopeIdentities.all(workspace, object));
    this.#writeSeq = this.#statements.maxWriteSeq.get()?.max ?? 0;
  }

  lookup(workspace: string, object: string): IdentityLookup {
    return {
      holders: (field, value) => this.#index.holders(workspace, object, field, identityValue(value)),
      row: (seq) => {
        const row = this.#statements.rowBySeq.get(seq);
        if (!row) throw new Error(`identity index names row ${seq}, which does not exist`);
        return toStoredRow(row);
      },
    };
  }

  /** Wraps every write transaction, so a rollback cannot leave the in-memory index ahead of the db. */
  guard<T>(work: () => T): T {
    return this.#index.guard(work);
  }

  /** After a reset: the index reloads from the database on next use. */
  forgetIndex(workspace?: string): void {
    this.#index.clear(workspace);
  }

  /** Applies a domain write plan; the caller wraps it in a transaction with whatever else commits with it. */
  apply(input: { workspace: string; object: ObjectDefinition; plan: WritePlan; newId: () => string; now: number }): StoredRow {
    const { workspace, plan, now } = input;
    const object = input.object.objectName;
    const identityKeys = input.object.identityKeys;
    this.#writeSeq += 1;
    const writeSeq = this.#writeSeq;

    for (const absorbed of plan.absorbed) {
      this.#statements.deleteRow.run(absorbed.seq);
      for (const entry of identitiesOf(identityKeys, absorbed.fields)) {
        this.#index.remove(workspace, object, entry.field, entry.value, absorbed.seq);
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

    this.#indexIdentities({ workspace, object, row, identityKeys, asserted: plan.asserted, writeSeq, before: plan.target?.fields ?? null });

    for (const collision of plan.collisions) {
      this.#statements.insertCollision.run(
        workspace,
        object,
        collision.field,
        identityValue(collision.value),
        row.id,
        collision.otherRowId,
        input.object.collisionPolicy,
        collision.resolution,
        now,
      );
    }
    return row;
  }

  /**
   * Keeps the index equal to the identifiers the row holds, by difference with what it held
   * (`before`, null for a new row): a lost one is removed, a new one added as most recent, and
   * one this write asserted again becomes the most recent; the others keep their recency.
   */
  #indexIdentities(input: {
    workspace: string;
    object: string;
    row: StoredRow;
    identityKeys: readonly string[];
    asserted: IdentityEntry[];
    writeSeq: number;
    before: Fields | null;
  }): void {
    const { workspace, object, row, writeSeq } = input;
    const now = identitiesOf(input.identityKeys, row.fields);
    const before = new Map(identitiesOf(input.identityKeys, input.before ?? {}).map((entry) => [entry.key, entry]));
    const asserted = new Set(input.asserted.map((entry) => `${entry.field}\u0000${identityValue(entry.value)}`));

    const kept = now.filter((entry) => before.has(entry.key));
    if (input.before && kept.length === now.length && now.length === before.size && now.every((entry) => asserted.has(entry.key))) {
      // The common merge: same identifiers, all sent again. One statement refreshes them all.
      if (now.length > 0) this.#statements.touchAllIdentities.run(writeSeq, row.seq);
      for (const entry of now) this.#index.put(workspace, object, entry.field, entry.value, row.seq, writeSeq);
      return;
    }
    for (const entry of before.values()) {
      if (now.some((candidate) => candidate.key === entry.key)) continue;
      this.#statements.deleteIdentity.run(workspace, object, entry.field, entry.value, row.seq);
      this.#index.remove(workspace, object, entry.field, entry.value, row.seq);
    }
    for (const entry of now) {
      if (!before.has(entry.key)) {
        this.#statements.insertIdentity.run(workspace, object, entry.field, entry.value, row.seq, writeSeq);
        this.#index.put(workspace, object, entry.field, entry.value, row.seq, writeSeq);
      } else if (asserted.has(entry.key)) {
        this.#statements.touchIdentity.run(writeSeq, workspace, object, entry.field, entry.value, row.seq);
        this.#index.put(workspace, object, entry.field, entry.value, row.seq, writeSeq);
      }
    }
  }

  get(workspace: string, object: string, id: string): StoredRow | undefined {
    const row = this.#statements.getRow.get(workspace, object, id);
    return row ? toStoredRow(row) : undefined;
  }

  /** Rows in write order, after `afterSeq`, matching every filter exactly. */
  list(input: { workspace: string; object: string; filters: RowFilter[]; afterSeq: number; limit: number }): StoredRow[] {
    const { filters } = input;
    let statement = this.#filteredLists.get(filters.length);
    if (!statement) {
      const conditions = filters.map(() => " AND json_extract(fields, ?) = ?").join("");
      statement = this.#db.prepare<unknown[], RecordSqlRow>(
        `SELECT seq, id, fields, created_at, updated_at FROM records
          WHERE workspace = ? AND object = ? AND seq > ?${conditions}
          ORDER BY seq LIMIT ?`,
      );
      this.#filteredLists.set(filters.length, statement);
    }
    const filterParams = filters.flatMap((filter) => [`$."${filter.field.replaceAll('"', '\\"')}"`, filter.value]);
    return statement.all(input.workspace, input.object, input.afterSeq, ...filterParams, input.limit).map(toStoredRow);
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
