import { openDatabase, type Database } from "./database.js";
import { IdempotencyStore } from "./idempotency-store.js";
import { JobsStore } from "./jobs-store.js";
import { RecordsStore } from "./records-store.js";
import { WorkspacesStore } from "./workspaces-store.js";

export interface Store {
  readonly path: string;
  readonly records: RecordsStore;
  readonly idempotency: IdempotencyStore;
  readonly workspaces: WorkspacesStore;
  readonly jobs: JobsStore;
  /** Runs `work` in one SQLite transaction: all of it commits, or none of it. */
  transaction<T>(work: () => T): T;
  /** Wipes rows, identities, collisions, idempotency keys and jobs; workspaces and tokens stay. */
  reset(workspace?: string): void;
  isOpen(): boolean;
  close(): void;
}

// job_errors and job_payloads go with their job (ON DELETE CASCADE); identities by their key.
const DATA_TABLES = ["collisions", "idempotency_keys", "records", "jobs"] as const;

export function createStore(path: string): Store {
  const db: Database = openDatabase(path);
  const records = new RecordsStore(db);
  const idempotency = new IdempotencyStore(db);
  const workspaces = new WorkspacesStore(db);
  const jobs = new JobsStore(db);
  const wipeAll = [...DATA_TABLES, "identities"].map((table) => db.prepare(`DELETE FROM ${table}`));
  const wipeOne = [
    ...DATA_TABLES.map((table) => db.prepare<[string]>(`DELETE FROM ${table} WHERE workspace = ?`)),
    db.prepare<[string]>(`DELETE FROM identities WHERE key_id IN (SELECT id FROM identity_keys WHERE workspace = ?)`),
  ];
  const resetAll = db.transaction(() => {
    for (const statement of wipeAll) statement.run();
  });
  const resetOne = db.transaction((workspace: string) => {
    for (const statement of wipeOne) statement.run(workspace);
  });

  return {
    path,
    records,
    idempotency,
    workspaces,
    jobs,
    transaction: (work) => records.guard(() => db.transaction(work)()),
    reset: (workspace) => {
      if (workspace === undefined) resetAll();
      else resetOne(workspace);
      records.forgetIndex(workspace);
    },
    isOpen: () => db.open,
    close: () => {
      if (db.open) db.close();
    },
  };
}
