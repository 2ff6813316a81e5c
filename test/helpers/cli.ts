import type { ChildProcess } from "node:child_process";

/** The line the CLI's `start` prints once it serves: `cdp-emulator <version> ready at <url> (…)`. */
export const READY_LINE = /^cdp-emulator \S+ ready at (http:\/\/\S+) /m;

export interface WatchedCli {
  /** The URL of the ready line; rejects if the process exits first or `timeoutMs` passes. */
  ready: Promise<string>;
  /** Settles with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
}

/**
 * Watches a started emulator process (the CLI, the installed bin, `npm start`) for its ready line:
 * the one way every test that starts the real command line waits for it.
 */
export function watchCli(child: ChildProcess, options: { timeoutMs?: number; pattern?: RegExp } = {}): WatchedCli {
  const pattern = options.pattern ?? READY_LINE;
  const timeoutMs = options.timeoutMs ?? 15_000;
  let output = "";
  const exited = new Promise<number | null>((settle) => child.once("exit", (code) => settle(code)));
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${timeoutMs / 1000} s; output: ${output}`)), timeoutMs);
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before the ready line; output: ${output}`));
    });
  });
  // A caller that never awaits `ready` (it only wanted `exited`) must not see an unhandled rejection.
  ready.catch(() => undefined);
  return { ready, exited, output: () => output };
}
