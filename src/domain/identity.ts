import { ApiError, problemToError } from "./errors.js";
import { mergeFields } from "./merge.js";
import type { CollisionPolicy, ObjectDefinition } from "./object-schema.js";
import { checkMatchKey, findMissingRequired, type Fields } from "./validation.js";

/**
 * Identity resolution, decided without I/O: the store answers "which rows hold this identifier"
 * through `IdentityLookup`, and this module returns a plan the store then applies in one
 * transaction. Rules (DESIGN.md §2):
 * - every identity field a row holds is indexed, so any of them finds the row later;
 * - a write that gives a row an identifier another row holds is a collision; the object's
 *   policy decides: `record` (both keep it, a lookup resolves to the most recently written
 *   row), `merge` (the other row is folded into this one) or `reject` (409).
 */

export interface StoredRow {
  seq: number;
  id: string;
  fields: Fields;
  createdAt: number;
  updatedAt: number;
}

export interface IdentityLookup {
  /** Seqs of the rows holding `field = value`, the most recently written first. */
  holders(field: string, value: unknown): readonly number[];
  /** The row with that seq, as stored. */
  row(seq: number): StoredRow;
}

export interface IdentityEntry {
  field: string;
  value: unknown;
}

export interface PlannedCollision {
  field: string;
  value: unknown;
  otherRowId: string;
  resolution: "recorded" | "merged";
}

export interface WritePlan {
  result: "inserted" | "merged";
  /** The row to update; null when a new row is inserted. */
  target: StoredRow | null;
  /** The row's complete new state. */
  fields: Fields;
  /** Identifiers this write asserted: they become the most recent holder's. */
  asserted: IdentityEntry[];
  /** Rows folded into the target under the `merge` policy; the store deletes them. */
  absorbed: StoredRow[];
  collisions: PlannedCollision[];
}

export function identityEntries(object: ObjectDefinition, fields: Fields): IdentityEntry[] {
  const entries: IdentityEntry[] = [];
  for (const field of object.identityKeys) {
    const value = fields[field];
    if (value !== undefined && value !== null) entries.push({ field, value });
  }
  return entries;
}

/** Append always inserts and never merges: duplicates are what append is for, not collisions. */
export function planAppend(object: ObjectDefinition, record: Fields, basePath = "record"): WritePlan {
  const missing = findMissingRequired(object, record, basePath, "insert");
  if (missing) throw problemToError(missing);
  return {
    result: "inserted",
    target: null,
    fields: { ...record },
    asserted: identityEntries(object, record),
    absorbed: [],
    collisions: [],
  };
}

export function planUpsert(input: {
  object: ObjectDefinition;
  record: Fields;
  matchKey: string;
  policy: CollisionPolicy;
  lookup: IdentityLookup;
  /** Where the record sits in the request, for error paths: `record` or `records[i]`. */
  basePath?: string;
}): WritePlan {
  const { object, record, matchKey, policy, lookup } = input;
  const basePath = input.basePath ?? "record";
  const matchProblem = checkMatchKey(object, matchKey, record, basePath);
  if (matchProblem) throw problemToError(matchProblem);

  const targetSeq = lookup.holders(matchKey, record[matchKey])[0];
  const target = targetSeq === undefined ? null : lookup.row(targetSeq);
  let fields = mergeFields(target?.fields ?? {}, record);
  const missing = findMissingRequired(object, fields, basePath, target ? "merge" : "insert");
  if (missing) throw problemToError(missing);

  const asserted = identityEntries(object, record);
  const collisions: PlannedCollision[] = [];
  const absorbed: StoredRow[] = [];
  const absorbedSeqs = new Set<number>();
  const queue = [...asserted];
  const checked = new Set<string>();
  // No row holds the matchKey value (that is why this is an insert): asking again finds nothing.
  if (!target) checked.add(`${matchKey}\u0000${JSON.stringify(record[matchKey])}`);

  while (queue.length > 0) {
    const entry = queue.shift() as IdentityEntry;
    const entryKey = `${entry.field}\u0000${JSON.stringify(entry.value)}`;
    if (checked.has(entryKey)) continue;
    checked.add(entryKey);
    // Holding the identifier already means any sharing was reported when it was first given.
    if (target && sameValue(target.fields[entry.field], entry.value)) continue;

    for (const otherSeq of lookup.holders(entry.field, entry.value)) {
      if (otherSeq === target?.seq || absorbedSeqs.has(otherSeq)) continue;
      const other = lookup.row(otherSeq);
      if (policy === "reject") {
        throw new ApiError(
          "IDENTITY_COLLISION",
          `${basePath}.${entry.field}: ${JSON.stringify(entry.value)} already identifies another ${object.objectName} row (${other.id}); this object's collision policy is "reject"`,
          { details: { path: `${basePath}.${entry.field}`, value: entry.value, otherRowId: other.id } },
        );
      }
      if (policy === "merge") {
        absorbed.push(other);
        absorbedSeqs.add(other.seq);
        fields = foldInto(fields, other.fields, record);
        // The absorbed row's own identifiers now belong to this row too; they may be shared further.
        queue.push(...identityEntries(object, other.fields));
        collisions.push({ field: entry.field, value: entry.value, otherRowId: other.id, resolution: "merged" });
      } else {
        // Recorded against the most recent other holder only, the row a lookup by the identifier
        // found until now: one entry per write, however many rows share it. Against every holder,
        // a value shared by n rows (a placeholder phone, a family's email) would read n rows and
        // log n collisions per write, quadratic in time and disk.
        collisions.push({ field: entry.field, value: entry.value, otherRowId: other.id, resolution: "recorded" });
        break;
      }
    }
  }

  return {
    result: target ? "merged" : "inserted",
    target,
    fields,
    asserted: policy === "merge" && absorbed.length > 0 ? identityEntries(object, fields) : asserted,
    absorbed,
    collisions,
  };
}

/** The surviving row wins; the absorbed row only fills gaps, never a field this write cleared. */
function foldInto(fields: Fields, absorbedFields: Fields, record: Fields): Fields {
  const result: Fields = { ...fields };
  for (const [name, value] of Object.entries(absorbedFields)) {
    if (result[name] === undefined && record[name] !== null) result[name] = value;
  }
  return result;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a !== undefined && a !== null && JSON.stringify(a) === JSON.stringify(b);
}
