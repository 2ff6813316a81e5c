import { configDefaults, defineConfig } from "vitest/config";

/**
 * One `vitest run` for everything, so one failing suite never hides another. The Pact provider
 * verification is its own project, run after the rest: it replays the pacts the consumer tests
 * (in the first project) write to pacts/.
 */
export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: "emulator",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/contract/provider/**"],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "pact-provider",
          include: ["test/contract/provider/**/*.test.ts"],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
