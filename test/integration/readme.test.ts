import { execFile, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { perSuite } from "../helpers/emulator.js";
import { CLI, cliEnv, watchCli } from "../helpers/cli.js";

/*
 * Every shell example of README.md and docs/*.md that can run here runs, in document order, one
 * fresh emulator and one working folder per file: each curl against http://127.0.0.1:4010 (pointed
 * at that emulator), each `npx cdp-emulator start` (started on a free port until its ready line,
 * then stopped with SIGTERM) and `npx cdp-emulator seed`. A json or text block right after a
 * command is its output, and is compared with what the command answers (ids and emulator times
 * masked). A yaml block whose first line is `# <path>` is written to that path in the working
 * folder first, so a command after it can use it. The commands that cannot run here (npm, docker,
 * CI files) are checked by docs-recipes.test.ts.
 */

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const DOCS_BASE = "http://127.0.0.1:4010";

const markdownFiles = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`)];

interface Block {
  lang: string;
  body: string;
  /** The block right after this one, when only blank lines separate them. */
  next: Block | undefined;
}

function codeBlocks(markdown: string): Block[] {
  const found: (Block & { start: number; end: number })[] = [];
  for (const match of markdown.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)) {
    found.push({ lang: match[1] ?? "", body: match[2] ?? "", next: undefined, start: match.index, end: match.index + match[0].length });
  }
  for (const [index, block] of found.entries()) {
    const following = found[index + 1];
    if (following && markdown.slice(block.end, following.start).trim() === "") block.next = following;
  }
  return found;
}

/** The commands of an sh block: backslash continuations joined, comments dropped, `&&` chains split. */
function shellCommands(body: string): string[] {
  const joined = body.replace(/\\\n/g, " ");
  // A quoted -d body may span lines: split only where a line starts with a new command.
  return joined
    .split(/\n(?=\S)/)
    .map((command) => command.replace(/[ \t]+#[ \t][^\n'"]*$/gm, "").trim())
    .filter((command) => command !== "" && !command.startsWith("#"))
    .flatMap((command) => (command.startsWith("curl ") ? [command] : command.split(/\s+&&\s+/)));
}

type Step =
  | { kind: "file"; path: string; content: string }
  | { kind: "curl"; command: string; output: Block | undefined }
  | { kind: "start"; args: string }
  | { kind: "seed"; args: string; output: Block | undefined };

function steps(markdown: string): Step[] {
  const out: Step[] = [];
  for (const block of codeBlocks(markdown)) {
    const fileHeader = /^# ([\w./-]+\.ya?ml)\n/.exec(block.body);
    if (block.lang === "yaml" && fileHeader?.[1]) out.push({ kind: "file", path: fileHeader[1], content: block.body });
    if (block.lang !== "sh") continue;
    const commands = shellCommands(block.body);
    const runnable = commands.filter((command) => /^(curl |npx cdp-emulator (start|seed)\b)/.test(command));
    // An output block belongs to a block of one runnable command.
    const output = runnable.length === 1 && block.next && ["json", "text"].includes(block.next.lang) ? block.next : undefined;
    for (const command of runnable) {
      if (command.startsWith("curl ")) out.push({ kind: "curl", command, output });
      else if (command.startsWith("npx cdp-emulator start")) out.push({ kind: "start", args: command.slice("npx cdp-emulator ".length) });
      else out.push({ kind: "seed", args: command.slice("npx cdp-emulator ".length), output });
    }
  }
  return out;
}

/** Ids and times the emulator makes up differ on every run; everything else must be as shown. */
const ULID = "[0-9A-HJKMNP-TV-Z]{26}";
function masked(value: unknown): unknown {
  if (typeof value === "string") {
    return value.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, "<emulator time>").replace(new RegExp(`\\b(rjob|rec)_${ULID}\\b`, "g"), "$1_<id>");
  }
  if (Array.isArray(value)) return value.map(masked);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, key === "durationMs" || key === "uptimeS" || key === "wallMs" ? "<n>" : masked(inner)]));
  }
  return value;
}

const asCli = (args: string): string => `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} ${args}`;

async function startAndStop(args: string, cwd: string): Promise<string> {
  const child = spawn("bash", ["-c", `${asCli(args)} --port 0 --log-level warn`], { cwd, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
  const { ready, exited, output } = watchCli(child);
  try {
    const url = await ready;
    expect((await fetch(`${url}/_emulator/health`)).status).toBe(200);
    child.kill("SIGTERM");
    expect((await exited).code, output()).toBe(0);
    return output();
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

for (const file of markdownFiles) {
  const markdown = readFileSync(join(ROOT, file), "utf8");
  const fileSteps = steps(markdown);
  const curls = fileSteps.filter((step) => step.kind === "curl");
  if (fileSteps.every((step) => step.kind === "file")) continue;

  describe(`the examples of ${file}, in order`, () => {
    const env = perSuite();

    it("point every curl at the default base URL", () => {
      for (const step of curls) expect(step.command).toContain(DOCS_BASE);
    });

    for (const step of fileSteps) {
      if (step.kind === "file") {
        it(`writes ${step.path}`, () => {
          const target = resolve(env.dir, step.path);
          expect(relative(env.dir, target).startsWith("..")).toBe(false);
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, step.content);
        });
      } else if (step.kind === "curl") {
        it(`runs as pasted: ${step.command.slice(0, 90)}`, async () => {
          const pointed = step.command.replaceAll(DOCS_BASE, env.url);
          if (/\s>\s*(\S+)\s*$/.test(pointed)) {
            // Saved to a file: the file holds the answer, NDJSON or JSON.
            await run("bash", ["-c", pointed.replace(/^curl /, "curl -f ")], { cwd: env.dir });
            const saved = readFileSync(join(env.dir, /\s>\s*(\S+)\s*$/.exec(pointed)?.[1] ?? ""), "utf8");
            const lines = saved.split("\n").filter((line) => line !== "");
            expect(lines.length).toBeGreaterThan(0);
            for (const line of lines) JSON.parse(line);
            return;
          }
          const { stdout } = await run("bash", ["-c", pointed.replace(/^curl /, "curl -sS -w '\\n%{http_code}' ")], { cwd: env.dir });
          const lines = stdout.trimEnd().split("\n");
          const status = lines.pop() ?? "";
          const body: unknown = JSON.parse(lines.join("\n"));
          // An example that injects a fault shows that fault; every other example succeeds.
          const injected = /X-Emulator-Fault: (\d{3})/.exec(step.command)?.[1];
          if (injected) {
            expect(status, stdout).toBe(injected);
            expect(body).toMatchObject({ success: false, error: { code: expect.stringMatching(/^CDP_ETL\./) } });
          } else {
            expect(status, stdout).toMatch(/^20[012]$/);
            expect(body).toMatchObject({ success: true });
          }
          if (step.output) {
            expect(step.output.lang).toBe("json");
            expect(masked(body)).toEqual(masked(JSON.parse(step.output.body)));
          }
        });
      } else if (step.kind === "start") {
        it(`starts and stops: npx cdp-emulator ${step.args}`, async () => {
          await startAndStop(step.args, env.dir);
        });
      } else {
        it(`runs: npx cdp-emulator ${step.args}`, async () => {
          const { stdout } = await run("bash", ["-c", asCli(step.args)], { cwd: env.dir, env: cliEnv(), timeout: 30_000 });
          if (step.output) {
            const timing = /in \d+(\.\d+)? s$/gm;
            expect(stdout.trim().replace(timing, "in <t> s")).toBe(step.output.body.trim().replace(timing, "in <t> s"));
          }
        }, 40_000);
      }
    }

    if (file === "README.md") {
      it("shows three curls, each with its real output", () => {
        expect(curls).toHaveLength(3);
        for (const step of curls) expect(step.output, step.command).toBeDefined();
      });

      it("replays the upsert example on a second send, as the README says", async () => {
        const upsert = curls.find((step) => step.command.includes("/upsert"));
        expect(upsert).toBeDefined();
        const pointed = (upsert?.command ?? "").replaceAll(DOCS_BASE, env.url).replace(/^curl /, "curl -sS -D - ");
        const { stdout } = await run("bash", ["-c", pointed]);
        expect(stdout.toLowerCase()).toContain("idempotent-replayed: true");
      });
    }
  });
}
