import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/emulator.js";

/* The real CLI (`npm test` builds dist/ first), as a newcomer mistypes it. */
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]) => runCli(args, { cwd: dir });

describe("the CLI names a newcomer's mistake and the fix", () => {
  const db = join(dir, "cdp.sqlite");
  it.each([
    { typed: "an unknown command", args: ["frobnicate"], says: /unknown command 'frobnicate'; commands: start \(the default\), seed, verify, run \(see cdp-emulator --help\)/ },
    { typed: "seed with no flags", args: ["seed", "--db", db], says: /seed needs --object and --count, e\.g\. cdp-emulator seed --object profiles --count 1000 \(see cdp-emulator seed --help\)/ },
    { typed: "seed of an object that does not exist", args: ["seed", "--object", "nope", "--db", db], says: /--object "nope" is not an object of the schemas; objects: events, orders, profiles/ },
  ])("$typed exits 2 with one line saying so", async ({ args, says }) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(says);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("still runs a known command given by name", async () => {
    const result = await cli(["seed", "--object", "profiles", "--count", "3", "--seed", "1", "--db", db]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^seeded 3 profiles into workspace default/);
  });
});
