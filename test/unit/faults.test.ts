import { describe, expect, it } from "vitest";
import {
  FaultRules,
  faultDelayMs,
  faultError,
  parseFaultHeader,
  parseFaultPatch,
  type AppliedFault,
  type FaultStatus,
  type RequestFacts,
} from "../../src/chaos/faults.js";
import { seededRandom } from "../../src/chaos/seeded-random.js";
import { ApiError } from "../../src/domain/errors.js";
import { thrown } from "../helpers/thrown.js";

function facts(overrides: Partial<Omit<RequestFacts, "header">> & { headers?: Record<string, string> } = {}): RequestFacts {
  const { headers = {}, ...rest } = overrides;
  // Like Node: header names arrive lower-cased.
  const lowered = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return {
    operation: "upsert",
    object: "profiles",
    method: "POST",
    path: "/public/v1/records/profiles/upsert",
    workspace: "ws_1",
    idempotencyKey: null,
    header: (name) => lowered.get(name),
    ...rest,
  };
}

/** Fires `count` identical requests and returns the 1-based indexes that got a fault. */
function firePattern(rules: FaultRules, count: number, request: RequestFacts = facts()): number[] {
  const fired: number[] = [];
  for (let n = 1; n <= count; n += 1) {
    if (rules.pick(request)) fired.push(n);
  }
  return fired;
}

function addOne(input: unknown): FaultRules {
  const rules = new FaultRules();
  rules.add(input);
  return rules;
}

describe("FaultRules matching", () => {
  it.each([
    { name: "an empty match fits every request", match: {}, request: facts(), fits: true },
    { name: "operation fits the same operation", match: { operation: "upsert" }, request: facts(), fits: true },
    { name: "operation does not fit another operation", match: { operation: "append" }, request: facts(), fits: false },
    {
      name: "operation does not fit a request with no operation",
      match: { operation: "upsert" },
      request: facts({ operation: null }),
      fits: false,
    },
    { name: "object fits the same object", match: { object: "profiles" }, request: facts(), fits: true },
    { name: "object does not fit another object", match: { object: "orders" }, request: facts(), fits: false },
    { name: "object does not fit a request with no object", match: { object: "profiles" }, request: facts({ object: null }), fits: false },
    { name: "method is case-insensitive", match: { method: "post" }, request: facts({ method: "POST" }), fits: true },
    { name: "method does not fit another method", match: { method: "GET" }, request: facts(), fits: false },
    { name: "workspace fits the same workspace", match: { workspace: "ws_1" }, request: facts(), fits: true },
    { name: "workspace does not fit another workspace", match: { workspace: "ws_2" }, request: facts(), fits: false },
    {
      name: "idempotencyKey fits the same key",
      match: { idempotencyKey: "k-1" },
      request: facts({ idempotencyKey: "k-1" }),
      fits: true,
    },
    { name: "idempotencyKey does not fit a request without one", match: { idempotencyKey: "k-1" }, request: facts(), fits: false },
    {
      name: "header names are case-insensitive",
      match: { header: { "X-Test-Case": "retry" } },
      request: facts({ headers: { "x-test-case": "retry" } }),
      fits: true,
    },
    {
      name: "header values are exact",
      match: { header: { "X-Test-Case": "retry" } },
      request: facts({ headers: { "x-test-case": "Retry" } }),
      fits: false,
    },
    { name: "a header the request lacks does not fit", match: { header: { "X-Test-Case": "retry" } }, request: facts(), fits: false },
    {
      name: "every header listed must fit",
      match: { header: { "X-A": "1", "X-B": "2" } },
      request: facts({ headers: { "x-a": "1" } }),
      fits: false,
    },
    {
      name: "all match fields must fit together",
      match: { operation: "upsert", object: "orders" },
      request: facts(),
      fits: false,
    },
  ])("$name", ({ match, request, fits }) => {
    const rules = addOne({ match, action: { status: 503 } });
    expect(rules.pick(request) !== null).toBe(fits);
  });

  it.each([
    { glob: "/public/v1/records/profiles/upsert", path: "/public/v1/records/profiles/upsert", fits: true },
    { glob: "/public/v1/records/*/upsert", path: "/public/v1/records/orders/upsert", fits: true },
    { glob: "/public/v1/records/*/upsert", path: "/public/v1/records/a/b/upsert", fits: false },
    { glob: "/public/v1/records/*", path: "/public/v1/records/orders/upsert", fits: false },
    { glob: "/public/v1/records/**", path: "/public/v1/records/orders/jobs/rjob_1/errors", fits: true },
    { glob: "**/append-batch", path: "/public/v1/records/events/append-batch", fits: true },
    { glob: "/public/v1/records/*/upsert*", path: "/public/v1/records/orders/upsert-batch", fits: true },
    { glob: "/public/v1/records/*/append-batc?", path: "/public/v1/records/orders/append-batch", fits: true },
    { glob: "/public/v1/records/?/append", path: "/public/v1/records/ab/append", fits: false },
    { glob: "/public/v1/records/orders?append", path: "/public/v1/records/orders/append", fits: false },
    { glob: "/public/v1/metadata/objects", path: "/public/v1/metadata/objects/profiles", fits: false },
    { glob: "/public/v1/metadata/objects", path: "/public/v1/metadata/objects?limit=5", fits: true },
    { glob: "/public/v1/records/(x)+/append", path: "/public/v1/records/(x)+/append", fits: true },
    { glob: "/public/v1/records/(x)+/append", path: "/public/v1/records/xx/append", fits: false },
    { glob: "/public/v1/records/profiles.upsert", path: "/public/v1/records/profilesXupsert", fits: false },
  ])("path glob $glob against $path fits: $fits", ({ glob, path, fits }) => {
    const rules = addOne({ match: { path: glob }, action: { status: 500 } });
    expect(rules.pick(facts({ path })) !== null).toBe(fits);
  });
});

