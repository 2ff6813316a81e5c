/**
 * Seeding throughput: 100,000 generated profiles into a fresh SQLite file, through the same code
 * `cdp-emulator seed` and POST /_emulator/seed run (seedGenerated: faker generation, validation,
 * identity resolution, one transaction).
 *
 * Acceptance target: 100,000 profiles in under 10 s on the 2-core build machine.
 *
 *   npm run bench:seed                   # 100,000 profiles, seed 42
 *   npm run bench:seed -- 250000         # N from argv: 250000, --n 250000, --n=250000 or -n 250000
 *   BENCH_N=20000 npm run bench:seed     # or from the environment (argv wins)
 *   BENCH_OBJECT=events npm run bench:seed
 *
 * It prints the total, and the same records generated alone (no database) so the two costs can
 * be told apart. The database is a WAL file in a fresh temporary directory, removed at the end.
 *
 * Exit code: 0 whatever the figure (this is a benchmark, not a test); 1 if seeding failed or the
 * arguments were invalid.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monotonicFactory } from "ulid";
import { bundledSchemasDir } from "../src/config.js";
import { seedGenerated } from "../src/services/seeding.js";
import { loadObjectSchemas } from "../src/services/object-schemas.js";
import { generateRecordStream } from "../src/seed/generate.js";
import { createStore } from "../src/store/store.js";
import { countFromArgs, machineLine, runBench } from "./lib.js";

const TARGET_S = 10;
const SEED = 42;

async function main(): Promise<number> {
  const count = countFromArgs({ usage: "npm run bench:seed -- [N | --n N]", fallback: 100_000, max: 1_000_000 });
  const objectName = process.env["BENCH_OBJECT"] ?? "profiles";
  const objects = loadObjectSchemas(bundledSchemasDir());
  const object = objects.get(objectName);
  if (!object) throw new Error(`BENCH_OBJECT: no object "${objectName}" (objects: ${[...objects.keys()].join(", ")})`);
  console.log(`seed: ${count} ${objectName}, seed ${SEED}, one transaction, WAL file in a temporary directory`);
  console.log(`${machineLine()}\n`);

  const dir = mkdtempSync(join(tmpdir(), "cdp-emulator-bench-seed-"));
  try {
    const store = createStore(join(dir, "cdp.sqlite"));
    const nextUlid = monotonicFactory();
    const now = Date.now();
    const started = performance.now();
    // Record ids as `cdp-emulator seed` makes them: one timestamp, monotonic.
    const result = await seedGenerated(
      { store, objects, newRecordId: () => `rec_${nextUlid(now)}` },
      { object, workspace: "default", count, seed: SEED, now },
    );
    const totalS = (performance.now() - started) / 1000;
    store.close();

    // The same records again, generated only: what the write path costs is the difference.
    const generationStarted = performance.now();
    let generated = 0;
    for (const record of generateRecordStream({ object, count, seed: SEED })) if (record) generated += 1;
    const generationS = (performance.now() - generationStarted) / 1000;

    const rate = Math.round(count / totalS);
    console.log(`generate + write   ${totalS.toFixed(2)} s   ${rate} rows/s   (${result.inserted} inserted, ${result.merged} merged)`);
    console.log(`generate only      ${generationS.toFixed(2)} s   (${generated} records)`);
    console.log(`write path (diff)  ${(totalS - generationS).toFixed(2)} s\n`);
    if (count === 100_000 && objectName === "profiles") {
      console.log(`seed 100,000 profiles: ${totalS.toFixed(2)} s (target < ${TARGET_S} s): ${totalS < TARGET_S ? "PASS" : "FAIL"}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}

runBench(main);
