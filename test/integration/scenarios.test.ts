import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createEmulator, emulatorInternals, StartupError } from "../../src/server.js";
import type { ErrorEnvelope, SuccessEnvelope } from "../../src/domain/errors.js";
import { cliPerTest, runCli, startCli } from "../helpers/cli.js";
import { AUTH, call, perTest, type EmulatorOnDisk, type JsonResponse } from "../helpers/emulator.js";

/*
 * Scenarios: every shipped file does what its description says (one case per file, and a file
 * without a case fails the suite), the loader refuses bad files naming file and path, and the
 * control routes list, apply and refuse scenarios.
 */

const SCENARIOS_DIR = fileURLToPath(new URL("../../scenarios", import.meta.url));
const SCENARIO_FILE = /\.(ya?ml|json)$/;

interface Applied {
  applied: string;
  faults: string[];
  rateLimits: { single: { limit: number; windowSeconds: number }; batch: { limit: number; windowSeconds: number } };
  clock: { now: string; frozen: boolean };
  seeded: Record<string, number>;
}

interface Listing {
  scenarios: { name: string; description: string; file: string }[];
  active: string | null;
}

interface FaultList {
  faults: { id: string; source: string }[];
}

interface RecordsPage {
  records: { rowId: string; fields: Record<string, unknown> }[];
}

const { emulator: fresh, dir: scratchDir } = perTest("cdp-emulator-scenarios-");

/** A folder holding exactly these scenario files. */
function scenarioFolder(files: Record<string, string>): string {
  const dir = join(scratchDir(), "scenarios");
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** A body read as `ErrorEnvelope` unless told otherwise: applyOk reads the success. */
const apply = <T = ErrorEnvelope>(env: EmulatorOnDisk, name: string) =>
  call<T>(`${env.url}/_emulator/scenarios/${name}`, { method: "POST" });

async function applyOk(env: EmulatorOnDisk, name: string): Promise<Applied> {
  const response = await apply<SuccessEnvelope<Applied>>(env, name);
  expect(response.status, response.text).toBe(200);
  expect(response.body.data.applied).toBe(name);
  return response.body.data;
}

// The public writes' bodies are only read when refused.
const upsertProfile = (env: EmulatorOnDisk, email: string, headers: Record<string, string> = {}) =>
  call<ErrorEnvelope>(`${env.url}/public/v1/records/profiles/upsert`, { headers: { ...AUTH, ...headers }, body: { record: { email } } });

const appendOrder = (env: EmulatorOnDisk, orderId: string) =>
  call<ErrorEnvelope>(`${env.url}/public/v1/records/orders/append`, {
    headers: AUTH,
    body: { record: { order_id: orderId, total: 10, currency: "USD", placed_at: "2026-04-21T15:30:00Z" } },
  });

const appendEventBatch = (env: EmulatorOnDisk) =>
  call<ErrorEnvelope>(`${env.url}/public/v1/records/events/append-batch`, {
    headers: AUTH,
    body: { records: [{ event: "page_view", occurred_at: "2026-04-21T15:30:00Z" }] },
  });

async function rows(env: EmulatorOnDisk, object: string, workspace = "default"): Promise<RecordsPage["records"]> {
  const response = await call<SuccessEnvelope<RecordsPage>>(`${env.url}/_emulator/records/${object}?workspace=${workspace}&limit=1000`);
  expect(response.status, response.text).toBe(200);
  return response.body.data.records;
}

async function faultRules(env: EmulatorOnDisk): Promise<FaultList["faults"]> {
  return (await call<SuccessEnvelope<FaultList>>(`${env.url}/_emulator/faults`)).body.data.faults;
}

const emails = (page: RecordsPage["records"]): unknown[] => page.map((row) => row.fields["email"]).sort();

/** 60 upserts of distinct profiles, in order: the statuses the client saw. */
async function sixtyWrites(env: EmulatorOnDisk): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < 60; index += 1) {
    const response = await upsertProfile(env, `flaky${index}@example.com`);
    statuses.push(response.status);
  }
  return statuses;
}