describe("FaultRules.pick order", () => {
  it("the first matching rule wins", () => {
    const rules = new FaultRules();
    rules.add({ match: { object: "orders" }, action: { status: 502 } });
    const first = rules.add({ match: { object: "profiles" }, action: { status: 503 } });
    rules.add({ action: { status: 500 } });
    const applied = rules.pick(facts());
    expect(applied?.ruleId).toBe(first.id);
    expect(applied?.action).toEqual({ status: 503 });
  });

  it("falls through to the next rule when a matching rule's schedule does not fire, and counts the match", () => {
    const rules = new FaultRules();
    const skipped = rules.add({ action: { status: 503 }, schedule: { after: 1 } });
    const fallback = rules.add({ action: { status: 500 } });
    expect(rules.pick(facts())?.ruleId).toBe(fallback.id);
    expect(rules.pick(facts())?.ruleId).toBe(skipped.id);
    expect(rules.get(skipped.id)).toMatchObject({ matched: 2, hits: 1 });
    expect(rules.get(fallback.id)).toMatchObject({ matched: 1, hits: 1 });
  });

  it("rules after the one that fires do not see the request", () => {
    const rules = new FaultRules();
    rules.add({ action: { status: 503 } });
    const later = rules.add({ action: { status: 500 } });
    rules.pick(facts());
    expect(rules.get(later.id)).toMatchObject({ matched: 0, hits: 0 });
  });

  it("returns null when nothing fires, and a non-matching rule is not counted", () => {
    const rules = new FaultRules();
    const rule = rules.add({ match: { object: "orders" }, action: { status: 503 } });
    expect(rules.pick(facts())).toBeNull();
    expect(rules.get(rule.id)).toMatchObject({ matched: 0, hits: 0 });
  });
});

