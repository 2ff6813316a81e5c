import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startEmulator } from "../../src/index.js";
import { ControlClient } from "../../src/testing/control-client.js";
import { cliPerTest, runCli, startCli } from "../helpers/cli.js";
import { auditRuleIds } from "../../src/domain/vocabulary.js";

/*
 * `cdp-emulator run`, the real CLI as a child process, running a real command (a small node
 * client of the Records API) under real scenarios, against its own emulator or one started apart.
 */

const CLIENT = fileURLToPath(new URL("../fixtures/run-client.mjs", import.meta.url));
const RUN_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 90_000;
const cli = cliPerTest("cdp-emulator-run-");

const run = (args: string[], cwd: string, env: Record<string, string> = {}) => runCli(["run", ...args], { cwd, env, timeoutMs: RUN_TIMEOUT_MS });

/** The <testsuite>s of a JUnit file: name → its testcases, name → "passed" | "failed" | "skipped". */
function junitSuites(xml: string): Map<string, Map<string, string>> {
  const suites = new Map<string, Map<string, string>>();
  for (const suite of xml.matchAll(/<testsuite name="([^"]+)"[^>]*>([\s\S]*?)<\/testsuite>/g)) {
    const cases = new Map<string, string>();
    for (const testcase of (suite[2] ?? "").matchAll(/<testcase [^>]*name="([^"]+)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const body = testcase[3] ?? "";
      cases.set(testcase[1] ?? "", body.includes("<failure") ? "failed" : body.includes("<skipped") ? "skipped" : "passed");
    }
    suites.set(suite[1] ?? "", cases);
  }
  return suites;
}

const RULES: readonly string[] = auditRuleIds;

