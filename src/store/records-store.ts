import type { IdentityEntry, IdentityLookup, StoredRow, WritePlan } from "../domain/identity.js";
import type { CollisionPolicy, ObjectDefinition } from "../domain/object-schema.js";
import type { Fields } from "../domain/validation.js";
import type { Statement } from "better-sqlite3";
import type { Database } from "./database.js";

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

/** Records, their identity index and the collision log. Every statement is prepared once. */
export class RecordsStore {
  readonly #db: Database;
  readonly #statements;
  readonly #filteredLists = new Map<number, Statement<unknown[], RecordSqlRow>>();
  readonly #insertIdentityStatements = new Map<number, Statement<unknown[]>>();
  /** Orders identity writes so "most recently written" survives clock changes and restarts. */
  #writeSeq: number;

  constructor(db: Database) {
    this.#db = db;
    this.#statements = {
      holders: db.prepare<[string, string, string, string], RecordSqlRow>(
        `SELECT r.seq, r.id, r.fields, r.created_at, r.updated_at
           FROM identities i JOIN records r ON r.seq = i.record_seq
          WHERE i.workspace = ? AND i.object = ? AND i.field = ? AND i.value = ?
          ORDER BY i.written_seq DESC`,
      ),
      insertRow: db.prepare<[string, string, string, string, number, number]>(
        `INSERT INTO records (id, workspace, object, fields, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      updateRow: db.prepare<[string, number, number]>(`UPDATE records SET fields = ?, updated_at = ? WHERE seq = ?`),
      deleteRow: db.prepare<[number]>(`DELETE FROM records WHERE seq = ?`),
      rowIdentities: db.prepare<[number], { field: string; value: string; written_seq: number }>(
        `SELECT field, value, written_seq FROM identities WHERE record_seq = ?`,
      ),
      deleteIdentities: db.prepare<[number]>(`DELETE FROM identities WHERE record_seq = ?`),
      touchAllIdentities: db.prepare<[number, number]>(`UPDATE identities SET written_seq = ? WHERE record_seq = ?`),
      touchIdentity: db.prepare<[number, number, string, string]>(
        `UPDATE identities SET written_seq = ? WHERE record_seq = ? AND field = ? AND value = ?`,
      ),
      insertIdentity: db.prepare<[string, string, string, string, number, number]>(
        `INSERT INTO identities (workspace, object, field, value, record_seq, written_seq) VALUES (?, ?, ?, ?, ?, ?)`,
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
    };
    this.#writeSeq = this.#statements.maxWriteSeq.get()?.max ?? 0;
  }

  lookup(workspace: string, object: string): IdentityLookup {
    return {
      holders: (field, value) =>
        this.#statements.holders.all(workspace, object, field, identityValue(value)).map(toStoredRow),
    };
  }

  #insertIdentities(count: number): Statement<unknown[]> {
    let statement = this.#insertIdentityStatements.get(count);
    if (!statement) {
      const rows = Array.from({ length: count }, () => "(?, ?, ?, ?, ?, ?)").join(", ");
      statement = this.#db.prepare<unknown[]>(
        `INSERT INTO identities (workspace, object, field, value, record_seq, written_seq) VALUES ${rows}`,
      );
      this.#insertIdentityStatements.set(count, statement);
    }
    return statement;
  }

  /** Applies a domain write plan; the caller wraps it in a transaction with whatever else commits with it. */
  apply(input: { workspace: string; object: ObjectDefinition; plan: WritePlan; newId: () => string; now: number }): StoredRow {
    const { workspace, plan, now } = input;
    const object = input.object.objectName;
    this.#writeSeq += 1;
    const writeSeq = this.#writeSeq;

    for (const absorbed of plan.absorbed) this.#statements.deleteRow.run(absorbed.seq);

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

    this.#indexIdentities(workspace, object, row, input.object.identityKeys, plan.asserted, writeSeq, plan.target === null, plan.absorbed.length === 0 ? (plan.target?.fields ?? null) : null);

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

  /** The row's index is exactly the identifiers it now holds; asserted ones become the most recent. */
  #indexIdentities(
    workspace: string,
    object: string,
    row: StoredRow,
    identityKeys: readonly string[],
    asserted: IdentityEntry[],
    writeSeq: number,
    isNew: boolean,
    /** The row's fields before this write, when its index is known to hold exactly their identifiers. */
    previousFields: Fields | null,
  ): void {
    const assertedKeys = new Set(asserted.map((entry) => `${entry.field}\u0000${identityValue(entry.value)}`));
    const wanted: { field: string; value: string; key: string }[] = [];
    for (const field of identityKeys) {
      const value = row.fields[field];
      if (value === undefined || value === null) continue;
      const json = identityValue(value);
      wanted.push({ field, value: json, key: `${field}\u0000${json}` });
    }
    const insertAll = (seqOf: (key: string) => number): void => {
      if (wanted.length === 0) return;
      const params: (string | number)[] = [];
      for (const entry of wanted) params.push(workspace, object, entry.field, entry.value, row.seq, seqOf(entry.key));
      this.#insertIdentities(wanted.length).run(...params);
    };
    if (isNew) {
      insertAll(() => writeSeq);
      return;
    }
    const before = new Set<string>();
    for (const field of previousFields === null ? [] : identityKeys) {
      const value = previousFields?.[field];
      if (value !== undefined && value !== null) before.add(`${field}\u0000${identityValue(value)}`);
    }
    const unchanged =
      previousFields !== null && wanted.length === before.size && wanted.every((entry) => before.has(entry.key));
    if (unchanged) {
      if (wanted.every((entry) => assertedKeys.has(entry.key))) {
        this.#statements.touchAllIdentities.run(writeSeq, row.seq);
        return;
      }
      for (const entry of wanted) {
        if (assertedKeys.has(entry.key)) this.#statements.touchIdentity.run(writeSeq, row.seq, entry.field, entry.value);
      }
      return;
    }
    const previous = new Map<string, number>();
    for (const entry of this.#statements.rowIdentities.all(row.seq)) {
      previous.set(`${entry.field}\u0000${entry.value}`, entry.written_seq);
    }
    this.#statements.deleteIdentities.run(row.seq);
    insertAll((key) => (assertedKeys.has(key) ? writeSeq : (previous.get(key) ?? writeSeq)));
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
