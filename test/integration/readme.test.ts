import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type TestEmulator } from "../helpers/emulator.js";

const run = promisify(execFile);
const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const README_BASE = "http://127.0.0.1:4010";

/** Every curl command in the README's sh blocks, joined across its backslash continuations. */
function curlCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
  const commands: string[] = [];
  for (const block of blocks) {
    const joined = block.replace(/\\\n/g, " ");
    // A quoted -d body may span lines: split only where a line starts with a new command.
    for (const command of joined.split(/\n(?=\S)/)) {
      if (command.trim().startsWith("curl ")) commands.push(command.trim());
    }
  }
  return commands;
}

describe("the README's examples", () => {
  let env: TestEmulator;
  beforeAll(async () => {
    env = await startEmulator();
  });
  afterAll(async () => env.dispose());

  const commands = curlCommands(README);

  it("include curl examples against the default base URL", () => {
    expect(commands.length).toBeGreaterThanOrEqual(3);
    expect(commands.every((command) => command.includes(README_BASE))).toBe(true);
  });

  it.each(commands.map((command) => ({ command, label: command.slice(0, 70) })))(
    "runs as pasted: $label",
    async ({ command }) => {
      const pointed = command.replaceAll(README_BASE, env.url).replace(/^curl /, "curl -sS -w '\\n%{http_code}' ");
      const { stdout } = await run("bash", ["-c", pointed]);
      const lines = stdout.trimEnd().split("\n");
      const status = lines.pop() ?? "";
      // An example that injects a fault shows that fault; every other example succeeds.
      const injected = /X-Emulator-Fault: (\d{3})/.exec(command)?.[1];
      if (injected) {
        expect(status, stdout).toBe(injected);
        expect(JSON.parse(lines.join("\n"))).toMatchObject({ success: false, error: { code: expect.stringMatching(/^CDP_ETL\./) } });
      } else {
        expect(status, stdout).toMatch(/^20[012]$/);
        expect(JSON.parse(lines.join("\n"))).toMatchObject({ success: true });
      }
    },
  );

  it("replays the upsert example on a second send, as the README says", async () => {
    const upsert = commands.find((command) => command.includes("/upsert"));
    expect(upsert).toBeDefined();
    const pointed = (upsert ?? "").replaceAll(README_BASE, env.url).replace(/^curl /, "curl -sS -D - ");
    const { stdout } = await run("bash", ["-c", pointed]);
    expect(stdout.toLowerCase()).toContain("idempotent-replayed: true");
  });
});