// One case per file in scenarios/, keyed by the scenario's name.
const cases: Record<string, () => Promise<void>> = {
  "happy-path": async () => {
    const env = await fresh();
    const applied = await applyOk(env, "happy-path");
    expect(applied.faults).toEqual([]);
    expect(applied.rateLimits).toEqual({ single: { limit: 1000, windowSeconds: 1 }, batch: { limit: 100, windowSeconds: 1 } });
    expect(applied.clock.frozen).toBe(false);
    expect(await faultRules(env)).toEqual([]);

    for (let index = 0; index < 20; index += 1) {
      const response = await upsertProfile(env, `happy${index}@example.com`);
      expect(response.status).toBe(200);
      expect(response.headers.get("x-emulator-fault")).toBeNull();
    }
    expect(await rows(env, "profiles")).toHaveLength(20);
    const batch = await appendEventBatch(env);
    expect(batch.status).toBe(202);
  },

  "flaky-5xx": async () => {
    const first = await fresh();
    await applyOk(first, "flaky-5xx");
    const statuses = await sixtyWrites(first);

    expect(new Set(statuses)).toEqual(new Set([200, 502, 503, 504]));
    const failed = statuses.filter((status) => status !== 200).length;
    // "About a third": 20 expected; the seeded sequence gives 18.
    expect(failed).toBeGreaterThanOrEqual(12);
    expect(failed).toBeLessThanOrEqual(28);
    // A refused write was not executed.
    expect(await rows(first, "profiles")).toHaveLength(60 - failed);
    // Reads are not writes: untouched.
    const read = await call(`${first.url}/public/v1/metadata/objects`, { headers: AUTH });
    expect(read.status).toBe(200);

    // Seeded: a second fresh emulator fails the same writes the same way.
    const second = await fresh();
    await applyOk(second, "flaky-5xx");
    expect(await sixtyWrites(second)).toEqual(statuses);
  },

  "rate-limited": async () => {
    const env = await fresh();
    const applied = await applyOk(env, "rate-limited");
    expect(applied.rateLimits).toEqual({ single: { limit: 5, windowSeconds: 1 }, batch: { limit: 1, windowSeconds: 1 } });
    env.emulator.clock.freeze(); // time does not refill the bucket between the writes

    for (let index = 0; index < 5; index += 1) {
      const response = await upsertProfile(env, `quota${index}@example.com`);
      expect(response.status).toBe(200);
      expect(response.headers.get("x-ratelimit-remaining")).toBe(String(4 - index));
    }
    const sixth = await upsertProfile(env, "quota5@example.com");
    expect(sixth.status).toBe(429);
    expect(sixth.body.error.code).toBe("CDP_ETL.RATE_LIMIT.EXCEEDED");
    expect(sixth.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(sixth.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(sixth.headers.get("retry-after"))).toBeLessThanOrEqual(1);

    expect((await appendEventBatch(env)).status).toBe(202);
    const secondBatch = await appendEventBatch(env);
    expect(secondBatch.status).toBe(429);
    expect(secondBatch.headers.get("retry-after")).toBe("1");

    // Once the window has passed, a write goes through again.
    env.emulator.clock.advance(1000);
    expect((await upsertProfile(env, "quota6@example.com")).status).toBe(200);
  },

  "lost-ack": async () => {
    const env = await fresh();
    const applied = await applyOk(env, "lost-ack");
    expect(applied.faults).toHaveLength(1);

    const first = await upsertProfile(env, "first@example.com", { "Idempotency-Key": "k1" });
    expect(first.status).toBe(200);
    // The second write commits, then its connection is reset: no response at all.
    await expect(upsertProfile(env, "second@example.com", { "Idempotency-Key": "k2" })).rejects.toThrow();
    expect(emails(await rows(env, "profiles"))).toEqual(["first@example.com", "second@example.com"]);

    // The client's retry with the same key replays the stored success and writes nothing.
    const retry = await upsertProfile(env, "second@example.com", { "Idempotency-Key": "k2" });
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await rows(env, "profiles")).toHaveLength(2);
  },

  "write-races": async () => {
    const env = await fresh();
    await applyOk(env, "write-races");

    const upserts: JsonResponse<ErrorEnvelope>[] = [];
    for (let index = 1; index <= 6; index += 1) upserts.push(await upsertProfile(env, `race${index}@example.com`));
    expect(upserts.map((response) => response.status)).toEqual([200, 200, 409, 200, 200, 409]);
    expect(upserts[2]?.body.error.code).toBe("CDP_ETL.CONFLICT.WRITE_RACE");
    expect(emails(await rows(env, "profiles"))).toEqual(
      ["race1@example.com", "race2@example.com", "race4@example.com", "race5@example.com"].sort(),
    );

    for (let index = 1; index <= 6; index += 1) expect((await appendOrder(env, `ord_${index}`)).status).toBe(200);
    expect(await rows(env, "orders")).toHaveLength(6);
  },

  "maintenance-window": async () => {
    const env = await fresh();
    await applyOk(env, "maintenance-window");

    for (let index = 1; index <= 10; index += 1) {
      const response = await upsertProfile(env, `mw${index}@example.com`);
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe("CDP_ETL.SERVICE.UNAVAILABLE");
      expect(response.headers.get("retry-after")).toBe("2");
      if (index === 5) expect((await call(`${env.url}/public/v1/metadata/objects`, { headers: AUTH })).status).toBe(200);
    }
    expect(await rows(env, "profiles")).toHaveLength(0);
    expect((await upsertProfile(env, "mw11@example.com")).status).toBe(200);
    expect((await appendOrder(env, "ord_after")).status).toBe(200);
  },

  "slow-network": async () => {
    const env = await fresh();
    await applyOk(env, "slow-network");

    const timed = async (request: () => Promise<JsonResponse<ErrorEnvelope>>): Promise<JsonResponse<ErrorEnvelope>> => {
      const started = performance.now();
      const response = await request();
      // Timer resolution: allow a millisecond of rounding, never less than the 150 ms delay.
      expect(performance.now() - started).toBeGreaterThanOrEqual(149);
      expect(response.headers.get("x-emulator-fault")).toMatch(/^delay=150;jitter=100;/);
      return response;
    };
    expect((await timed(() => upsertProfile(env, "slow@example.com"))).status).toBe(200);
    expect((await timed(() => appendOrder(env, "ord_slow"))).status).toBe(200);
    expect((await timed(() => call<ErrorEnvelope>(`${env.url}/public/v1/metadata/objects`, { headers: AUTH }))).status).toBe(200);
  },
};

