import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Flags this machine's Chromium needs headless, as root, with no network beyond loopback. */
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/**
 * Candidate Chromium executables, in order: the one the user names (CDP_EMULATOR_CHROMIUM, then
 * CHROMIUM_PATH), Debian's /usr/bin/chromium, then the one `npx playwright install chromium` put
 * in playwright's cache.
 */
export function chromiumCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = [env["CDP_EMULATOR_CHROMIUM"], env["CHROMIUM_PATH"], "/usr/bin/chromium"];
  try {
    candidates.push(chromium.executablePath());
  } catch {
    // playwright-core knows no default browser for this platform
  }
  return [...new Set(candidates.filter((path): path is string => typeof path === "string" && path !== ""))];
}

/**
 * Launches the first candidate that starts. Resolves `{ browser }`, or `{ reason }` saying what was
 * tried, so a suite can skip out loud where no browser can run, and fail under CI=true.
 */
export async function launchChromium(candidates: readonly string[] = chromiumCandidates()): Promise<{ browser: Browser } | { reason: string }> {
  const tried: string[] = [];
  for (const executablePath of candidates) {
    if (!existsSync(executablePath)) {
      tried.push(`${executablePath} (not found)`);
      continue;
    }
    try {
      return { browser: await chromium.launch({ executablePath, args: ARGS }) };
    } catch (error) {
      tried.push(`${executablePath} (${(error as Error).message.split("\n")[0]})`);
    }
  }
  return { reason: `no Chromium could be launched; tried ${tried.join("; ")}` };
}

/**
 * For a browser suite: the launched browser, or null after one clear line on stderr saying what
 * is skipped and how to run it. Under CI=true a missing browser throws instead: CI never skips
 * the dashboard silently.
 */
export async function browserOrSkip(
  suite: string,
  options: { env?: NodeJS.ProcessEnv; candidates?: readonly string[]; say?: (line: string) => void } = {},
): Promise<Browser | null> {
  const env = options.env ?? process.env;
  const launched = await launchChromium(options.candidates ?? chromiumCandidates(env));
  if ("browser" in launched) return launched.browser;
  const message = `${suite}: ${launched.reason}. Install one (apt-get install chromium) or point CDP_EMULATOR_CHROMIUM at it, then run npm test again.`;
  if (env["CI"] === "true" || env["CI"] === "1") throw new Error(`${message} (CI=true: a missing browser is a failure)`);
  (options.say ?? ((line) => process.stderr.write(line)))(`SKIPPED ${message}\n`);
  return null;
}
