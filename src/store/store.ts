import { openDatabase, type Database } from "./database.js";
import { IdempotencyStore } from "./idempotency-store.js";
import { RecordsStore } from "./records-store.js";
import { WorkspacesStore } from "./workspaces-store.js";

export interface Store {
  readonly path: string;
  readonly records: RecordsStore;
  readonly idempotency: IdempotencyStore;
  readonly workspaces: WorkspacesStore;
  /** Runs `work` in one SQLite transaction: all of it commits, or none of it. */
  transaction<T>(work: () => T): T;
  /** Wipes data, identities, collisions and idempotency keys; workspaces and tokens stay. */
  reset(workspace?: string): void;
  isOpen(): boolean;
  close(): void;
}

export function createStore(path: string): Store {
  const db: Database = openDatabase(path);
  const records = new RecordsStore(db);
  const idempotency = new IdempotencyStore(db);
  const workspaces = new WorkspacesStore(db);
  const dataTables = ["identities", "collisions", "idempotency_keys", "records"] as const;
  const resetAll = db.transaction(() => {
    for (const table of dataTables) db.prepare(`DELETE FROM ${table}`).run();
  });
  const resetOne = db.transaction((workspace: string) => {
    for (const table of dataTables) db.prepare(`DELETE FROM ${table} WHERE workspace = ?`).run(workspace);
  });

  return {
    path,
    records,
    idempotency,
    workspaces,
    transaction: (work) => db.transaction(work)(),
    reset: (workspace) => (workspace === undefined ? resetAll() : resetOne(workspace)),
    isOpen: () => db.open,
    close: () => {
      if (db.open) db.close();
    },
  };
}