describe("FaultRules schedules", () => {
  it.each([
    { name: "no schedule fires on every match", schedule: {}, fired: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    { name: "times fires on the first N matches only", schedule: { times: 2 }, fired: [1, 2] },
    { name: "after skips the first N matches", schedule: { after: 7 }, fired: [8, 9, 10] },
    { name: "after 0 skips nothing", schedule: { after: 0 }, fired: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    { name: "every fires on every Nth match", schedule: { every: 3 }, fired: [3, 6, 9] },
    { name: "every 1 fires every time", schedule: { every: 1 }, fired: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    { name: "after then times fires N times once past the skip", schedule: { after: 3, times: 2 }, fired: [4, 5] },
    { name: "every counts matches after `after`", schedule: { after: 2, every: 3 }, fired: [5, 8] },
    { name: "every with times stops after N fires", schedule: { every: 2, times: 2 }, fired: [2, 4] },
    { name: "after, every and times combine", schedule: { after: 1, every: 2, times: 3 }, fired: [3, 5, 7] },
    { name: "probability 1 always fires", schedule: { probability: 1 }, fired: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    { name: "probability 0 never fires", schedule: { probability: 0 }, fired: [] },
    { name: "times caps a probability 1 rule", schedule: { probability: 1, times: 3 }, fired: [1, 2, 3] },
  ])("$name", ({ schedule, fired }) => {
    const rules = addOne({ action: { status: 503 }, schedule });
    expect(firePattern(rules, 10)).toEqual(fired);
  });

  it("counts every match but only the fires as hits", () => {
    const rules = new FaultRules();
    const rule = rules.add({ action: { status: 503 }, schedule: { every: 2 } });
    firePattern(rules, 5);
    expect(rules.get(rule.id)).toMatchObject({ matched: 5, hits: 2 });
  });

  it("a probability with a seed gives the same fire pattern for the same rule and requests", () => {
    const input = { action: { status: 503 }, schedule: { probability: 0.3, seed: 42 } };
    const first = firePattern(addOne(input), 200);
    const second = firePattern(addOne(input), 200);
    expect(first).toEqual(second);
    expect(first.length).toBeGreaterThan(0);
  });

  it("different seeds give different fire patterns", () => {
    const one = firePattern(addOne({ action: { status: 503 }, schedule: { probability: 0.5, seed: 1 } }), 200);
    const two = firePattern(addOne({ action: { status: 503 }, schedule: { probability: 0.5, seed: 2 } }), 200);
    expect(one).not.toEqual(two);
  });

  it("the seed defaults to 1", () => {
    const implicit = firePattern(addOne({ action: { status: 503 }, schedule: { probability: 0.5 } }), 200);
    const explicit = firePattern(addOne({ action: { status: 503 }, schedule: { probability: 0.5, seed: 1 } }), 200);
    expect(implicit).toEqual(explicit);
  });

  it("a probability rule's sequence does not move on requests it does not match", () => {
    const input = { match: { object: "profiles" }, action: { status: 503 }, schedule: { probability: 0.5, seed: 7 } };
    const plain = addOne(input);
    const interleaved = addOne(input);
    const fired: boolean[] = [];
    const firedInterleaved: boolean[] = [];
    for (let n = 0; n < 100; n += 1) {
      fired.push(plain.pick(facts()) !== null);
      interleaved.pick(facts({ object: "orders" }));
      firedInterleaved.push(interleaved.pick(facts()) !== null);
    }
    expect(firedInterleaved).toEqual(fired);
  });

  it.each([0.1, 0.25, 0.5, 0.9])("probability %s fires roughly that share of 10,000 picks", (probability) => {
    const rules = addOne({ action: { status: 503 }, schedule: { probability, seed: 12345 } });
    const share = firePattern(rules, 10_000).length / 10_000;
    expect(Math.abs(share - probability)).toBeLessThan(0.02);
  });
});

describe("FaultRules bookkeeping", () => {
  it("gives ids flt_1, flt_2, … and records the source", () => {
    const rules = new FaultRules();
    expect(rules.add({ action: { status: 503 } })).toMatchObject({ id: "flt_1", source: "api", matched: 0, hits: 0 });
    expect(rules.add({ action: { reset: true } }, "scenario:flaky")).toMatchObject({ id: "flt_2", source: "scenario:flaky" });
  });

  it("fills an absent match and schedule with empty objects", () => {
    const rule = new FaultRules().add({ action: { status: 503 } });
    expect(rule).toEqual({ id: "flt_1", enabled: true, match: {}, action: { status: 503 }, schedule: {}, matched: 0, hits: 0, source: "api" });
  });

  it("lists rules in insertion order, gets and removes them by id", () => {
    const rules = new FaultRules();
    const a = rules.add({ action: { status: 503 } });
    const b = rules.add({ action: { status: 500 } });
    expect(rules.list().map((rule) => rule.id)).toEqual([a.id, b.id]);
    expect(rules.get(b.id)?.action).toEqual({ status: 500 });
    expect(rules.remove(a.id)).toBe(true);
    expect(rules.remove(a.id)).toBe(false);
    expect(rules.get(a.id)).toBeUndefined();
    expect(rules.list().map((rule) => rule.id)).toEqual([b.id]);
  });

  it("clears all rules, or only those a predicate picks, and says how many went", () => {
    const rules = new FaultRules();
    rules.add({ action: { status: 503 } }, "scenario:one");
    rules.add({ action: { status: 500 } });
    rules.add({ action: { status: 502 } }, "scenario:one");
    expect(rules.clear((rule) => rule.source === "scenario:one")).toBe(2);
    expect(rules.list().map((rule) => rule.source)).toEqual(["api"]);
    expect(rules.clear()).toBe(1);
    expect(rules.list()).toEqual([]);
  });

  it("does not reuse an id after a clear", () => {
    const rules = new FaultRules();
    rules.add({ action: { status: 503 } });
    rules.clear();
    expect(rules.add({ action: { status: 503 } }).id).toBe("flt_2");
  });

  it("hands out copies, so changing a returned rule or the input changes nothing inside", () => {
    const rules = new FaultRules();
    const input = { action: { status: 503 } };
    const rule = rules.add(input);
    input.action.status = 500;
    rule.action.status = 429;
    rules.list()[0]!.hits = 99;
    expect(rules.get(rule.id)).toMatchObject({ action: { status: 503 }, hits: 0 });
  });
});

describe("switching a rule off and on", () => {
  it("a disabled rule never fires and its counters stand still; enabled again, it fires as before", () => {
    const rules = addOne({ action: { status: 503 } });
    expect(rules.setEnabled("flt_1", false)).toMatchObject({ id: "flt_1", enabled: false });
    expect(firePattern(rules, 5)).toEqual([]);
    expect(rules.get("flt_1")).toMatchObject({ enabled: false, matched: 0, hits: 0 });
    expect(rules.setEnabled("flt_1", true)).toMatchObject({ enabled: true });
    expect(firePattern(rules, 2)).toEqual([1, 2]);
    expect(rules.get("flt_1")).toMatchObject({ matched: 2, hits: 2 });
  });

  it("resumes a schedule where it stood: times, every and the seeded RNG do not move while it is off", () => {
    const steady = addOne({ action: { status: 503 }, schedule: { every: 3, probability: 0.5, seed: 7 } });
    const paused = addOne({ action: { status: 503 }, schedule: { every: 3, probability: 0.5, seed: 7 } });
    const first = firePattern(steady, 30);
    expect(firePattern(paused, 15)).toEqual(first.filter((n) => n <= 15));
    paused.setEnabled("flt_1", false);
    expect(firePattern(paused, 40)).toEqual([]);
    paused.setEnabled("flt_1", true);
    expect(firePattern(paused, 15).map((n) => n + 15)).toEqual(first.filter((n) => n > 15));
  });

  it("passes a request on to the next rule while the first one is off", () => {
    const rules = new FaultRules();
    rules.add({ action: { status: 503 } });
    rules.add({ action: { status: 502 } });
    rules.setEnabled("flt_1", false);
    expect(rules.pick(facts())?.action.status).toBe(502);
    expect(rules.list().map((rule) => [rule.id, rule.matched])).toEqual([
      ["flt_1", 0],
      ["flt_2", 1],
    ]);
  });

  it("can add a rule switched off", () => {
    const rules = addOne({ action: { status: 503 }, enabled: false });
    expect(rules.list()[0]).toMatchObject({ enabled: false });
    expect(rules.pick(facts())).toBeNull();
  });

  it("says there is no such rule rather than inventing one", () => {
    expect(new FaultRules().setEnabled("flt_9", false)).toBeUndefined();
  });

  it.each([
    { body: { enabled: false }, enabled: false },
    { body: { enabled: true }, enabled: true },
  ])("reads the patch body $body", ({ body, enabled }) => {
    expect(parseFaultPatch(body)).toEqual({ enabled });
  });

  it.each([
    { body: {}, message: "enabled: is required" },
    { body: { enabled: "no" }, message: "enabled: must be a boolean" },
    { body: { enabled: false, hits: 0 }, message: "hits: is not a known field; use enabled" },
    { body: [], message: "(top level): must be an object" },
    { body: null, message: "(top level): must be an object" },
  ])("refuses the patch body $body, naming the field", ({ body, message }) => {
    const error = thrown(() => parseFaultPatch(body));
    expect(error.kind).toBe("REQUEST_INVALID");
    expect(error.message).toBe(message);
  });
});

describe("FaultRules.add validation", () => {
  it.each([
    { input: null, path: "(top level)", message: "(top level): must be an object" },
    { input: [], path: "(top level)", message: "(top level): must be an object" },
    { input: {}, path: "action", message: "action: is required" },
    { input: { action: { status: 503 }, extra: 1 }, path: "extra", message: "extra: is not a known field" },
    { input: { action: "503" }, path: "action", message: "action: must be an object" },
    { input: { action: {} }, path: "action", message: "action: does nothing" },
    { input: { action: { status: 418 } }, path: "action.status", message: "action.status: must be one of 409, 429, 500, 502, 503, 504" },
    { input: { action: { status: "503" } }, path: "action.status", message: "action.status: must be an integer" },
    { input: { action: { status: 503, colour: "red" } }, path: "action.colour", message: "action.colour: is not a known field" },
    { input: { action: { status: 503, reset: true } }, path: "action", message: "action: status 503 and reset contradict" },
    { input: { action: { status: 503, malformed: true } }, path: "action", message: "contradict" },
    { input: { action: { status: 504, timeout: { holdMs: 10, then: 504 } } }, path: "action", message: "contradict" },
    { input: { action: { reset: true, malformed: true } }, path: "action", message: "contradict" },
    { input: { action: { delayMs: 10, afterCommit: true } }, path: "action.afterCommit", message: "action.afterCommit: needs status, reset or malformed" },
    { input: { action: { timeout: { holdMs: 10, then: "drop" }, afterCommit: true } }, path: "action.afterCommit", message: "needs status" },
    { input: { action: { status: 500, retryAfter: 2 } }, path: "action.retryAfter", message: "action.retryAfter: only goes with status 429 or 503" },
    { input: { action: { delayMs: 10, retryAfter: 2 } }, path: "action.retryAfter", message: "only goes with status 429 or 503" },
    { input: { action: { status: 429, retryAfter: -1 } }, path: "action.retryAfter", message: "action.retryAfter: must be at least 0" },
    { input: { action: { status: 503, jitterMs: 50 } }, path: "action.jitterMs", message: "action.jitterMs: needs delayMs" },
    { input: { action: { delayMs: -5 } }, path: "action.delayMs", message: "action.delayMs: must be at least 0" },
    { input: { action: { delayMs: 1.5 } }, path: "action.delayMs", message: "action.delayMs: must be an integer" },
    { input: { action: { delayMs: 600_001 } }, path: "action.delayMs", message: "action.delayMs: must be at most 600000" },
    { input: { action: { reset: "yes" } }, path: "action.reset", message: "action.reset: must be a boolean" },
    { input: { action: { reset: false } }, path: "action", message: "action: does nothing" },
    { input: { action: { timeout: { holdMs: 10 } } }, path: "action.timeout.then", message: "action.timeout.then: is required" },
    { input: { action: { timeout: { holdMs: 10, then: 503 } } }, path: "action.timeout.then", message: "action.timeout.then: must be one of 504, drop" },
    { input: { action: { status: 503 }, match: { operation: "delete" } }, path: "match.operation", message: "match.operation: must be one of append, upsert" },
    { input: { action: { status: 503 }, match: { verb: "POST" } }, path: "match.verb", message: "match.verb: is not a known field" },
    { input: { action: { status: 503 }, match: { method: "PO ST" } }, path: "match.method", message: "match.method: must be an HTTP method name" },
    { input: { action: { status: 503 }, match: { object: "" } }, path: "match.object", message: "match.object: must not be empty" },
    { input: { action: { status: 503 }, match: { path: "records/*" } }, path: "match.path", message: "match.path: must start with / or *" },
    { input: { action: { status: 503 }, match: { header: { "X-A": 1 } } }, path: "match.header.X-A", message: "match.header.X-A: must be a string" },
    { input: { action: { status: 503 }, match: { header: { "X A": "1" } } }, path: "match.header.X A", message: "is not a valid header name" },
    { input: { action: { status: 503 }, schedule: { times: 0 } }, path: "schedule.times", message: "schedule.times: must be at least 1" },
    { input: { action: { status: 503 }, schedule: { times: 1.5 } }, path: "schedule.times", message: "schedule.times: must be an integer" },
    { input: { action: { status: 503 }, schedule: { after: -1 } }, path: "schedule.after", message: "schedule.after: must be at least 0" },
    { input: { action: { status: 503 }, schedule: { every: 0 } }, path: "schedule.every", message: "schedule.every: must be at least 1" },
    { input: { action: { status: 503 }, schedule: { probability: 1.5 } }, path: "schedule.probability", message: "schedule.probability: must be at most 1" },
    { input: { action: { status: 503 }, schedule: { probability: -0.1 } }, path: "schedule.probability", message: "must be at least 0" },
    { input: { action: { status: 503 }, schedule: { seed: "abc" } }, path: "schedule.seed", message: "schedule.seed: must be an integer" },
    { input: { action: { status: 503 }, schedule: { first: 3 } }, path: "schedule.first", message: "schedule.first: is not a known field" },
  ])("refuses $message", ({ input, path, message }) => {
    const rules = new FaultRules();
    const error = thrown(() => rules.add(input));
    expect(error.kind).toBe("REQUEST_INVALID");
    expect(error.status).toBe(400);
    expect(error.message).toContain(message);
    expect(error.message.startsWith(`${path}: `)).toBe(true);
    expect(error.details.path).toBe(path);
    expect(rules.list()).toEqual([]);
  });

  it("names the allowed fields when one is unknown", () => {
    const error = thrown(() => new FaultRules().add({ action: { status: 503 }, schedule: { first: 3 } }));
    expect(error.message).toBe("schedule.first: is not a known field; use times, after, every, probability, seed, until, forSeconds");
    expect(error.details.value).toBe(3);
  });

  it("carries the offending value", () => {
    const error = thrown(() => new FaultRules().add({ action: { status: 418 } }));
    expect(error.details).toEqual({ path: "action.status", value: 418 });
  });

  it.each([
    { name: "a delay alone", action: { delayMs: 0 } },
    { name: "a delay with jitter before a status", action: { delayMs: 100, jitterMs: 50, status: 503 } },
    { name: "429 with a fractional Retry-After", action: { status: 429, retryAfter: 2.5 } },
    { name: "503 with Retry-After", action: { status: 503, retryAfter: 2 } },
    { name: "a timeout that drops", action: { timeout: { holdMs: 1000, then: "drop" } } },
    { name: "reset after commit", action: { reset: true, afterCommit: true } },
    { name: "malformed after commit", action: { malformed: true, afterCommit: true } },
    { name: "500 after commit", action: { status: 500, afterCommit: true } },
    { name: "afterCommit false with a delay", action: { delayMs: 5, afterCommit: false } },
  ])("accepts $name", ({ action }) => {
    expect(new FaultRules().add({ action }).action).toEqual(action);
  });
});

describe("labels", () => {
  it.each([
    { action: { status: 503 }, label: "503;rule=flt_1" },
    { action: { status: 429, retryAfter: 2.5 }, label: "429;retry-after=2.5;rule=flt_1" },
    { action: { reset: true }, label: "reset;rule=flt_1" },
    { action: { status: 500, afterCommit: true }, label: "500;after-commit;rule=flt_1" },
    { action: { timeout: { holdMs: 1000, then: "drop" } }, label: "timeout;hold=1000;then=drop;rule=flt_1" },
    { action: { timeout: { holdMs: 1500, then: 504 } }, label: "timeout;hold=1500;then=504;rule=flt_1" },
    { action: { delayMs: 200 }, label: "delay=200;rule=flt_1" },
    { action: { delayMs: 200, jitterMs: 50, status: 503 }, label: "delay=200;jitter=50;503;rule=flt_1" },
    { action: { malformed: true }, label: "malformed;rule=flt_1" },
    { action: { malformed: true, afterCommit: true }, label: "malformed;after-commit;rule=flt_1" },
  ])("a rule with $action is labelled $label", ({ action, label }) => {
    expect(addOne({ action }).pick(facts())?.label).toBe(label);
  });
});

describe("parseFaultHeader", () => {
  it.each([
    { value: "503", action: { status: 503 }, label: "503" },
    { value: "429;retry-after=2.5", action: { status: 429, retryAfter: 2.5 }, label: "429;retry-after=2.5" },
    { value: "429", action: { status: 429 }, label: "429" },
    { value: "503;retry-after=2", action: { status: 503, retryAfter: 2 }, label: "503;retry-after=2" },
    { value: "reset", action: { reset: true }, label: "reset" },
    { value: "500;after-commit", action: { status: 500, afterCommit: true }, label: "500;after-commit" },
    { value: "reset;after-commit", action: { reset: true, afterCommit: true }, label: "reset;after-commit" },
    { value: "malformed", action: { malformed: true }, label: "malformed" },
    {
      value: "timeout;hold=1500;then=504",
      action: { timeout: { holdMs: 1500, then: 504 } },
      label: "timeout;hold=1500;then=504",
    },
    {
      value: "timeout;hold=1500;then=drop",
      action: { timeout: { holdMs: 1500, then: "drop" } },
      label: "timeout;hold=1500;then=drop",
    },
    { value: "delay=200", action: { delayMs: 200 }, label: "delay=200" },
    {
      value: "delay=200;jitter=50;503",
      action: { delayMs: 200, jitterMs: 50, status: 503 },
      label: "delay=200;jitter=50;503",
    },
    { value: " 429 ; Retry-After = 2.5 ", action: { status: 429, retryAfter: 2.5 }, label: "429;retry-after=2.5" },
    { value: "RESET", action: { reset: true }, label: "reset" },
    { value: "Timeout; THEN=Drop; Hold=10", action: { timeout: { holdMs: 10, then: "drop" } }, label: "timeout;hold=10;then=drop" },
    { value: "after-commit;409", action: { status: 409, afterCommit: true }, label: "409;after-commit" },
    { value: "502;", action: { status: 502 }, label: "502" },
  ])("reads $value", ({ value, action, label }) => {
    expect(parseFaultHeader(value)).toEqual({ ruleId: null, action, label });
  });

  it.each([
    "",
    "   ",
    ";",
    "418",
    "200",
    "5o3",
    "unavailable",
    "503;503",
    "503;429",
    "503;reset",
    "reset;malformed",
    "timeout",
    "timeout;hold=10",
    "timeout;then=504",
    "timeout;hold=10;then=503",
    "hold=10;then=504",
    "timeout;hold=10;then=504;500",
    "500;retry-after=2",
    "429;retry-after=-1",
    "429;retry-after=abc",
    "429;retry-after=",
    "429;retry-after=1;retry-after=2",
    "jitter=50;503",
    "delay=-1",
    "delay=1.5",
    "delay=600001",
    "delay",
    "after-commit",
    "delay=10;after-commit",
    "reset=true",
    "status=503",
    "503;foo=bar",
  ])("refuses %j", (value) => {
    const error = thrown(() => parseFaultHeader(value));
    expect(error.kind).toBe("REQUEST_INVALID");
    expect(error.message).toBe(
      `X-Emulator-Fault: "${value}" is not a fault; use e.g. 503, 429;retry-after=2.5, reset, 500;after-commit`,
    );
    expect(error.details).toEqual({ path: "X-Emulator-Fault", value });
  });
});

describe("faultError", () => {
  const fromRule = (action: AppliedFault["action"] = {}): AppliedFault => ({ ruleId: "flt_3", action, label: "" });

  it.each([
    { status: 409, kind: "WRITE_RACE", code: "CDP_ETL.CONFLICT.WRITE_RACE" },
    { status: 429, kind: "RATE_LIMITED", code: "CDP_ETL.RATE_LIMIT.EXCEEDED" },
    { status: 500, kind: "INTERNAL", code: "CDP_ETL.INTERNAL.UNHANDLED_EXCEPTION" },
    { status: 502, kind: "UPSTREAM_UNAVAILABLE", code: "CDP_ETL.UPSTREAM.UNAVAILABLE" },
    { status: 503, kind: "SERVICE_UNAVAILABLE", code: "CDP_ETL.SERVICE.UNAVAILABLE" },
    { status: 504, kind: "UPSTREAM_TIMEOUT", code: "CDP_ETL.UPSTREAM.TIMEOUT" },
  ] as const)("$status answers $code", ({ status, kind, code }) => {
    const error = faultError(fromRule({ status }), status);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status, kind, code });
    expect(error.message).toMatch(/^Injected fault: .+ \(emulator fault rule flt_3\)$/);
  });

  it("words a 503 from a rule as the brief shows", () => {
    expect(faultError(fromRule({ status: 503 }), 503).message).toBe(
      "Injected fault: service unavailable (emulator fault rule flt_3)",
    );
  });

  it("says when the fault came from the request header", () => {
    expect(faultError(parseFaultHeader("502"), 502).message).toBe("Injected fault: upstream unavailable (X-Emulator-Fault header)");
  });

  it.each([
    { name: "429 without retryAfter says Retry-After: 1 and no quota left", action: { status: 429 }, status: 429, headers: { "Retry-After": "1", "X-RateLimit-Remaining": "0" } },
    { name: "429 with a fractional retryAfter keeps it", action: { status: 429, retryAfter: 2.5 }, status: 429, headers: { "Retry-After": "2.5", "X-RateLimit-Remaining": "0" } },
    { name: "429 with a whole retryAfter has no decimals", action: { status: 429, retryAfter: 2 }, status: 429, headers: { "Retry-After": "2", "X-RateLimit-Remaining": "0" } },
    { name: "503 without retryAfter has no Retry-After", action: { status: 503 }, status: 503, headers: {} },
    { name: "503 with retryAfter carries it", action: { status: 503, retryAfter: 0.5 }, status: 503, headers: { "Retry-After": "0.5" } },
    { name: "500 has no Retry-After", action: { status: 500 }, status: 500, headers: {} },
    { name: "a timeout that ends in 504 has no Retry-After", action: { timeout: { holdMs: 1, then: 504 } }, status: 504, headers: {} },
  ] as const)("$name", ({ action, status, headers }) => {
    expect(faultError(fromRule(action), status as FaultStatus).headers).toEqual(headers);
  });
});

describe("faultDelayMs", () => {
  it.each([
    { name: "no delay is zero", action: {}, random: 0.5, delay: 0 },
    { name: "a delay without jitter is the delay", action: { delayMs: 200 }, random: 0.99, delay: 200 },
    { name: "jitter adds nothing at the bottom of the range", action: { delayMs: 200, jitterMs: 50 }, random: 0, delay: 200 },
    { name: "jitter adds its share of the range", action: { delayMs: 200, jitterMs: 50 }, random: 0.5, delay: 225 },
    { name: "jitter stays below jitterMs", action: { delayMs: 200, jitterMs: 50 }, random: 0.999999, delay: 249 },
  ])("$name", ({ action, random, delay }) => {
    expect(faultDelayMs(action, () => random)).toBe(delay);
  });

  it("spreads uniformly over [delayMs, delayMs + jitterMs)", () => {
    const random = seededRandom(9);
    const delays = Array.from({ length: 5_000 }, () => faultDelayMs({ delayMs: 100, jitterMs: 10 }, random));
    expect(Math.min(...delays)).toBe(100);
    expect(Math.max(...delays)).toBe(109);
    const mean = delays.reduce((sum, value) => sum + value, 0) / delays.length;
    expect(mean).toBeGreaterThan(104);
    expect(mean).toBeLessThan(105);
  });
});

describe("seededRandom", () => {
  it("repeats its sequence for the same seed and stays in [0, 1)", () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    const first = Array.from({ length: 1_000 }, () => a());
    expect(Array.from({ length: 1_000 }, () => b())).toEqual(first);
    expect(first.every((value) => value >= 0 && value < 1)).toBe(true);
  });
});