describe("cdp-emulator run", () => {
  it(
    "passes a well-behaved client under two scenarios and writes a JUnit testsuite per scenario and a JSON report",
    async () => {
      const dir = cli.dir();
      const junit = join(dir, "reports", "chaos.xml");
      const json = join(dir, "reports", "chaos.json");
      const result = await run(
        ["--scenario", "happy-path", "--scenario", "write-races", "--junit", junit, "--json", json, "--timeout", "30", "--", process.execPath, CLIENT],
        dir,
      );
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^idempotency-key-on-writes\s+passed\s+passed$/m);
      expect(result.stdout).toMatch(/passed under 2 scenario/);

      const suites = junitSuites(readFileSync(junit, "utf8"));
      expect([...suites.keys()]).toEqual(["happy-path", "write-races"]);
      for (const cases of suites.values()) {
        expect([...cases.keys()]).toEqual(["command", ...RULES, "data:no-acknowledged-write-lost", "data:no-write-stored-twice"]);
        expect([...cases.values()]).not.toContain("failed");
        expect(cases.get("command")).toBe("passed");
        expect(cases.get("data:no-acknowledged-write-lost")).toBe("passed");
      }
      // Every third upsert refused with 409: the client's same-key retries are what the audit judged.
      expect(suites.get("write-races")?.get("same-key-on-retry")).toBe("passed");
      expect(suites.get("happy-path")?.get("same-key-on-retry")).toBe("skipped");

      const report = JSON.parse(readFileSync(json, "utf8")) as { passed: boolean; scenarios: { scenario: string; workspace: string; audit: { workspace: string } }[] };
      expect(report.passed).toBe(true);
      expect(report.scenarios.map((outcome) => outcome.scenario)).toEqual(["happy-path", "write-races"]);
      for (const outcome of report.scenarios) expect(outcome.audit.workspace).toBe(outcome.workspace);
      expect(new Set(report.scenarios.map((outcome) => outcome.workspace)).size).toBe(2);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "exits 1 when the command exits 1, and fails its command testcase",
    async () => {
      const dir = cli.dir();
      const junit = join(dir, "chaos.xml");
      const result = await run(["--scenario", "happy-path", "--junit", junit, "--", process.execPath, "-e", "process.exit(1)"], dir);
      expect(result.code, result.stderr).toBe(1);
      expect(junitSuites(readFileSync(junit, "utf8")).get("happy-path")?.get("command")).toBe("failed");
      expect(result.stdout).toMatch(/happy-path \/ command:\n {2}- .* exited 1/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "exits 1 with idempotency-key-on-writes failed when the command writes without an Idempotency-Key",
    async () => {
      const dir = cli.dir();
      const junit = join(dir, "chaos.xml");
      const result = await run(["--scenario", "happy-path", "--junit", junit, "--", process.execPath, CLIENT, "no-key"], dir);
      expect(result.code, result.stderr).toBe(1);
      const xml = readFileSync(junit, "utf8");
      const cases = junitSuites(xml).get("happy-path");
      expect(cases?.get("idempotency-key-on-writes")).toBe("failed");
      expect(cases?.get("command")).toBe("passed");
      expect(xml).toMatch(/<failure message="[^"]*without an Idempotency-Key/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "kills a command that outlives --timeout and counts it a failure",
    async () => {
      const dir = cli.dir();
      const startedAt = performance.now();
      const result = await run(["--scenario", "happy-path", "--timeout", "1", "--", process.execPath, "-e", "setTimeout(() => {}, 60000)"], dir);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toMatch(/killed after 1 s \(--timeout\)/);
      expect(performance.now() - startedAt).toBeLessThan(30_000);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "runs under a scenario file given by path, as under a bundled one",
    async () => {
      const dir = cli.dir();
      const file = join(dir, "every-upsert-once.yaml");
      writeFileSync(
        file,
        "name: every-upsert-once\ndescription: The first upsert is refused with 503 and Retry-After 0.2.\nfaults:\n  - match: { operation: upsert }\n    action: { status: 503, retryAfter: 0.2 }\n    schedule: { times: 1 }\n",
      );
      const junit = join(dir, "chaos.xml");
      const result = await run(["--scenario", file, "--junit", junit, "--", process.execPath, CLIENT], dir);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const cases = junitSuites(readFileSync(junit, "utf8")).get("every-upsert-once");
      expect(cases?.get("honours-retry-after")).toBe("passed");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "shares a running emulator (--url) with another run at the same time, each scenario's faults in its own workspace, and leaves no fault rule behind",
    async () => {
      const dir = cli.dir();
      const emulator = await startCli(["start", "--port", "0", "--db", ":memory:", "--log-level", "silent"], { cwd: dir });
      const control = new ControlClient(emulator.url);
      const own = await control.faults.add({ match: { workspace: "elsewhere" }, action: { status: 500 } });
      const args = (name: string) => ["--url", emulator.url, "--scenario", "write-races", "--junit", join(dir, `${name}.xml`), "--", process.execPath, CLIENT];
      const [first, second] = await Promise.all([run(args("first"), dir), run(args("second"), dir)]);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(second.code, second.stdout + second.stderr).toBe(0);
      for (const name of ["first", "second"]) {
        expect(junitSuites(readFileSync(join(dir, `${name}.xml`), "utf8")).get("write-races")?.get("same-key-on-retry")).toBe("passed");
      }
      expect((await control.faults.list()).map((rule) => rule.id)).toEqual([own.id]);
    },
    TEST_TIMEOUT_MS,
  );

  it.each([
    { typed: "no command", args: ["--scenario", "happy-path"], says: /run needs a command after --/ },
    { typed: "an unknown scenario", args: ["--scenario", "no-such-chaos", "--", "true"], says: /--scenario no-such-chaos: no such scenario; the emulator has .*happy-path/ },
    { typed: "a --timeout that is no number", args: ["--timeout", "soon", "--", "true"], says: /--timeout "soon" must be a number of seconds/ },
    { typed: "a scenario file with --url", args: ["--url", "http://127.0.0.1:9", "--scenario", "./mine.yaml", "--", "true"], says: /a scenario file needs the run's own emulator/ },
    { typed: "a --url where no emulator answers", args: ["--url", "http://127.0.0.1:9", "--", "true"], says: /--url http:\/\/127\.0\.0\.1:9: no emulator answers there/ },
    { typed: "an unknown flag", args: ["--senario", "happy-path", "--", "true"], says: /unknown option '--senario'/ },
  ])(
    "exits 2 on $typed, before running anything",
    async ({ args, says }) => {
      const dir = cli.dir();
      const junit = join(dir, "chaos.xml");
      const result = await run(["--junit", junit, ...args], dir);
      expect(result.code, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toMatch(says);
      expect(existsSync(junit)).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );
});

describe("a scenario applied to one workspace, as run applies them", () => {
  it("faults that workspace's requests only, and outlives a scenario applied to every workspace", async () => {
    const emulator = await startEmulator();
    try {
      const { control } = emulator;
      const scoped = await control.workspaces.create();
      const other = await control.workspaces.create();
      const applied = await control.scenarios.apply("write-races", { workspace: scoped.workspace });
      expect(applied.workspace).toBe(scoped.workspace);
      const statuses = async (token: string): Promise<number[]> => {
        const seen: number[] = [];
        for (let index = 0; index < 3; index++) {
          const response = await fetch(`${emulator.apiUrl}/records/profiles/upsert`, {
            method: "POST",
            headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "Idempotency-Key": `k-${index}` },
            body: JSON.stringify({ record: { email: `p${index}@example.com` } }),
          });
          await response.text();
          seen.push(response.status);
        }
        return seen;
      };
      expect(await statuses(other.token)).toEqual([200, 200, 200]);
      expect(await statuses(scoped.token)).toEqual([200, 200, 409]);

      await control.scenarios.apply("happy-path");
      const rules = await control.faults.list();
      expect(rules.map((rule) => [rule.match.workspace, rule.source])).toEqual([[scoped.workspace, `scenario:write-races@${scoped.workspace}`]]);
      expect((await control.scenarios.list()).active).toBe("happy-path");
    } finally {
      await emulator.stop();
    }
  });
});
