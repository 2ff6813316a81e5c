import type { Database } from "./database.js";

export interface StoredResponse {
  fingerprint: string;
  status: number;
  headers: Record<string, string>;
  /** The exact bytes first sent, replayed as they are. */
  body: string;
  createdAt: number;
  expiresAt: number;
}

interface IdempotencySqlRow {
  fingerprint: string;
  status: number;
  headers: string;
  body: string;
  created_at: number;
  expires_at: number;
}

/** Responses stored against (workspace, Idempotency-Key) until they expire on the emulator clock. */
export class IdempotencyStore {
  readonly #statements;

  constructor(db: Database) {
    this.#statements = {
      find: db.prepare<[string, string, number], IdempotencySqlRow>(
        `SELECT fingerprint, status, headers, body, created_at, expires_at
           FROM idempotency_keys WHERE workspace = ? AND key = ? AND expires_at > ?`,
      ),
      save: db.prepare<[string, string, string, string, string, number, string, string, number, number]>(
        `INSERT OR REPLACE INTO idempotency_keys
           (workspace, key, fingerprint, method, path, status, headers, body, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      prune: db.prepare<[number]>(`DELETE FROM idempotency_keys WHERE expires_at <= ?`),
      count: db.prepare<[string], { n: number }>(`SELECT COUNT(*) AS n FROM idempotency_keys WHERE workspace = ?`),
    };
  }

  /** The live stored response for a key; an expired one reads as absent even before it is pruned. */
  find(workspace: string, key: string, now: number): StoredResponse | undefined {
    const row = this.#statements.find.get(workspace, key, now);
    if (!row) return undefined;
    return {
      fingerprint: row.fingerprint,
      status: row.status,
      headers: JSON.parse(row.headers) as Record<string, string>,
      body: row.body,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  save(input: {
    workspace: string;
    key: string;
    method: string;
    path: string;
    response: StoredResponse;
  }): void {
    const { response } = input;
    this.#statements.save.run(
      input.workspace,
      input.key,
      response.fingerprint,
      input.method,
      input.path,
      response.status,
      JSON.stringify(response.headers),
      response.body,
      response.createdAt,
      response.expiresAt,
    );
  }

  /** Deletes every key that has expired by `now`; returns how many went. */
  prune(now: number): number {
    return this.#statements.prune.run(now).changes;
  }

  count(workspace: string): number {
    return this.#statements.count.get(workspace)?.n ?? 0;
  }
}
