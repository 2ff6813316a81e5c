import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchCli } from "../helpers/cli.js";

/*
 * The published artefact, as a user gets it: `npm pack`, then `npm install <tarball>` into an empty
 * ESM project, then the bin, both entry points and their types used from there. One pack and one
 * install for the whole file (better-sqlite3 compiles from source: about a minute). It packs the
 * dist/ that `npm test` builds before vitest runs; on its own, run `npm run build --silent` first.
 */

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const INSTALL_TIMEOUT_MS = 240_000;
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/**
 * The environment a user's shell would give npm: without what the outer `npm test` exports about
 * this repository (its prefix, its package.json, its lifecycle), which would point the inner npm
 * back here, and without CDP_EMULATOR_* settings, which would change what the emulator does.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const repositoryBound = /^(npm_package_|npm_lifecycle_|npm_command$|npm_config_(prefix|local_prefix|global_prefix|allow_scripts)$|init_cwd$|cdp_emulator_)/i;
  for (const [name, value] of Object.entries(process.env)) if (!repositoryBound.test(name)) env[name] = value;
  return env;
}

const exec = (file: string, args: string[], options: { cwd: string; timeout: number }): Promise<{ stdout: string; stderr: string }> =>
  run(file, args, { ...options, env: userEnv(), maxBuffer: 16 * 1024 * 1024 });

interface PackResult {
  filename: string;
  size: number;
  files: { path: string }[];
}

describe("the npm package, packed and installed into an empty project", () => {
  let work: string;
  let project: string;
  let packed: PackResult;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cdp-emulator-package-"));
    // --ignore-scripts: pack the dist/ already built, rather than rebuild it under the feet of tests running beside this one.
    const { stdout } = await exec("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT, timeout: 60_000 });
    [packed] = JSON.parse(stdout) as [PackResult];

    project = join(work, "project");
    mkdirSync(project);
    await exec("npm", ["init", "-y"], { cwd: project, timeout: 30_000 });
    const manifestPath = join(project, "package.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, unknown>;
    // What the README's Install asks of a user: approve better-sqlite3's install script (it builds the addon).
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, type: "module", allowScripts: { "better-sqlite3": true } }, null, 2));
    // Strict: an install script of any other dependency fails the install instead of running unreviewed.
    await exec("npm", ["install", join(work, packed.filename), "--strict-allow-scripts", "--no-audit", "--no-fund"], {
      cwd: project,
      timeout: INSTALL_TIMEOUT_MS,
    });
  }, INSTALL_TIMEOUT_MS + 60_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("ships dist, schemas and scenarios only: no tests, no source maps, no compiled file whose source is gone", () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(["package.json", "README.md", "LICENSE", "dist/cli.js", "dist/index.js", "dist/index.d.ts", "dist/client/index.js", "dist/client/index.d.ts", "schemas/objects/profiles.json", "scenarios/flaky-5xx.yaml"]));
    expect(paths.filter((path) => !/^(dist|schemas|scenarios)\/|^(package\.json|README\.md|LICENSE)$/.test(path))).toEqual([]);
    expect(paths.filter((path) => path.endsWith(".map") || /(^|\/)(test|bench)\//.test(path) || /\.test\.[jt]s$/.test(path))).toEqual([]);
    // tsc output (a .js beside its .d.ts) must come from a source that still exists; a bundle built otherwise has no .d.ts.
    const orphans = paths
      .filter((path) => path.endsWith(".js") && paths.includes(path.replace(/\.js$/, ".d.ts")))
      .filter((path) => !existsSync(join(ROOT, path.replace(/^dist\//, "src/").replace(/\.js$/, ".ts"))));
    expect(orphans).toEqual([]);
    expect(packed.size).toBeLessThan(1024 * 1024);
  });

  it("installs the runtime dependencies with the native SQLite addon built, and neither the optional Pact peer nor any dev dependency", () => {
    const modules = join(project, "node_modules");
    expect(existsSync(join(modules, "better-sqlite3/build/Release/better_sqlite3.node"))).toBe(true);
    for (const runtime of ["express", "@faker-js/faker", "libphonenumber-js", "pino", "ajv-formats", "commander", "yaml", "ulid"]) {
      expect(existsSync(join(modules, runtime, "package.json")), runtime).toBe(true);
    }
    for (const absent of ["@pact-foundation/pact", "vitest", "typescript", "tsx", "eslint"]) {
      expect(existsSync(join(modules, absent)), absent).toBe(false);
    }
  });

  it("starts from the installed bin, answers /_emulator/health, and exits 0 on SIGTERM", async () => {
    // `--`: without it npx takes --version as its own flag and prints npm's version.
    const { stdout: version } = await exec("npx", ["--no", "--", "cdp-emulator", "--version"], { cwd: project, timeout: 30_000 });
    expect(version.trim()).toBe(VERSION);

    const child = spawn(join(project, "node_modules/.bin/cdp-emulator"), ["start", "--port", "0", "--db", ":memory:", "--log-level", "warn"], {
      cwd: project,
      env: userEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const { ready, exited } = watchCli(child);
      const url = await ready;
      const health = (await (await fetch(`${url}/_emulator/health`)).json()) as { success: boolean; data: Record<string, unknown> };
      expect(health).toMatchObject({ success: true, data: { status: "ok", version: VERSION, db: { path: ":memory:", open: true } } });

      child.kill("SIGTERM");
      expect((await exited).code).toBe(0);
      // :memory: means what it says: the project folder gets no database.
      expect(existsSync(join(project, ".cdp-emulator"))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 40_000);

  it("runs an ESM script that starts an emulator with startEmulator and upserts through CdpClient, both imported by package name", async () => {
    writeFileSync(
      join(project, "smoke.js"),
      `import { startEmulator } from "cdp-emulator";
import { CdpClient } from "cdp-emulator/client";

const emu = await startEmulator();
const cdp = new CdpClient({ baseUrl: emu.apiUrl, token: emu.token });
const written = await cdp.upsert("profiles", { email: "jane@example.com", tier: "gold" }, { matchKey: "email" });
const rows = await emu.control.records.list("profiles");
console.log(JSON.stringify({ operation: written.data.operation, accepted: written.data.accepted, rows: rows.map((row) => row.fields) }));
await emu.stop();
`,
    );
    // No explicit exit in the script: it must end by itself once stopped, with nothing left open.
    const { stdout } = await exec(process.execPath, ["smoke.js"], { cwd: project, timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({ operation: "upsert", accepted: true, rows: [{ email: "jane@example.com", tier: "gold" }] });
  }, 30_000);

  it("type-checks a TypeScript consumer of both entry points with skipLibCheck off", async () => {
    writeFileSync(
      join(project, "consumer.ts"),
      `import { ControlClient, createEmulator, startEmulator, type StartedEmulator } from "cdp-emulator";
import { CdpApiError, CdpClient } from "cdp-emulator/client";

const emu: StartedEmulator = await startEmulator({ scenario: "flaky-5xx", latencyMs: 0 });
const control: ControlClient = emu.control;
const count: number = await control.journal.count({ status: 503 });
const cdp = new CdpClient({ baseUrl: emu.apiUrl, token: emu.token });
const written = await cdp.upsert("profiles", { email: "a@example.com" });
const operation: string = written.data.operation;
const port: number = (await createEmulator({ port: 0, db: ":memory:" }).start()).port;
console.log(count, operation, port, CdpApiError.name);
// @ts-expect-error a misspelt option is refused
await startEmulator({ dbPath: ":memory:" });
`,
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2023"], types: ["node"], strict: true, skipLibCheck: false, noEmit: true },
        files: ["consumer.ts"],
      }),
    );
    // The repository's compiler, so the project needs no second install; the types it reads are all the project's own.
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    const result = await exec(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project, timeout: 60_000 }).catch((error: { stdout?: string }) => ({
      stdout: error.stdout ?? String(error),
      stderr: "",
    }));
    expect(result.stdout).toBe("");
  }, 70_000);
});
