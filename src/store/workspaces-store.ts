import type { Scope } from "../domain/vocabulary.js";
import type { Database } from "./database.js";


export type TokenSource = "config" | "minted";

export interface TokenRecord {
  token: string;
  workspace: string;
  scopes: Scope[];
  expiresAt: number | null;
}

interface TokenSqlRow {
  token: string;
  workspace: string;
  scopes: string;
  expires_at: number | null;
}

/** Workspaces isolate data, identities and idempotency keys; tokens map to exactly one. */
const TOKEN_CACHE_LIMIT = 10_000;

export class WorkspacesStore {
  readonly #db: Database;
  readonly #statements;
  readonly #tokenCache = new Map<string, TokenRecord | undefined>();

  constructor(db: Database) {
    this.#db = db;
    this.#statements = {
      ensureWorkspace: db.prepare<[string, number]>(
        `INSERT INTO workspaces (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING`,
      ),
      upsertToken: db.prepare<[string, string, string, number | null, TokenSource, number]>(
        `INSERT INTO tokens (token, workspace, scopes, expires_at, source, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(token) DO UPDATE SET workspace = excluded.workspace, scopes = excluded.scopes,
                                          expires_at = excluded.expires_at, source = excluded.source`,
      ),
      configuredTokens: db.prepare<[], { token: string }>(`SELECT token FROM tokens WHERE source = 'config'`),
      deleteToken: db.prepare<[string]>(`DELETE FROM tokens WHERE token = ?`),
      tokenSource: db.prepare<[string], { source: TokenSource }>(`SELECT source FROM tokens WHERE token = ?`),
      findToken: db.prepare<[string], TokenSqlRow>(`SELECT token, workspace, scopes, expires_at FROM tokens WHERE token = ?`),
      exists: db.prepare<[string], { name: string }>(`SELECT name FROM workspaces WHERE name = ?`),
      list: db.prepare<[], { name: string }>(`SELECT name FROM workspaces ORDER BY name`),
    };
  }

  ensureWorkspace(name: string, now: number): void {
    this.#statements.ensureWorkspace.run(name, now);
  }

  exists(name: string): boolean {
    return this.#statements.exists.get(name) !== undefined;
  }

  list(): string[] {
    return this.#statements.list.all().map((row) => row.name);
  }

  saveToken(token: TokenRecord, now: number, source: TokenSource = "minted"): void {
    this.#tokenCache.clear();
    this.ensureWorkspace(token.workspace, now);
    this.#statements.upsertToken.run(token.token, token.workspace, JSON.stringify(token.scopes), token.expiresAt, source, now);
  }

  /**
   * Start-up configuration is authoritative for the tokens it names: a token dropped from the
   * flags or environment stops working, even on a database an earlier run wrote. Tokens minted
   * at run time (source "minted") are left alone.
   */
  syncConfiguredTokens(tokens: TokenRecord[], now: number): void {
    this.#tokenCache.clear();
    this.#db.transaction(() => {
      const wanted = new Set(tokens.map((token) => token.token));
      for (const { token } of this.#statements.configuredTokens.all()) {
        if (!wanted.has(token)) this.#statements.deleteToken.run(token);
      }
      for (const token of tokens) this.saveToken(token, now, "config");
    })();
  }

  /** "config" for a token given at start, "minted" for one made on the control plane. */
  tokenSource(token: string): TokenSource | undefined {
    return this.#statements.tokenSource.get(token)?.source;
  }

  /**
   * Every public request looks its token up, and tokens change only through this class: a cache
   * (cleared on every change) saves a query and a JSON.parse per request. Misses are cached too,
   * bounded so a stream of made-up tokens cannot grow it without limit.
   */
  findToken(token: string): TokenRecord | undefined {
    if (this.#tokenCache.has(token)) return this.#tokenCache.get(token);
    const row = this.#statements.findToken.get(token);
    const found = row
      ? { token: row.token, workspace: row.workspace, scopes: JSON.parse(row.scopes) as Scope[], expiresAt: row.expires_at }
      : undefined;
    if (this.#tokenCache.size >= TOKEN_CACHE_LIMIT) this.#tokenCache.clear();
    this.#tokenCache.set(token, found);
    return found;
  }
}