const shipped = readdirSync(SCENARIOS_DIR)
  .filter((file) => SCENARIO_FILE.test(file))
  .map((file) => file.replace(SCENARIO_FILE, ""))
  .sort();

describe("the shipped scenarios", () => {
  it("has a test case for every file in scenarios/, and no case without a file", () => {
    expect(shipped.length).toBeGreaterThanOrEqual(7);
    expect(Object.keys(cases).sort()).toEqual(shipped);
  });

  it.each(shipped)("%s does what its description says", async (name) => {
    const run = cases[name];
    if (!run) throw new Error(`scenarios/${name}: no test case; add one to \`cases\` in test/integration/scenarios.test.ts`);
    await run();
  });
});

describe("loading scenario files", () => {
  const load = (files: Record<string, string>, extra: { scenario?: string } = {}) => () =>
    createEmulator({ scenariosDir: scenarioFolder(files), db: join(scratchDir(), "cdp.sqlite"), logLevel: "silent", ...extra });

  const expectLoadError = (files: Record<string, string>, message: RegExp | string): void => {
    const start = load(files);
    expect(start).toThrow(StartupError);
    expect(start).toThrow(message);
  };

  it("loads every bundled scenario", () => {
    const emulator = createEmulator({ db: join(scratchDir(), "cdp.sqlite"), logLevel: "silent" });
    try {
      expect(emulator.applyScenario("write-races").faults).toHaveLength(1);
    } finally {
      emulatorInternals(emulator).store.close();
    }
  });

  it("refuses a file that is not valid YAML, naming it and the line", () => {
    expectLoadError({ "broken.yaml": "name: broken\ndescription: [unclosed\n" }, /broken\.yaml: not valid YAML \(.*line \d+/);
  });

  it("refuses a JSON file that is not valid JSON", () => {
    expectLoadError({ "broken.json": '{"name": "broken",' }, /broken\.json: not valid JSON/);
  });

  it("refuses a file that breaks the scenario schema, naming the field", () => {
    expectLoadError({ "tight.yaml": "name: tight\ndescription: d\nrateLimits:\n  single: { limit: 0, windowSeconds: 1 }\n" }, "tight.yaml: rateLimits.single.limit: must be at least 1");
    expectLoadError({ "extra.yaml": "name: extra\ndescription: d\nfault: []\n" }, /extra\.yaml: fault: is not a known field; use name, description, faults/);
    expectLoadError({ "nodesc.yaml": "name: nodesc\n" }, "nodesc.yaml: description: is required");
    expectLoadError({ "list.yaml": "- name: list\n" }, /list\.yaml: the file must hold an object/);
    expectLoadError({ "when.yaml": "name: when\ndescription: d\nclock: { set: '2026-04-21 15:30:00' }\n" }, /when\.yaml: clock\.set: must be an RFC 3339 timestamp/);
    expectLoadError({ "seeds.yaml": "name: seeds\ndescription: d\nseed:\n  records:\n    profiles: [42]\n" }, "seeds.yaml: seed.records.profiles[0]: must be an object");
  });

  it("refuses a bad fault rule, naming the file, the rule's index and the field", () => {
    const file = [
      "name: flaky",
      "description: d",
      "faults:",
      "  - action: { status: 503 }",
      "  - match: { method: POST }",
      "    action: { status: 418 }",
    ].join("\n");
    expectLoadError({ "flaky.yaml": file }, "flaky.yaml: faults[1].action.status: must be one of 409, 429, 500, 502, 503, 504");
    expectLoadError(
      { "both.yaml": "name: both\ndescription: d\nfaults:\n  - action: { status: 503, reset: true }\n" },
      "both.yaml: faults[0].action: status 503 and reset contradict each other",
    );
  });

  it("refuses a file whose name is not its file name", () => {
    expectLoadError({ "flaky.yaml": "name: other\ndescription: d\n" }, 'flaky.yaml: name: "other" must equal the file\'s base name "flaky"');
  });

  it("refuses two files with the same name, and a scenarios folder that does not exist", () => {
    expectLoadError({ "twin.json": '{"name": "twin", "description": "d"}', "twin.yaml": "name: twin\ndescription: d\n" }, /twin\.yaml: name: "twin" is already the name of .*twin\.json/);
    const missing = join(scratchDir(), "nowhere");
    const start = () => createEmulator({ scenariosDir: missing, db: join(scratchDir(), "cdp.sqlite"), logLevel: "silent" });
    expect(start).toThrow(StartupError);
    expect(start).toThrow(`scenarios folder ${missing} cannot be read`);
  });

  it("accepts an empty folder, and JSON and .yml files beside YAML, ignoring other files", async () => {
    const empty = await fresh({ scenariosDir: scenarioFolder({}) });
    expect((await call<SuccessEnvelope<Listing>>(`${empty.url}/_emulator/scenarios`)).body.data).toEqual({ scenarios: [], active: null });

    const mixed = await fresh({
      scenariosDir: scenarioFolder({
        "one.json": '{"name": "one", "description": "First."}',
        "two.yml": "name: two\ndescription: Second.\n",
        "README.md": "not a scenario",
      }),
    });
    const listing = await call<SuccessEnvelope<Listing>>(`${mixed.url}/_emulator/scenarios`);
    expect(listing.body.data.scenarios.map(({ name, description }) => ({ name, description }))).toEqual([
      { name: "one", description: "First." },
      { name: "two", description: "Second." },
    ]);
  });

  it("applies --scenario by name or by a file outside the folder, and refuses an unknown one", async () => {
    const byName = await fresh({ scenario: "rate-limited" });
    expect((await call<SuccessEnvelope<Record<string, unknown>>>(`${byName.url}/_emulator/rate-limits`)).body.data["single"]).toEqual({ limit: 5, windowSeconds: 1 });
    expect((await call<SuccessEnvelope<Listing>>(`${byName.url}/_emulator/scenarios`)).body.data.active).toBe("rate-limited");

    const outside = join(scratchDir(), "my-own.yaml");
    writeFileSync(
      outside,
      "name: my-own\ndescription: Frozen at noon.\nclock: { set: '2026-04-21T12:00:00Z', freeze: true }\nseed:\n  records:\n    profiles: [{ email: own@example.com }]\n",
    );
    const byFile = await fresh({ scenario: outside });
    expect(byFile.emulator.clock.state()).toMatchObject({ now: "2026-04-21T12:00:00.000Z", frozen: true });
    const listing = await call<SuccessEnvelope<Listing>>(`${byFile.url}/_emulator/scenarios`);
    expect(listing.body.data.active).toBe("my-own");
    expect(listing.body.data.scenarios.map((scenario) => scenario.name)).toContain("my-own");
    expect(emails(await rows(byFile, "profiles"))).toEqual(["own@example.com"]);

    const unknown = load({}, { scenario: "nope" });
    expect(unknown).toThrow(StartupError);
    expect(unknown).toThrow(/scenario "nope" is neither a scenario in/);
  });

  it("refuses to start when --scenario's seed is invalid, naming the file and the record", () => {
    const dir = scenarioFolder({ "bad-seed.yaml": "name: bad-seed\ndescription: d\nseed:\n  records:\n    profiles: [{ email: not-an-email }]\n" });
    const db = join(scratchDir(), "cdp.sqlite");
    const start = () => createEmulator({ scenariosDir: dir, scenario: "bad-seed", db, logLevel: "silent" });
    expect(start).toThrow(StartupError);
    expect(start).toThrow(/bad-seed\.yaml: seed\.records\.profiles\[0\]\.email/);
    // The database was closed again: another emulator can open it.
    const after = createEmulator({ db, logLevel: "silent" });
    emulatorInternals(after).store.close();
  });
});

describe("the scenario control routes", () => {
  const seeded = [
    "name: seeded",
    "description: Two profiles, an order and an event in the seeded-ws workspace.",
    "seed:",
    "  workspace: seeded-ws",
    "  records:",
    "    profiles:",
    "      - { email: a@example.com, tier: gold }",
    "      - { email: b@example.com }",
    "    orders:",
    "      - { order_id: ord_1, total: 12.5, currency: EUR, placed_at: '2026-04-21T15:30:00Z' }",
    "    events:",
    "      - { event: signup, occurred_at: '2026-04-21T15:30:00Z' }",
  ].join("\n");

  const badSeed = [
    "name: bad-seed",
    "description: A valid profile, then an invalid one; faults, limits and clock that must not be applied.",
    "faults:",
    "  - action: { status: 503 }",
    "rateLimits:",
    "  single: { limit: 1, windowSeconds: 60 }",
    "clock: { set: '2030-01-01T00:00:00Z', freeze: true }",
    "seed:",
    "  workspace: bad-ws",
    "  records:",
    "    profiles:",
    "      - { email: fine@example.com }",
    "      - { email: not-an-email }",
  ].join("\n");

  const unknownField = "name: unknown-field\ndescription: d\nseed:\n  records:\n    profiles: [{ email: x@example.com, shoe_size: 42 }]\n";
  const unknownObject = "name: unknown-object\ndescription: d\nseed:\n  records:\n    widgets: [{ id: 1 }]\n";

  const customFolder = () =>
    scenarioFolder({
      "seeded.yaml": seeded,
      "bad-seed.yaml": badSeed,
      "unknown-field.yaml": unknownField,
      "unknown-object.yaml": unknownObject,
    });

  it("lists the scenarios with their descriptions and files, and which one is active", async () => {
    const env = await fresh();
    const before = await call<SuccessEnvelope<Listing>>(`${env.url}/_emulator/scenarios`);
    expect(before.status).toBe(200);
    expect(before.body.success).toBe(true);
    expect(before.body.data.active).toBeNull();
    expect(before.body.data.scenarios.map((scenario) => scenario.name)).toEqual(shipped);
    for (const scenario of before.body.data.scenarios) {
      expect(scenario.description.length).toBeGreaterThan(20);
      expect(scenario.file).toMatch(new RegExp(`${scenario.name}\\.(ya?ml|json)$`));
    }

    await applyOk(env, "write-races");
    const after = await call<SuccessEnvelope<Listing>>(`${env.url}/_emulator/scenarios`);
    expect(after.body.data.active).toBe("write-races");
  });

  it("answers 404 in the envelope for an unknown scenario", async () => {
    const env = await fresh();
    const response = await apply(env, "nope");
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ success: false, error: { code: "CDP_ETL.NOT_FOUND", details: { path: "name", value: "nope" } } });
    expect(response.body.error.message).toContain("write-races");
  });

  it("replaces an earlier scenario's fault rules and keeps rules added through the API", async () => {
    const env = await fresh();
    const added = await call<SuccessEnvelope<{ id: string }>>(`${env.url}/_emulator/faults`, { body: { match: { object: "orders" }, action: { status: 500 } } });
    expect(added.status).toBe(201);

    const maintenance = await applyOk(env, "maintenance-window");
    const races = await applyOk(env, "write-races");
    const rules = await faultRules(env);
    expect(rules.map((rule) => rule.source)).toEqual(["api", "scenario:write-races"]);
    expect(rules.map((rule) => rule.id)).toEqual([added.body.data.id, ...races.faults]);
    expect(rules.map((rule) => rule.id)).not.toContain(maintenance.faults[0]);

    await applyOk(env, "happy-path");
    expect((await faultRules(env)).map((rule) => rule.source)).toEqual(["api"]);
  });

  it("seeds records into a new workspace, and applying twice does not duplicate keyed records", async () => {
    const env = await fresh({ scenariosDir: customFolder() });
    const first = await applyOk(env, "seeded");
    expect(first.seeded).toEqual({ profiles: 2, orders: 1, events: 1 });
    const workspaces = await call<SuccessEnvelope<{ workspaces: string[] }>>(`${env.url}/_emulator/workspaces`);
    expect(workspaces.body.data.workspaces).toContain("seeded-ws");

    const profileIds = (await rows(env, "profiles", "seeded-ws")).map((row) => row.rowId);
    await applyOk(env, "seeded");
    const profiles = await rows(env, "profiles", "seeded-ws");
    expect(profiles.map((row) => row.rowId)).toEqual(profileIds);
    expect(profiles.map((row) => row.fields)).toEqual([{ email: "a@example.com", tier: "gold" }, { email: "b@example.com" }]);
    expect(await rows(env, "orders", "seeded-ws")).toHaveLength(1);
    // An event without event_id (the primary key) is appended, as the API would append it.
    expect(await rows(env, "events", "seeded-ws")).toHaveLength(2);
    // The default workspace is untouched.
    expect(await rows(env, "profiles")).toHaveLength(0);
  });

  it("refuses a scenario with an invalid seed record with 400 naming it, and changes nothing", async () => {
    const env = await fresh({ scenariosDir: customFolder() });
    await applyOk(env, "seeded");
    const limitsBefore = (await call<SuccessEnvelope<unknown>>(`${env.url}/_emulator/rate-limits`)).body.data;

    const response = await apply(env, "bad-seed");
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("CDP_ETL.VALIDATION.REQUEST_INVALID");
    expect(response.body.error.message).toMatch(/^seed\.records\.profiles\[1\]\.email: /);
    expect(response.body.error.details).toMatchObject({ path: "seed.records.profiles[1].email", value: "not-an-email", scenario: "bad-seed" });

    // Nothing changed: no workspace (so not its valid first record), no rules, same limits and clock.
    const workspaces = await call<SuccessEnvelope<{ workspaces: string[] }>>(`${env.url}/_emulator/workspaces`);
    expect(workspaces.body.data.workspaces).not.toContain("bad-ws");
    expect(await faultRules(env)).toEqual([]);
    expect((await call<SuccessEnvelope<unknown>>(`${env.url}/_emulator/rate-limits`)).body.data).toEqual(limitsBefore);
    expect(env.emulator.clock.state().frozen).toBe(false);
    expect(new Date(env.emulator.clock.now()).getUTCFullYear()).toBeLessThan(2030);
    expect((await call<SuccessEnvelope<Listing>>(`${env.url}/_emulator/scenarios`)).body.data.active).toBe("seeded");
  });

  it("answers 400 (not 422) for a seed record with an unknown field, and for an unknown object", async () => {
    const env = await fresh({ scenariosDir: customFolder() });
    const field = await apply(env, "unknown-field");
    expect(field.status).toBe(400);
    expect(field.body.error.details["path"]).toBe("seed.records.profiles[0].shoe_size");

    const object = await apply(env, "unknown-object");
    expect(object.status).toBe(400);
    expect(object.body.error.details["path"]).toBe("seed.records.widgets");
    expect(await rows(env, "profiles")).toHaveLength(0);
  });

  it("applies a scenario from code with emulator.applyScenario", async () => {
    const env = await fresh();
    const applied = env.emulator.applyScenario("maintenance-window");
    expect(applied).toMatchObject({ applied: "maintenance-window", seeded: {} });
    expect((await upsertProfile(env, "code@example.com")).status).toBe(503);
    expect(() => env.emulator.applyScenario("nope")).toThrow(/No scenario "nope"/);
  });
});

describe("--scenario on the real command line", () => {
  const { dir } = cliPerTest("cdp-emulator-scenarios-");
  const args = (...extra: string[]): string[] => ["start", "--port", "0", "--db", join(scratchDir(), "cdp.sqlite"), "--log-level", "silent", ...extra];

  it("starts with the named scenario active", async () => {
    const { url } = await startCli(args("--scenario", "rate-limited"), { cwd: dir() });
    const listing = await call<SuccessEnvelope<Listing>>(`${url}/_emulator/scenarios`);
    expect(listing.body.data.active).toBe("rate-limited");
    const limits = await call<SuccessEnvelope<Applied["rateLimits"]>>(`${url}/_emulator/rate-limits`);
    expect(limits.body.data.single).toEqual({ limit: 5, windowSeconds: 1 });
  });

  it("exits non-zero naming an unknown scenario, without a stack trace", async () => {
    const { code, stderr } = await runCli(args("--scenario", "nope"), { cwd: dir() });
    expect(code).toBe(2);
    expect(stderr).toContain('scenario "nope"');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
