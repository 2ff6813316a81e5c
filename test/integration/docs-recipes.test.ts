import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseFaultHeader } from "../../src/chaos/faults.js";
import { defaultConfig, environmentVariables } from "../../src/config.js";
import { providerStates } from "../../src/contract/provider-states.js";
import { ControlClient } from "../../src/testing/control-client.js";
import { startEmulatorOnDisk, perSuite } from "../helpers/emulator.js";

/*
 * What the documentation says that readme.test.ts and readme-client.test.ts cannot run here:
 * every shell command of README.md and docs/*.md is known and points at things that exist
 * (npm scripts, CLI commands and flags, CDP_EMULATOR_* variables, files), the Docker and CI
 * recipes parse and their health checks work against a live emulator, and the reference tables
 * (flags, control-plane routes, provider states, scenarios, X-Emulator-Fault, the layout) list
 * what the code has.
 */

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist/cli.js");
const DOCS_BASE = "http://127.0.0.1:4010";
const DOCS = readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`);
const MARKDOWN = ["README.md", ...DOCS];
const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");
const manifest = JSON.parse(read("package.json")) as { name: string; version: string; scripts: Record<string, string> };
const ENV_NAMES = new Set<string>(Object.values(environmentVariables));

interface Block {
  file: string;
  lang: string;
  body: string;
}

const blocks: Block[] = MARKDOWN.flatMap((file) =>
  [...read(file).matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)].map((match) => ({ file, lang: match[1] ?? "", body: match[2] ?? "" })),
);

/** The commands of an sh block: backslash continuations joined, comments dropped, `&&` chains split. */
function shellCommands(body: string): string[] {
  return body
    .replace(/\\\n/g, " ")
    .split(/\n(?=\S)/)
    .map((command) => command.replace(/[ \t]+#[ \t][^\n'"]*$/gm, "").trim())
    .filter((command) => command !== "" && !command.startsWith("#"))
    .flatMap((command) => (command.startsWith("curl ") ? [command] : command.split(/\s+&&\s+/)));
}

/** Shell words, quotes removed (enough for the documentation's commands: no escapes inside quotes). */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2] ?? match[3] ?? "");
}

/** A yaml block of the docs by the path its first line names (`# .gitlab-ci.yml`). */
function yamlFile(path: string): Record<string, unknown> {
  const block = blocks.find((candidate) => candidate.lang === "yaml" && candidate.body.startsWith(`# ${path}\n`));
  if (!block) throw new Error(`no yaml block headed "# ${path}" in the docs`);
  return parseYaml(block.body) as Record<string, unknown>;
}

/** The Dockerfile's HEALTHCHECK: node -e <this script>. */
function imageHealthScript(): string {
  const match = /^HEALTHCHECK [\s\S]*?CMD (\[.*\])$/m.exec(read("Dockerfile"));
  const command = JSON.parse(match?.[1] ?? "[]") as string[];
  expect(command.slice(0, 2)).toEqual(["node", "-e"]);
  return command[2] ?? "";
}

/** The image's script with its port fixed at 4010, as the recipes write it. */
const fixedPortHealthScript = (): string => imageHealthScript().replace("'+(process.env.CDP_EMULATOR_PORT||4010)+'", "4010");

