import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config.js";
import { StartupError } from "../../src/domain/startup-error.js";

describe("resolveConfig", () => {
  it("defaults to 127.0.0.1:4010, a file under .cdp-emulator, dev-token and generous quotas", () => {
    const config = resolveConfig({}, {});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 4010,
      db: ".cdp-emulator/cdp.sqlite",
      logLevel: "info",
      latencyMs: 0,
      journalSize: 10_000,
      scenario: null,
      rateLimits: { single: { limit: 1000, windowSeconds: 1 }, batch: { limit: 100, windowSeconds: 1 } },
    });
    expect(config.tokens).toEqual([{ token: "dev-token", workspace: "default", scopes: ["records:write", "records:read", "metadata:read"], expiresAt: null }]);
  });

  it("takes every setting from the environment, and a flag wins over its variable", () => {
    const env = {
      CDP_EMULATOR_HOST: "0.0.0.0",
      CDP_EMULATOR_PORT: "5000",
      CDP_EMULATOR_DB: ":memory:",
      CDP_EMULATOR_LOG_LEVEL: "warn",
      CDP_EMULATOR_LATENCY_MS: "25",
      CDP_EMULATOR_SINGLE_RATE: "10/60",
      CDP_EMULATOR_BATCH_RATE: "2",
      CDP_EMULATOR_JOURNAL_SIZE: "50",
      CDP_EMULATOR_SCENARIO: "flaky-5xx",
      CDP_EMULATOR_TOKENS: "alpha,beta@team-b",
      CDP_EMULATOR_COLLISION_POLICY: "profiles=merge",
    };
    const fromEnv = resolveConfig({}, env);
    expect(fromEnv).toMatchObject({
      host: "0.0.0.0",
      port: 5000,
      db: ":memory:",
      logLevel: "warn",
      latencyMs: 25,
      journalSize: 50,
      scenario: "flaky-5xx",
      collisionPolicies: { profiles: "merge" },
      rateLimits: { single: { limit: 10, windowSeconds: 60 }, batch: { limit: 2, windowSeconds: 1 } },
    });
    expect(fromEnv.tokens.map((token) => `${token.token}@${token.workspace}`)).toEqual(["alpha@default", "beta@team-b"]);
    const flagged = resolveConfig({ port: "0", token: ["gamma"], singleRate: "5/1" }, env);
    expect(flagged.port).toBe(0);
    expect(flagged.tokens.map((token) => token.token)).toEqual(["gamma"]);
    expect(flagged.rateLimits.single).toEqual({ limit: 5, windowSeconds: 1 });
  });

  it("reads a JSON token list with scopes and an expiry", () => {
    const config = resolveConfig({}, {
      CDP_EMULATOR_TOKENS: '[{"token":"reader","workspace":"ci","scopes":["metadata:read"],"expiresAt":"2026-12-31T00:00:00Z"}, "plain"]',
    });
    expect(config.tokens).toEqual([
      { token: "reader", workspace: "ci", scopes: ["metadata:read"], expiresAt: "2026-12-31T00:00:00Z" },
      { token: "plain", workspace: "default", scopes: ["records:write", "records:read", "metadata:read"], expiresAt: null },
    ]);
  });

  it.each([
    { flags: { port: "abc" }, message: /--port/ },
    { flags: { port: "70000" }, message: /--port/ },
    { flags: { logLevel: "loud" }, message: /--log-level/ },
    { flags: { latency: "-1" }, message: /--latency/ },
    { flags: { singleRate: "fast" }, message: /--single-rate/ },
    { flags: { batchRate: "0/1" }, message: /--batch-rate/ },
    { flags: { journalSize: "0" }, message: /--journal-size/ },
    { flags: { token: ["has space"] }, message: /token #1 .* must be non-empty and use only/ },
    { flags: { token: ["a@b@c"] }, message: /one @/ },
    { flags: { token: ["dup", "dup"] }, message: /token #2 .* is the same as token #1/ },
    { flags: { token: ['{"token":"x","scopes":["records:delete"]}'] }, message: /scopes/ },
    { flags: { collisionPolicy: ["profiles=smash"] }, message: /--collision-policy/ },
    { flags: { db: " " }, message: /--db/ },
  ])("refuses $flags with a message naming it", ({ flags, message }) => {
    expect(() => resolveConfig(flags, {})).toThrowError(StartupError);
    expect(() => resolveConfig(flags, {})).toThrowError(message);
  });

  it.each([
    { name: "a token with a space", token: ["my secret"] },
    { name: "a token given twice", token: ["s3cret-value", "s3cret-value"] },
    { name: "a token with two @", token: ["s3cret@a@b"] },
    { name: "a JSON token with a bad scope", token: ['{"token":"s3cret-value","scopes":["nope"]}'] },
    { name: "a JSON token with a bad expiry", token: ['{"token":"s3cret-value","expiresAt":"soon"}'] },
    { name: "a JSON token that does not parse", token: ['{"token":"s3cret-value",}'] },
  ])("never quotes a token's value when refusing $name (tokens are secrets)", ({ token }) => {
    let message = "";
    try {
      resolveConfig({ token }, {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/token #\d/);
    expect(message).not.toMatch(/secret/);
  });
});
