import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

const srcFolders = ["api", "chaos", "client", "contract", "control", "domain", "http", "run", "runtime", "seed", "services", "store", "testing", "ui"];
const topFiles = ["cli", "config", "index", "server"];

/**
 * Lint for one folder of src/: it may import the folders in `allowed`, only types from the ones
 * in `typesOnly`, and nothing else of src/ (sibling files in the folder itself are always fine).
 */
function layer(folder, allowed, typesOnly) {
  const name = folder.slice("src/".length);
  const others = (list) => list.filter((other) => other !== name);
  const forbidden = others(srcFolders).filter((other) => !allowed.includes(other) && !typesOnly.includes(other));
  const forbiddenTop = topFiles.filter((file) => !allowed.includes(file) && !typesOnly.includes(file));
  const message = `${folder} may import ${allowed.length ? allowed.join(", ") : "nothing else of src/"}${typesOnly.length ? ` (types only from ${typesOnly.join(", ")})` : ""}; see ARCHITECTURE.md.`;
  const patterns = [
    { group: [...forbidden.map((other) => `../${other}/*`), ...forbiddenTop.map((file) => `../${file}.js`)], message },
  ];
  const typePatterns = typesOnly.map((other) => ({
    group: topFiles.includes(other) ? [`../${other}.js`] : [`../${other}/*`],
    allowTypeImports: true,
    message,
  }));
  return [
    {
      files: [`${folder}/**/*.ts`],
      rules: { "no-restricted-imports": ["error", { patterns: [...patterns, ...typePatterns] }] },
    },
  ];
}

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", ".cdp-emulator/", "test-results/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      // Express tells error handlers by their four parameters, so an unused `_next` must stay.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        { selector: "ExportDefaultDeclaration", message: "Use named exports." },
      ],
    },
  },
  {
    // Time is read through the injected clock so tests can freeze and advance it.
    files: ["src/domain/**/*.ts", "src/store/**/*.ts", "src/api/**/*.ts", "src/services/**/*.ts", "src/control/**/*.ts", "src/http/**/*.ts", "src/runtime/journal*.ts", "src/runtime/rate-limiter.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "Read time from the injected Clock." },
      ],
    },
  },
  // The arrows of ARCHITECTURE.md, one block per folder: adapters (api, control, http) -> services ->
  // domain, store, runtime, chaos, seed; domain imports nothing. A lower layer's types may be named
  // by an adapter that is handed an instance (`import type`), but its code is reached through services.
  ...layer("src/domain", [], []),
  ...layer("src/store", ["domain"], []),
  ...layer("src/runtime", ["domain"], []),
  ...layer("src/seed", ["domain"], []),
  ...layer("src/chaos", ["domain", "runtime"], []),
  ...layer("src/services", ["domain", "store", "runtime", "chaos", "seed"], ["config"]),
  ...layer("src/http", ["domain", "services"], ["store", "runtime", "chaos", "config"]),
  ...layer("src/api", ["domain", "services", "http"], ["store", "runtime", "chaos"]),
  ...layer("src/control", ["domain", "services", "http"], ["store", "runtime", "chaos", "config"]),
  // Outside the layers: the published test harness and the Pact provider may use the server.
  ...layer("src/testing", ["domain", "server"], ["services"]),
  ...layer("src/contract", ["config", "domain", "server", "testing"], []),
  // `cdp-emulator run` drives an emulator through its control plane, as any outside program would.
  ...layer("src/run", ["config", "domain", "server", "testing"], []),
  {
    // The ControlClient talks HTTP to an emulator anywhere: of the emulator it names types only.
    files: ["src/testing/control-client.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["../*"], allowTypeImports: true, message: "control-client.ts imports only types of the emulator." }] },
      ],
    },
  },
  {
    // The dashboard is browser code that talks to /_emulator over HTTP: of the server it may
    // import only the shared words and shapes in domain/ (types and constants, no Node).
    files: ["src/ui/app/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../../*", "!../../domain", "../../domain/*", "!../../domain/vocabulary.js", "!../../domain/control-plane.js", "!../../domain/envelope.js"],
              message: "src/ui/app may import only domain/vocabulary.js, domain/control-plane.js and domain/envelope.js of the server.",
            },
          ],
        },
      ],
    },
  },
  {
    // The client ships to applications that talk to the real API: it may import only itself.
    files: ["src/client/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["../*", "!./*"], message: "src/client imports nothing of the emulator." }] },
      ],
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off" },
  },
  {
    files: ["eslint.config.js", "vitest.config.ts"],
    rules: { "no-restricted-syntax": "off" },
  },
);