describe("the shell commands of README.md and docs/", () => {
  const help: Record<string, string> = {};
  beforeAll(async () => {
    for (const command of ["start", "seed", "verify", "run"]) help[command] = (await run(process.execPath, [CLI, command, "--help"])).stdout;
    help["program"] = (await run(process.execPath, [CLI, "--help"])).stdout;
  });
  const flagsOf = (command: string): Set<string> => new Set([...(help[command] ?? "").matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((match) => match[1] ?? ""));
  const checkFlags = (command: string, args: string[]): string[] =>
    args.filter((arg) => arg.startsWith("--")).map((arg) => arg.split("=")[0] ?? "").filter((flag) => !flagsOf(command).has(flag)).map((flag) => `${command} has no ${flag}`);

  /** What is wrong with one command, or [] when it is one the docs may show. */
  function problems(command: string): string[] {
    const argv = words(command);
    const [program, sub, ...rest] = argv;
    if (program === "curl") return command.includes(DOCS_BASE) ? [] : ["a curl example not against http://127.0.0.1:4010"];
    if (program === "cd") return [];
    if (program === "export") return /^[A-Z_][A-Z0-9_]*=/.test(sub ?? "") ? [] : ["export of what?"];
    if (program === "bash") return existsSync(join(ROOT, sub ?? "")) ? [] : [`no file ${sub}`];
    if (program === "npx" && sub === "cdp-emulator") {
      const [command = "", ...args] = rest;
      if (!["start", "seed", "verify", "run"].includes(command)) return [`cdp-emulator has no command ${command}`];
      // run's own flags come before `--`; what follows is the command it runs.
      return checkFlags(command, args.includes("--") ? args.slice(0, args.indexOf("--")) : args);
    }
    if (program === "npm") {
      if (sub === "test" || sub === "ci" || sub === "pack" || sub === "approve-scripts") return [];
      if (sub === "start") return checkFlags("start", rest.slice(rest.indexOf("--") + 1));
      if (sub === "run") return manifest.scripts[rest[0] ?? ""] ? [] : [`package.json has no script ${rest[0]}`];
      if (sub === "install") {
        const tarballs = rest.filter((arg) => arg.endsWith(".tgz"));
        return tarballs
          .filter((tarball) => !tarball.endsWith(`/${manifest.name}-${manifest.version}.tgz`))
          .map((tarball) => `${tarball} is not what npm pack writes (${manifest.name}-${manifest.version}.tgz)`);
      }
      return [`npm ${sub}?`];
    }
    if (program === "docker" && sub === "build") {
      return existsSync(join(ROOT, "Dockerfile")) && rest.includes("cdp-emulator") && rest.at(-1) === "." ? [] : ["docker build -t cdp-emulator . is the build"];
    }
    if (program === "docker" && sub === "compose") {
      const file = rest[rest.indexOf("-f") + 1] ?? "";
      return rest.includes("-f") && existsSync(join(ROOT, file)) ? [] : [`no compose file ${file}`];
    }
    if (program === "docker" && sub === "run") {
      const found: string[] = [];
      let index = 0;
      for (; index < rest.length; index++) {
        const arg = rest[index] ?? "";
        if (!arg.startsWith("-")) break;
        if (arg === "-e") {
          const name = (rest[++index] ?? "").split("=")[0] ?? "";
          if (!ENV_NAMES.has(name)) found.push(`${name} is no CDP_EMULATOR_* setting`);
        } else if (arg === "-v") {
          const source = (rest[++index] ?? "").split(":")[0] ?? "";
          if (source.startsWith("$PWD/examples/") && !existsSync(join(ROOT, source.slice("$PWD/".length)))) found.push(`no folder ${source}`);
        } else if (arg === "-p") {
          index++;
        } else if (arg !== "--rm" && arg !== "-d") {
          found.push(`docker run ${arg}?`);
        }
      }
      const [image, ...args] = rest.slice(index);
      if (image !== "cdp-emulator") found.push(`the image is built as cdp-emulator, not ${image}`);
      if (args[0]?.startsWith("-")) found.push(...checkFlags("start", args));
      else if (args[0] === "node" && !existsSync(join(ROOT, args[1] ?? ""))) found.push(`no ${args[1]} in the image`);
      return found;
    }
    return [`a command the documentation tests do not know: ${command}`];
  }

  const shBlocks = blocks.filter((block) => block.lang === "sh");

  it.each(MARKDOWN)("%s: every command is known and names things that exist", (file) => {
    const wrong = shBlocks.filter((block) => block.file === file).flatMap((block) => shellCommands(block.body).flatMap((command) => problems(command).map((problem) => `${command.slice(0, 80)}: ${problem}`)));
    expect(wrong).toEqual([]);
  });

  it("names only npm scripts that exist, in code and in prose", () => {
    const named = [...[...MARKDOWN, "ARCHITECTURE.md"].map(read).join("\n").matchAll(/npm run ([\w:-]+)/g)].map((match) => match[1] ?? "");
    expect(named.filter((script) => !manifest.scripts[script])).toEqual([]);
  });

  it("names only files of this repository that exist", () => {
    // Files the examples make in the user's project: the yaml blocks headed with their path, and the example pact.
    const written = new Set(blocks.flatMap((block) => /^# ([\w./-]+)\n/.exec(block.body)?.[1] ?? []));
    written.add("pacts/my-service-cdp-records-api.json");
    const spans = [...[...MARKDOWN, "ARCHITECTURE.md"].map(read).join("\n").matchAll(/`((?:src|test|scripts|bench|examples|schemas|scenarios|pacts|docs|\.ci)\/[\w./-]*|Dockerfile)`/g)].map((match) => match[1] ?? "");
    expect(spans.filter((path) => !written.has(path) && !existsSync(join(ROOT, path)))).toEqual([]);
  });

  it("uses only code blocks that are checked: sh, ts, json, yaml, text, gitignore", () => {
    expect(blocks.filter((block) => !["sh", "ts", "json", "yaml", "text", "gitignore"].includes(block.lang)).map((block) => `${block.file}: \`\`\`${block.lang}`)).toEqual([]);
  });

  it("shows JSON that parses (a document, or NDJSON lines)", () => {
    for (const block of blocks.filter((candidate) => candidate.lang === "json")) {
      try {
        JSON.parse(block.body);
      } catch {
        for (const line of block.body.split("\n").filter((text) => text.trim() !== "")) expect(() => JSON.parse(line), `${block.file}: ${line}`).not.toThrow();
      }
    }
  });

  it("shows YAML that parses", () => {
    for (const block of blocks.filter((candidate) => candidate.lang === "yaml")) expect(() => parseYaml(block.body), block.file).not.toThrow();
  });

  it("asks users to ignore the default database folder", () => {
    const ignores = blocks.filter((block) => block.lang === "gitignore");
    expect(ignores).toHaveLength(1);
    const folder = `${dirname(defaultConfig().db)}/`;
    expect(folder).toBe(".cdp-emulator/");
    expect(ignores[0]?.body.trim().split("\n")).toContain(folder);
  });
});

describe("the Docker and CI recipes (docs/docker.md, examples/docker-compose.yml)", () => {
  const env = perSuite();
  const port = (): string => new URL(env.url).port;
  const runScript = (script: string, extraEnv: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, ["-e", script], { timeout: 15_000, env: { ...process.env, ...extraEnv } });

  it("the image's HEALTHCHECK script answers 0 against a live emulator (node's fetch: the image has no curl)", async () => {
    await runScript(imageHealthScript(), { CDP_EMULATOR_PORT: port() });
  });

  it("the compose file parses, sets real settings, shares the image's healthcheck, and its scenario and control token load", async () => {
    const compose = parseYaml(read("examples/docker-compose.yml")) as {
      services: Record<string, { environment?: Record<string, string>; healthcheck?: { test: string[] }; volumes?: string[]; depends_on?: Record<string, { condition: string }> }>;
    };
    const emulator = compose.services["cdp-emulator"];
    expect(emulator).toBeDefined();
    const environment = emulator?.environment ?? {};
    for (const name of Object.keys(environment)) expect(ENV_NAMES, name).toContain(name);
    expect(environment["CDP_EMULATOR_ALLOWED_HOSTS"]?.split(",")).toContain("cdp-emulator");
    expect(emulator?.healthcheck?.test).toEqual(["CMD", "node", "-e", fixedPortHealthScript()]);
    expect(compose.services["app"]?.depends_on?.["cdp-emulator"]?.condition).toBe("service_healthy");
    for (const volume of emulator?.volumes ?? []) {
      const source = volume.split(":")[0] ?? "";
      if (source.startsWith("./")) expect(existsSync(join(ROOT, "examples", source)), volume).toBe(true);
    }
    // The exported variable the docs set is the one the file reads, and its fallback is a valid control token.
    const controlToken = /^\$\{CDP_CONTROL_TOKEN:-(.+)\}$/.exec(environment["CDP_EMULATOR_CONTROL_TOKEN"] ?? "")?.[1];
    expect(controlToken).toBeDefined();
    expect(read("docs/docker.md")).toContain("export CDP_CONTROL_TOKEN=");

    const scenario = environment["CDP_EMULATOR_SCENARIO"] ?? "";
    const sidecar = await startEmulatorOnDisk({ scenariosDir: join(ROOT, "examples/scenarios"), scenario, controlToken: controlToken ?? null, allowedHosts: ["cdp-emulator"] });
    try {
      const listed = await fetch(`${sidecar.url}/_emulator/scenarios`, { headers: { Authorization: `Bearer ${controlToken}` } });
      expect(((await listed.json()) as { data: { active: string } }).data.active).toBe(scenario);
    } finally {
      await sidecar.dispose();
    }
  });

  it("the GitHub Actions service uses the image's health command, real settings and a bundled scenario", async () => {
    const workflow = yamlFile(".github/workflows/test.yml") as {
      jobs: Record<string, { services: Record<string, { image: string; ports: string[]; env: Record<string, string>; options: string }> }>;
    };
    const service = Object.values(workflow.jobs)[0]?.services["cdp-emulator"];
    expect(service?.image).toMatch(/cdp-emulator/);
    expect(service?.ports).toContain("4010:4010");
    for (const name of Object.keys(service?.env ?? {})) expect(ENV_NAMES, name).toContain(name);
    expect(existsSync(join(ROOT, "scenarios", `${service?.env["CDP_EMULATOR_SCENARIO"]}.yaml`))).toBe(true);
    // The runner hands `options` to docker create: a double-quoted word with \" inside, run by sh -c.
    const quoted = /--health-cmd "((?:[^"\\]|\\.)*)"/.exec(service?.options ?? "")?.[1] ?? "";
    const shellCommand = quoted.replace(/\\"/g, '"');
    const script = /^node -e "(.*)"$/.exec(shellCommand)?.[1];
    expect(script).toBe(fixedPortHealthScript());
    await runScript((script ?? "").replace("127.0.0.1:4010", `127.0.0.1:${port()}`));
    expect(service?.options).toMatch(/--health-interval \S+/);
  });

  it("the GitLab CI service tells the emulator its alias, and the job's wait step passes against a live emulator", async () => {
    const pipeline = yamlFile(".gitlab-ci.yml") as Record<string, { services: { name: string; alias: string; variables: Record<string, string> }[]; variables: Record<string, string>; script: string[] }>;
    const job = Object.values(pipeline)[0];
    const service = job?.services[0];
    expect(service?.name).toMatch(/cdp-emulator/);
    expect(service?.variables["HEALTHCHECK_TCP_PORT"]).toBe("4010");
    expect(service?.variables["CDP_EMULATOR_ALLOWED_HOSTS"]).toBe(service?.alias);
    for (const name of Object.keys(service?.variables ?? {}).filter((key) => key.startsWith("CDP_EMULATOR_"))) expect(ENV_NAMES, name).toContain(name);
    // Job variables reach the services too: no emulator settings there.
    expect(Object.keys(job?.variables ?? {}).filter((name) => name.startsWith("CDP_EMULATOR_"))).toEqual([]);
    expect(job?.variables["CDP_BASE_URL"]).toBe(`http://${service?.alias}:4010/public/v1`);
    const wait = /^node -e '([\s\S]*)'\s*$/.exec(job?.script[0] ?? "")?.[1];
    expect(wait).toContain(`http://${service?.alias}:4010/_emulator/health`);
    await runScript((wait ?? "").replaceAll(`http://${service?.alias}:4010`, env.url));
  });
});

describe("the reference tables list what the code has", () => {
  it("docs/configuration.md: every start flag and every CDP_EMULATOR_* variable", async () => {
    const doc = read("docs/configuration.md");
    const { stdout } = await run(process.execPath, [CLI, "start", "--help"]);
    const flags = [...stdout.matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((match) => match[1] ?? "").filter((flag) => flag !== "--help");
    expect(flags.length).toBeGreaterThan(10);
    expect(flags.filter((flag) => !doc.includes(`\`${flag} `) && !doc.includes(`\`${flag}\``))).toEqual([]);
    expect([...ENV_NAMES].filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });

  it("docs/control-plane.md: every /_emulator route of src/control", () => {
    const doc = read("docs/control-plane.md");
    const routes = readdirSync(join(ROOT, "src/control"))
      .filter((name) => name.endsWith(".ts"))
      .flatMap((name) => [...read(`src/control/${name}`).matchAll(/router\.(get|post|put|patch|delete)\(\s*"([^"]+)"/g)])
      .map((match) => `${(match[1] ?? "").toUpperCase()} /_emulator${(match[2] ?? "").replace(/:(\w+)/g, "{$1}")}`);
    expect(routes.length).toBeGreaterThan(25);
    expect([...routes, "GET /_emulator/ui/"].filter((route) => !doc.includes(route))).toEqual([]);
  });

  it("docs/programmatic.md: every ControlClient method", () => {
    const doc = read("docs/programmatic.md");
    const client = new ControlClient("http://127.0.0.1:4010");
    const missing: string[] = [];
    for (const name of Object.getOwnPropertyNames(ControlClient.prototype).filter((key) => key !== "constructor" && key !== "request")) {
      if (!doc.includes(`\`${name}(`) && !doc.includes(`and \`${name}(`)) missing.push(name);
    }
    for (const [group, members] of Object.entries(client).filter(([, value]) => value !== null && typeof value === "object")) {
      const row = doc.split("\n").find((line) => line.startsWith(`| \`${group}.`)) ?? "";
      for (const method of Object.keys(members as object)) if (!row.includes(`${method}(`)) missing.push(`${group}.${method}`);
    }
    expect(missing).toEqual([]);
  });

  it("docs/contract-testing.md: every provider state sentence", () => {
    const doc = read("docs/contract-testing.md");
    expect(providerStates.map((state) => state.sentence).filter((sentence) => !doc.includes(sentence))).toEqual([]);
  });

  it("docs/faults-and-scenarios.md: every bundled scenario", () => {
    const doc = read("docs/faults-and-scenarios.md");
    const names = readdirSync(join(ROOT, "scenarios")).map((file) => file.replace(/\.(ya?ml|json)$/, ""));
    expect(names.filter((name) => !doc.includes(`| \`${name}\` |`))).toEqual([]);
  });

  it("X-Emulator-Fault: every value the docs show is accepted, and the ones they call refused are refused", () => {
    const all = MARKDOWN.map(read).join("\n");
    const shown = [...all.matchAll(/X-Emulator-Fault: ([^"`\n]+)/g)].map((match) => (match[1] ?? "").trim());
    const doc = read("docs/faults-and-scenarios.md");
    const valid = [...(/Valid examples: (.*?)\.\n/s.exec(doc)?.[1] ?? "").matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? "");
    expect(valid.length).toBeGreaterThan(5);
    for (const value of [...shown, ...valid]) expect(() => parseFaultHeader(value), value).not.toThrow();
    for (const refused of ["504;503", "409;retry-after=1", "jitter=5;503", "after-commit"]) {
      expect(doc).toContain(`\`${refused}\``);
      expect(() => parseFaultHeader(refused), refused).toThrow(/is not a fault/);
    }
  });

  it("ARCHITECTURE.md: the layout lists every part of src/, and only parts that exist", () => {
    const doc = read("ARCHITECTURE.md");
    const layout = /## Layout\n\n```\n([\s\S]*?)```/.exec(doc)?.[1] ?? "";
    const listed = [...layout.matchAll(/^(\S+)/gm)].map((match) => match[1] ?? "");
    expect(listed.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
    const parts = readdirSync(join(ROOT, "src")).map((name) => (statSync(join(ROOT, "src", name)).isDirectory() ? `src/${name}/` : `src/${name}`));
    expect(parts.filter((part) => !listed.includes(part))).toEqual([]);
  });

  it("ARCHITECTURE.md: who imports whom, as the sources do", () => {
    const doc = read("ARCHITECTURE.md");
    const table = /## Who imports whom[\s\S]*?\n(\|[\s\S]*?)\n\n/.exec(doc)?.[1] ?? "";
    const documented = new Map<string, string[]>();
    for (const match of table.matchAll(/^\| `([\w-]+)` \| (.+) \|$/gm)) {
      const cell = match[2] ?? "";
      documented.set(match[1] ?? "", cell.startsWith("nothing") ? [] : cell.split(",").map((part) => part.trim().split(/\s/)[0] ?? "").sort());
    }
    const folders = readdirSync(join(ROOT, "src")).filter((name) => statSync(join(ROOT, "src", name)).isDirectory());
    expect([...documented.keys()].sort()).toEqual(folders.sort());
    const filesUnder = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : /\.tsx?$/.test(name) ? [join(dir, name)] : []));
    for (const folder of folders) {
      const imported = new Set<string>();
      for (const file of filesUnder(join(ROOT, "src", folder))) {
        for (const match of readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
          const target = relative(join(ROOT, "src"), resolve(dirname(file), match[1] ?? ""));
          const top = (target.split("/")[0] ?? "").replace(/\.js$/, "");
          if (!target.startsWith("..") && top !== folder) imported.add(top);
        }
      }
      expect([...imported].sort(), folder).toEqual(documented.get(folder));
    }
  });
});
