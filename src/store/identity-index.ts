/**
 * An in-memory mirror of the `identities` table, so resolving an identifier costs a map lookup
 * instead of a query: a 10,000-row batch asks about 30,000 of them. SQLite stays the truth:
 * a scope (workspace + object) is loaded from it on first use, every change is written to both,
 * and a transaction that rolls back after touching the mirror drops it, to be reloaded.
 * Safe because one process owns the database file (it is opened with an exclusive lock).
 */
export interface IdentityRow {
  field: string;
  value: string;
  record_seq: number;
  written_seq: number;
}

interface Holder {
  seq: number;
  writtenSeq: number;
}

type Scope = Map<string, Holder[]>;

const entryKey = (field: string, valueJson: string): string => `${field}\u0000${valueJson}`;

export class IdentityIndex {
  readonly #load: (workspace: string, object: string) => IdentityRow[];
  readonly #scopes = new Map<string, Scope>();
  #touched = false;

  constructor(load: (workspace: string, object: string) => IdentityRow[]) {
    this.#load = load;
  }

  #scope(workspace: string, object: string): Scope {
    const name = `${workspace}\u0000${object}`;
    let scope = this.#scopes.get(name);
    if (!scope) {
      scope = new Map();
      for (const row of this.#load(workspace, object)) {
        const key = entryKey(row.field, row.value);
        const holders = scope.get(key);
        const holder = { seq: row.record_seq, writtenSeq: row.written_seq };
        if (holders) holders.push(holder);
        else scope.set(key, [holder]);
      }
      this.#scopes.set(name, scope);
    }
    return scope;
  }

  /** Record seqs holding the identifier, the most recently written first. */
  holders(workspace: string, object: string, field: string, valueJson: string): number[] {
    const holders = this.#scope(workspace, object).get(entryKey(field, valueJson));
    if (!holders) return [];
    if (holders.length === 1) return [(holders[0] as Holder).seq];
    return [...holders].sort((a, b) => b.writtenSeq - a.writtenSeq).map((holder) => holder.seq);
  }

  /** Sets (adding if needed) the row's entry for the identifier. */
  put(workspace: string, object: string, field: string, valueJson: string, seq: number, writtenSeq: number): void {
    this.#touched = true;
    const scope = this.#scope(workspace, object);
    const key = entryKey(field, valueJson);
    const holders = scope.get(key);
    if (!holders) {
      scope.set(key, [{ seq, writtenSeq }]);
      return;
    }
    const existing = holders.find((holder) => holder.seq === seq);
    if (existing) existing.writtenSeq = writtenSeq;
    else holders.push({ seq, writtenSeq });
  }

  remove(workspace: string, object: string, field: string, valueJson: string, seq: number): void {
    this.#touched = true;
    const scope = this.#scope(workspace, object);
    const key = entryKey(field, valueJson);
    const remaining = (scope.get(key) ?? []).filter((holder) => holder.seq !== seq);
    if (remaining.length === 0) scope.delete(key);
    else scope.set(key, remaining);
  }

  /** Runs a transaction's work; if it throws after changing the mirror, the mirror is dropped. */
  guard<T>(work: () => T): T {
    this.#touched = false;
    try {
      return work();
    } catch (error) {
      if (this.#touched) this.clear();
      throw error;
    }
  }

  clear(workspace?: string): void {
    if (workspace === undefined) {
      this.#scopes.clear();
      return;
    }
    for (const name of [...this.#scopes.keys()]) {
      if (name.startsWith(`${workspace}\u0000`)) this.#scopes.delete(name);
    }
  }
}
