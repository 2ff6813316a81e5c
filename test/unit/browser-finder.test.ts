import { describe, expect, it } from "vitest";
import { browserOrSkip, chromiumCandidates } from "../helpers/browser.js";

describe("the browser suite's Chromium finder", () => {
  it("tries the named browser first, then Debian's, then playwright's own", () => {
    const candidates = chromiumCandidates({ CDP_EMULATOR_CHROMIUM: "/opt/a/chrome", CHROMIUM_PATH: "/opt/b/chrome" });
    expect(candidates.slice(0, 3)).toEqual(["/opt/a/chrome", "/opt/b/chrome", "/usr/bin/chromium"]);
    expect(candidates.length).toBeGreaterThanOrEqual(3);
  });

  it("skips out loud, naming what it tried and how to run it, where no browser launches", async () => {
    const lines: string[] = [];
    const browser = await browserOrSkip("the e2e suite", { env: {}, candidates: ["/nope/chrome"], say: (line) => lines.push(line) });
    expect(browser).toBeNull();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^SKIPPED the e2e suite: no Chromium could be launched; tried \/nope\/chrome \(not found\)\. Install one .* CDP_EMULATOR_CHROMIUM/);
  });

  it.each(["true", "1"])("fails instead of skipping under CI=%s", async (ci) => {
    await expect(browserOrSkip("the e2e suite", { env: { CI: ci }, candidates: ["/nope/chrome"], say: () => undefined })).rejects.toThrow(
      /CI=true: a missing browser is a failure/,
    );
  });

  it("reports a browser that exists but cannot start", async () => {
    const lines: string[] = [];
    // /bin/true exists and exits at once: playwright cannot connect to it.
    expect(await browserOrSkip("the e2e suite", { env: {}, candidates: ["/bin/true"], say: (line) => lines.push(line) })).toBeNull();
    expect(lines[0]).toMatch(/tried \/bin\/true \(/);
  });
});
