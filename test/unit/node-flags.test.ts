import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const flagsOf = (command: string): string[] => command.split(/\s+/).filter((part) => part.startsWith("--max-") || part.startsWith("--optimize"));

describe("the emulator's Node flags", () => {
  it("are the same for the installed bin, npm start and the Docker image", () => {
    const shebang = read("src/cli.ts").split("\n", 1)[0] ?? "";
    expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node /);
    const bin = flagsOf(shebang);
    expect(bin).toEqual(["--max-semi-space-size=2"]);
    const start = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts["start"] ?? "";
    expect(flagsOf(start)).toEqual(bin);
    const cmd = /^CMD (\[.*\])$/m.exec(read("Dockerfile"))?.[1] ?? "[]";
    expect(flagsOf((JSON.parse(cmd) as string[]).join(" "))).toEqual(bin);
  });
});
