/**
 * An in-memory mirror of the `identities` table, so resolving an identifier costs a map lookup
 * instead of a query: a 10,000-row batch asks about 30,000 of them. SQLite stays the truth:
 * a scope (workspace + object) is loaded from it on first use, every change is written to both,
 * and a transaction that rolls back after touching the mirror drops it, to be reloaded.
 * Safe because one process owns the database file (it is opened with an exclusive lock).
 *
 * Values are the identifiers themselves (string or number): a Map, like the untyped SQLite
 * column, keeps "42" and 42 apart without encoding them.
 */
export type IdentityValue = string | number;

export interface IdentityRow {
  field: string;
  value: IdentityValue;
  record_seq: number;
  written_seq: number;
}

/** Record seqs holding one identifier, the most recently written first. */
type Holders = number[];
/** field → value → holders */
type ScopeMap = Map<string, Map<IdentityValue, Holders>>;

export class IdentityScope {
  readonly #fields: ScopeMap;
  readonly #onChange: () => void;

  constructor(fields: ScopeMap, onChange: () => void) {
    this.#fields = fields;
    this.#onChange = onChange;
  }

  /** Record seqs holding the identifier, the most recently written first. Do not modify. */
  holders(field: string, value: IdentityValue): readonly number[] {
    return this.#fields.get(field)?.get(value) ?? [];
  }

  /** The row now holds the identifier and is its most recent holder. */
  put(field: string, value: IdentityValue, seq: number): void {
    this.#onChange();
    const values = entryOf(this.#fields, field, () => new Map());
    const holders = values.get(value);
    if (!holders) {
      values.set(value, [seq]);
      return;
    }
    const at = holders.indexOf(seq);
    if (at === 0) return;
    if (at > 0) holders.splice(at, 1);
    holders.unshift(seq);
  }

  remove(field: string, value: IdentityValue, seq: number): void {
    this.#onChange();
    const values = this.#fields.get(field);
    const holders = values?.get(value);
    if (!values || !holders) return;
    const at = holders.indexOf(seq);
    if (at >= 0) holders.splice(at, 1);
    if (holders.length === 0) values.delete(value);
  }
}

export class IdentityIndex {
  readonly #load: (workspace: string, object: string) => IdentityRow[];
  /** workspace → object → scope */
  readonly #scopes = new Map<string, Map<string, IdentityScope>>();
  #touched = false;
  readonly #markTouched = (): void => {
    this.#touched = true;
  };

  constructor(load: (workspace: string, object: string) => IdentityRow[]) {
    this.#load = load;
  }

  scope(workspace: string, object: string): IdentityScope {
    const objects = entryOf(this.#scopes, workspace, () => new Map<string, IdentityScope>());
    let scope = objects.get(object);
    if (!scope) {
      const fields: ScopeMap = new Map();
      const rows = this.#load(workspace, object).sort((a, b) => b.written_seq - a.written_seq);
      for (const row of rows) {
        const values = entryOf(fields, row.field, () => new Map());
        const holders = values.get(row.value);
        if (holders) holders.push(row.record_seq);
        else values.set(row.value, [row.record_seq]);
      }
      scope = new IdentityScope(fields, this.#markTouched);
      objects.set(object, scope);
    }
    return scope;
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
    if (workspace === undefined) this.#scopes.clear();
    else this.#scopes.delete(workspace);
  }
}

/** The map's entry for `key`, made and stored first when it has none. */
function entryOf<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let entry = map.get(key);
  if (entry === undefined) {
    entry = make();
    map.set(key, entry);
  }
  return entry;
}
