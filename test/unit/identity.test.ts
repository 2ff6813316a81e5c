import { describe, expect, it } from "vitest";
import { bundledSchemasDir } from "../../src/config.js";
import { ApiError } from "../../src/domain/errors.js";
import { planAppend, planUpsert, type IdentityLookup, type StoredRow } from "../../src/domain/identity.js";
import type { CollisionPolicy } from "../../src/domain/object-schema.js";
import type { Fields } from "../../src/domain/validation.js";
import { loadObjectSchemas } from "../../src/services/object-schemas.js";

const profiles = loadObjectSchemas(bundledSchemasDir()).get("profiles")!;

/** An in-memory stand-in for the store's identity index: the last row given a value wins lookups. */
function lookupOver(rows: StoredRow[]): IdentityLookup {
  return {
    holders: (field, value) => rows.filter((row) => row.fields[field] === value).reverse().map((row) => row.seq),
    row: (seq) => rows.find((row) => row.seq === seq)!,
  };
}

const row = (seq: number, fields: Fields): StoredRow => ({ seq, id: `rec_${seq}`, fields, createdAt: 0, updatedAt: 0 });

function plan(record: Fields, matchKey: string, rows: StoredRow[], policy: CollisionPolicy = "record") {
  return planUpsert({ object: profiles, record, matchKey, policy, lookup: lookupOver(rows) });
}

describe("planUpsert", () => {
  it("inserts when no row holds the matchKey value", () => {
    const result = plan({ email: "jane@co.com", tier: "gold" }, "email", []);
    expect(result).toMatchObject({ result: "inserted", target: null, fields: { email: "jane@co.com", tier: "gold" }, collisions: [] });
  });

  it("merges into the row that holds the matchKey value, field by field", () => {
    const existing = row(1, { email: "jane@co.com", first_name: "Jane", tier: "silver" });
    const result = plan({ email: "jane@co.com", tier: "gold", first_name: null }, "email", [existing]);
    expect(result.result).toBe("merged");
    expect(result.target?.seq).toBe(1);
    expect(result.fields).toEqual({ email: "jane@co.com", tier: "gold" });
  });

  it("finds a row by any identity key it holds (progressive identity)", () => {
    const linked = row(2, { email: "jane@co.com", anonymous_id: "anon_abc" });
    const result = plan({ anonymous_id: "anon_abc", last_seen_at: "2026-04-21T15:30:00Z" }, "anonymous_id", [linked]);
    expect(result.target?.seq).toBe(2);
  });

  it("moves an identifier when it changes on the row found by another key", () => {
    const existing = row(1, { customer_id: "cust_1", email: "old@co.com" });
    const result = plan({ customer_id: "cust_1", email: "new@co.com" }, "customer_id", [existing]);
    expect(result).toMatchObject({ result: "merged", fields: { customer_id: "cust_1", email: "new@co.com" }, collisions: [] });
  });

  describe("when the write gives the row an identifier another row holds", () => {
    // The guide's example: row #100 jane/cust_99, row #200 bob; write {bob, cust_99} by email.
    const jane = row(100, { email: "jane@co.com", customer_id: "cust_99" });
    const bob = row(200, { email: "bob@co.com" });
    const write = { email: "bob@co.com", customer_id: "cust_99" };

    it("records the collision and lets both rows keep it under the default policy", () => {
      const result = plan(write, "email", [jane, bob]);
      expect(result.target?.seq).toBe(200);
      expect(result.absorbed).toEqual([]);
      expect(result.collisions).toEqual([{ field: "customer_id", value: "cust_99", otherRowId: "rec_100", resolution: "recorded" }]);
    });

    it("folds the other row into this one under the merge policy, this write's values winning", () => {
      const result = plan(write, "email", [jane, bob], "merge");
      expect(result.absorbed.map((absorbed) => absorbed.seq)).toEqual([100]);
      expect(result.fields).toEqual({ email: "bob@co.com", customer_id: "cust_99" });
      expect(result.collisions[0]?.resolution).toBe("merged");
    });

    it("refuses the write with 409 under the reject policy", () => {
      expect(() => plan(write, "email", [jane, bob], "reject")).toThrowError(ApiError);
      try {
        plan(write, "email", [jane, bob], "reject");
      } catch (error) {
        expect((error as ApiError).status).toBe(409);
        expect((error as ApiError).details).toMatchObject({ path: "record.customer_id", otherRowId: "rec_100" });
      }
    });
  });

  it("does not report a collision again for an identifier the row already shares", () => {
    const a = row(1, { anonymous_id: "anon_abc" });
    const b = row(2, { email: "jane@co.com", anonymous_id: "anon_abc" });
    const result = plan({ email: "jane@co.com", anonymous_id: "anon_abc", tier: "gold" }, "email", [a, b]);
    expect(result.collisions).toEqual([]);
  });

  it("under merge, gap-fills from the absorbed row but keeps a field this write cleared", () => {
    const anonymous = row(1, { anonymous_id: "anon_abc", city: "Lyon", tier: "bronze" });
    const known = row(2, { email: "jane@co.com" });
    const result = plan({ email: "jane@co.com", anonymous_id: "anon_abc", tier: null }, "email", [anonymous, known], "merge");
    expect(result.fields).toEqual({ email: "jane@co.com", anonymous_id: "anon_abc", city: "Lyon" });
  });

  it("under merge, also absorbs rows that share identifiers brought in by an absorbed row", () => {
    const a = row(1, { anonymous_id: "anon_abc", phone: "+12125551234" });
    const c = row(3, { phone: "+12125551234", external_id: "crm_7" });
    const b = row(2, { email: "jane@co.com" });
    const result = plan({ email: "jane@co.com", anonymous_id: "anon_abc" }, "email", [a, c, b], "merge");
    expect(result.absorbed.map((absorbed) => absorbed.seq).sort()).toEqual([1, 3]);
    expect(result.fields).toMatchObject({ email: "jane@co.com", anonymous_id: "anon_abc", phone: "+12125551234", external_id: "crm_7" });
  });
});

describe("planAppend", () => {
  it("always inserts the record as sent, nulls included, and reports no collisions", () => {
    const result = planAppend(profiles, { email: "jane@co.com", first_name: null });
    expect(result).toMatchObject({ result: "inserted", target: null, fields: { email: "jane@co.com", first_name: null }, collisions: [] });
    expect(result.asserted).toEqual([{ field: "email", value: "jane@co.com" }]);
  });
});
