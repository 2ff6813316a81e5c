#!/usr/bin/env node
// `npm start`'s first step: build only when a source is newer than what was built, so a second
// start is ready in about a second instead of rebuilding TypeScript and the dashboard each time.
// Stale means: dist/cli.js or the dashboard's dist/ui/index.html is missing, or a file under src/
// (or a tsconfig) changed after the older of the two was written.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
};

function newestUnder(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : (mtime(path) ?? 0));
  }
  return newest;
}

const built = [mtime(join(root, "dist/cli.js")), mtime(join(root, "dist/ui/index.html"))];
const sources = Math.max(newestUnder(join(root, "src")), ...["tsconfig.json", "tsconfig.build.json"].map((file) => mtime(join(root, file)) ?? 0));
const stale = built.some((time) => time === null) || sources > Math.min(...built);

if (stale || process.argv.includes("--force")) {
  const result = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit", shell: process.platform === "win32" });
  process.exit(result.status ?? 1);
}
