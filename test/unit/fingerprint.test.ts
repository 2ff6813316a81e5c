import { describe, expect, it } from "vitest";
import { canonicalJson, requestFingerprint } from "../../src/domain/fingerprint.js";

describe("canonicalJson", () => {
  it("sorts object keys at every depth", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[{"x":2,"y":1}]},"b":1}');
  });

  it("keeps array order, which is meaningful", () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it("tells null from an absent field", () => {
    expect(canonicalJson({ a: null })).not.toBe(canonicalJson({}));
  });
});

describe("requestFingerprint", () => {
  const base = { method: "POST", path: "/public/v1/records/profiles/upsert", body: { record: { email: "a@x.io", tier: "gold" } } };

  it("is the same for the same body with keys in another order", () => {
    expect(requestFingerprint(base)).toBe(
      requestFingerprint({ ...base, body: { record: { tier: "gold", email: "a@x.io" } } }),
    );
  });

  it.each([
    { name: "another body", change: { body: { record: { email: "a@x.io", tier: "silver" } } } },
    { name: "another path", change: { path: "/public/v1/records/profiles/append" } },
    { name: "another method", change: { method: "PUT" } },
  ])("differs for $name", ({ change }) => {
    expect(requestFingerprint({ ...base, ...change })).not.toBe(requestFingerprint(base));
  });
});
