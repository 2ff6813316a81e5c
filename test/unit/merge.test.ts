import { describe, expect, it } from "vitest";
import { mergeFields } from "../../src/domain/merge.js";

describe("mergeFields (null vs absent)", () => {
  it.each([
    {
      name: "a sent field replaces the stored value",
      existing: { email: "jane@example.com", tier: "silver" },
      incoming: { tier: "gold" },
      expected: { email: "jane@example.com", tier: "gold" },
    },
    {
      name: "an omitted field keeps its value",
      existing: { email: "jane@example.com", first_name: "Jane" },
      incoming: { email: "jane@example.com", tier: "gold" },
      expected: { email: "jane@example.com", first_name: "Jane", tier: "gold" },
    },
    {
      name: "a field sent as null is cleared",
      existing: { email: "jane@example.com", first_name: "Jane", tier: "gold" },
      incoming: { email: "jane@example.com", first_name: null },
      expected: { email: "jane@example.com", tier: "gold" },
    },
    {
      name: "clearing a field that was never set is harmless",
      existing: { email: "jane@example.com" },
      incoming: { tier: null },
      expected: { email: "jane@example.com" },
    },
    {
      name: "falsy values are values, not clears",
      existing: { marketing_opt_in: true, lifetime_value: 10, city: "Paris" },
      incoming: { marketing_opt_in: false, lifetime_value: 0, city: "" },
      expected: { marketing_opt_in: false, lifetime_value: 0, city: "" },
    },
  ])("$name", ({ existing, incoming, expected }) => {
    expect(mergeFields(existing, incoming)).toEqual(expected);
  });

  it("does not modify the stored row it is given", () => {
    const existing = { email: "jane@example.com", tier: "silver" };
    mergeFields(existing, { tier: null });
    expect(existing).toEqual({ email: "jane@example.com", tier: "silver" });
  });

  it("applies successive writes last-write-wins in arrival order", () => {
    const afterFirst = mergeFields({}, { email: "a@example.com", tier: "silver", city: "Lyon" });
    const afterSecond = mergeFields(afterFirst, { tier: "gold" });
    const afterThird = mergeFields(afterSecond, { city: null, tier: "platinum" });
    expect(afterThird).toEqual({ email: "a@example.com", tier: "platinum" });
  });
});
