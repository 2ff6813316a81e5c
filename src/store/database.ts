import { StartupError } from "../domain/startup-error.js";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";

export type Database = BetterSqlite3.Database;

/**
 * Migrations, applied in order and tracked by `PRAGMA user_version`. Append only: a shipped
 * migration is never edited, so any db file a user kept still opens.
 */
const migrations: readonly string[] = [
  `
  CREATE TABLE workspaces (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE tokens (
    token TEXT PRIMARY KEY,
    workspace TEXT NOT NULL REFERENCES workspaces(name) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    expires_at INTEGER,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    workspace TEXT NOT NULL,
    object TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX records_by_object ON records(workspace, object, seq);
  -- One small integer per (workspace, object, identity field) keeps the identity index's keys
  -- short: inserting 30,000 identities is about 40% faster than with the three strings in the key.
  CREATE TABLE identity_keys (
    id INTEGER PRIMARY KEY,
    workspace TEXT NOT NULL,
    object TEXT NOT NULL,
    field TEXT NOT NULL,
    UNIQUE (workspace, object, field)
  );
  -- Kept equal to the identity fields each row holds by RecordsStore (deliberately no foreign key
  -- or second index: both would double the cost of every identity write).
  CREATE TABLE identities (
    key_id INTEGER NOT NULL,
    value NOT NULL, -- untyped on purpose: the string "42" and the number 42 are different identifiers
    record_seq INTEGER NOT NULL,
    written_seq INTEGER NOT NULL,
    PRIMARY KEY (key_id, value, record_seq)
  ) WITHOUT ROWID;
  CREATE TABLE collisions (
    id INTEGER PRIMARY KEY,
    workspace TEXT NOT NULL,
    object TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    row_id TEXT NOT NULL,
    other_row_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    resolution TEXT NOT NULL,
    detected_at INTEGER NOT NULL
  );
  CREATE INDEX collisions_by_workspace ON collisions(workspace, object, id);
  CREATE TABLE idempotency_keys (
    workspace TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    headers TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, key)
  ) WITHOUT ROWID;
  CREATE INDEX idempotency_by_expiry ON idempotency_keys(expires_at);
  `,
  `
  CREATE TABLE jobs (
    -- AUTOINCREMENT: a job accepted after a reset must never take the seq of a wiped one that
    -- the worker may still be holding.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    workspace TEXT NOT NULL,
    object TEXT NOT NULL,
    operation TEXT NOT NULL,
    match_key TEXT,
    state TEXT NOT NULL,
    total_rows INTEGER NOT NULL,
    processed_rows INTEGER NOT NULL DEFAULT 0,
    inserted_rows INTEGER NOT NULL DEFAULT 0,
    merged_rows INTEGER NOT NULL DEFAULT 0,
    invalid_rows INTEGER NOT NULL DEFAULT 0,
    failure TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    completed_at INTEGER
  );
  CREATE INDEX jobs_by_state ON jobs(state, seq);
  CREATE INDEX jobs_by_workspace ON jobs(workspace, seq);
  -- The records a job was sent, until it finishes: apart from jobs, so that updating a job's
  -- progress does not rewrite megabytes of payload on every chunk.
  CREATE TABLE job_payloads (
    job_seq INTEGER PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE,
    body BLOB NOT NULL
  );
  CREATE TABLE job_errors (
    job_seq INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    row_index INTEGER NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    path TEXT,
    value TEXT,
    PRIMARY KEY (job_seq, row_index)
  ) WITHOUT ROWID;
  `,
];

/**
 * Opens (creating if needed) the emulator's SQLite file in WAL mode. `synchronous = NORMAL` in
 * WAL keeps every commit across a process crash (kill -9), which is the durability the emulator
 * promises; only an OS crash or power loss could drop the last commits.
 */
export function openDatabase(path: string): Database {
  if (path !== ":memory:" && !path.startsWith("file:")) mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path);
  try {
    // One emulator owns its file: the in-memory identity index mirrors it, so a second process
    // writing the same file would silently diverge. Take the lock now and hold it until close.
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("busy_timeout = 1000");
    db.pragma("journal_mode = WAL");
    db.exec("BEGIN EXCLUSIVE; COMMIT");
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
      throw new StartupError("database-in-use",
        `database ${path} is in use by another process (one cdp-emulator per database file); stop it or pass another --db`,
      );
    }
    throw error;
  }
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  // 4 MB of page cache, not better-sqlite3's 16 MB: lookups go through the in-memory identity
  // mirror and writes append at the right edge of each B-tree, whose inner pages fit in 4 MB
  // for millions of rows; the 12 MB saved is resident memory under load (docs/performance.md).
  db.pragma("cache_size = -4000");
  migrate(db);
  return db;
}

function migrate(db: Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(
      `this database was written by a newer cdp-emulator (schema version ${current}, this build knows ${migrations.length}); use a newer version or another --db file`,
    );
  }
  for (let version = current; version < migrations.length; version += 1) {
    db.transaction(() => {
      db.exec(migrations[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
