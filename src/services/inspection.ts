import type { Collision, ObjectInfo, RowsPage, RowView } from "../domain/control-plane.js";
import { ApiError } from "../domain/errors.js";
import type { StoredRow } from "../domain/identity.js";
import type { ObjectDefinition, ObjectRegistry } from "../domain/object-schema.js";
import { keysetPage, type PageRequest } from "../domain/paging.js";
import type { JobState } from "../domain/vocabulary.js";
import type { RowFilter, RowOrder } from "../store/records-store.js";
import type { Store } from "../store/store.js";
import { describeJob } from "./presenters.js";

/**
 * What the control plane shows of the data, without a bearer token and outside the public
 * pipeline: rows by keyset page (with filters and a total), one row, which identifiers point at
 * a row, the identity collisions, the jobs, and the object definitions the dashboard draws.
 */

export interface RecordListQuery {
  workspace: string;
  object: ObjectDefinition;
  filters: RowFilter[];
  order: RowOrder;
  page: PageRequest;
}

export interface RowRef {
  workspace: string;
  object: ObjectDefinition;
  rowId: string;
}

export interface RowIdentifier {
  field: string;
  value: unknown;
  /** Whether a lookup by this identifier finds this row. */
  resolvesHere: boolean;
  /** Every row holding it, the most recent writer first. */
  holders: string[];
}

const describeRow = (row: StoredRow): RowView => ({
  rowId: row.id,
  createdAt: new Date(row.createdAt).toISOString(),
  updatedAt: new Date(row.updatedAt).toISOString(),
  fields: row.fields,
});

export class Inspection {
  readonly #store: Store;
  readonly #objects: ObjectRegistry;

  constructor(deps: { store: Store; objects: ObjectRegistry }) {
    this.#store = deps.store;
    this.#objects = deps.objects;
  }

  /** The object definitions as the dashboard draws them (with each one's collision policy). */
  objects(): { objects: ObjectInfo[] } {
    const objects = [...this.#objects.values()].map((object) => ({
      objectName: object.objectName,
      primaryKey: object.primaryKey,
      identityKeys: object.identityKeys,
      requiredFields: object.requiredFields,
      collisionPolicy: object.collisionPolicy,
      fields: object.fields.map(({ name, type, format, required, identity }) => ({ name, type, format, required, identity })),
    }));
    return { objects };
  }

  /** A page of rows in the order asked for, and how many rows the filters match in all. */
  listRecords(query: RecordListQuery): RowsPage {
    const { workspace, object, filters, order, page } = query;
    const scope = { workspace, object: object.objectName, filters };
    // The cursor is the last row's position; the next page lies beyond it in the order asked for.
    const rows = keysetPage({
      request: page,
      fetch: ({ after, limit }) => this.#store.records.list({ ...scope, afterSeq: after, limit, order }),
      position: (row) => row.seq,
    });
    // Every row the filters match, not just this page's: what "1,234 rows" is counted from.
    return { records: rows.items.map(describeRow), nextCursor: rows.nextCursor, total: this.#store.records.count(scope) };
  }

  getRecord(ref: RowRef): RowView {
    return describeRow(this.#row(ref));
  }

  /**
   * Per identity field the row holds: its value, every row holding that identifier (the most
   * recent writer first) and whether a lookup by it resolves to this row.
   */
  identifiers(ref: RowRef): { rowId: string; identifiers: RowIdentifier[] } {
    const row = this.#row(ref);
    const lookup = this.#store.records.lookup(ref.workspace, ref.object.objectName);
    const identifiers = ref.object.identityKeys.flatMap((field) => {
      const value = row.fields[field];
      if (value === undefined || value === null) return [];
      const holders = lookup.holders(field, value).map((seq) => (seq === row.seq ? row.id : lookup.row(seq).id));
      return [{ field, value, resolvesHere: holders[0] === row.id, holders }];
    });
    return { rowId: row.id, identifiers };
  }

  collisions(query: { workspace: string; object?: string; page: PageRequest }): { collisions: Collision[]; nextCursor: string | null } {
    const { workspace, object, page } = query;
    const listed = keysetPage({
      request: page,
      fetch: ({ after, limit }) => this.#store.records.collisions({ workspace, object, afterId: after, limit }),
      position: (collision) => collision.id,
    });
    return { collisions: listed.items, nextCursor: listed.nextCursor };
  }

  /** A page of a workspace's jobs, each as the job status endpoint shows it. */
  jobs(query: { workspace: string; state?: JobState; page: PageRequest }): { jobs: ReturnType<typeof describeJob>[]; nextCursor: string | null } {
    const { workspace, state, page } = query;
    const jobs = this.#store.jobs;
    const listed = keysetPage({
      request: page,
      fetch: ({ after, limit }) => jobs.list({ workspace, state, afterSeq: after, limit }),
      position: (job) => job.seq,
    });
    return { jobs: listed.items.map((job) => describeJob(job, jobs)), nextCursor: listed.nextCursor };
  }

  #row(ref: RowRef): StoredRow {
    const { workspace, object, rowId } = ref;
    const row = this.#store.records.get(workspace, object.objectName, rowId);
    if (!row) {
      throw new ApiError("NOT_FOUND", `No ${object.objectName} row "${rowId}" in workspace "${workspace}"`, {
        details: { path: "rowId", value: rowId },
      });
    }
    return row;
  }
}
