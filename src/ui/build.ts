import { copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));

export interface UiBuildOptions {
  /** Where index.html, app.js and styles.css go (emptied first). */
  outDir: string;
  minify?: boolean;
}

export interface UiBuildResult {
  outDir: string;
  /** Bytes per file written, for the size check in the README. */
  bytes: Record<string, number>;
}

/**
 * Bundles the dashboard (src/ui/app, Preact) into static files the emulator serves at
 * /_emulator/ui: one script, one stylesheet, one page, nothing fetched from elsewhere.
 */
export async function buildUi(options: UiBuildOptions): Promise<UiBuildResult> {
  const { outDir, minify = true } = options;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(here, "app", "main.tsx")],
    outfile: join(outDir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify,
    sourcemap: false,
    jsx: "automatic",
    jsxImportSource: "preact",
    tsconfig: join(here, "tsconfig.json"),
    legalComments: "none",
    logLevel: "warning",
  });
  copyFileSync(join(here, "index.html"), join(outDir, "index.html"));
  copyFileSync(join(here, "styles.css"), join(outDir, "styles.css"));
  const bytes: Record<string, number> = {};
  for (const file of ["index.html", "app.js", "styles.css"]) bytes[file] = statSync(join(outDir, file)).size;
  return { outDir, bytes };
}

// `tsx src/ui/build.ts [outDir]` (npm run build): the package's dist/ui by default.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = process.argv[2] ?? join(here, "..", "..", "dist", "ui");
  const { bytes } = await buildUi({ outDir });
  console.log(`dashboard → ${outDir} (${Object.entries(bytes).map(([file, size]) => `${file} ${(size / 1024).toFixed(1)} KB`).join(", ")})`);
}
