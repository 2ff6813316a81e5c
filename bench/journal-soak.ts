/**
 * Memory soak (issue 12, "Bounded memory"): the emulator as the built CLI, every default but a
 * temporary database, a free port, `--log-level warn` and a single-write quota raised so no write
 * is a 429, takes 30,000 upserts of about 16 KB at full speed. Its RSS is sampled from
 * /proc/<pid>/status every 100 ms; the script prints the peak, the idle RSS after start and after
 * the load, the throughput and the journal's entry count at the end. Targets: peak ≤ 200 MB,
 * idle (after start) ≤ 90 MB. Exit code 1 only when the emulator failed (did not start, or answered a write
 * with anything but 200); missing a target is reported, not fatal, like the other benchmarks.
 *
 *   npx tsx bench/journal-soak.ts            (builds first: npm run build --silent)
 *   npm run bench:soak
 *   SOAK_WRITES=30000 SOAK_BYTES=16000 SOAK_CONNECTIONS=32 SOAK_OBJECT=profiles|events SOAK_NO_BUILD=1
 *   SOAK_ARGS="--journal-max-bytes 1mb"      (extra flags for the emulator, to compare)
 *   NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=128"   (reaches the emulator too)
 *
 * What a "16 KB upsert" is: no field of `profiles` takes 16 KB (the longest, email, takes 320
 * characters; the rest 256 or less, and additionalProperties is false). So a profiles write fills
 * every non-identity string field to its maxLength (about 1.7 KB of record) and pads the JSON
 * with insignificant whitespace to SOAK_BYTES: 16 KB on the wire and in the journal, 1.7 KB in
 * the row. SOAK_OBJECT=events puts the bulk in an event's free-form `properties` object instead,
 * so the whole 16 KB is parsed, validated and stored as well.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { cliNodeFlags, fixed, median, refuseArgs, rssMb, spawnServer, waitForHealthy, CLI, JSON_HEADERS } from "./lib.js";

const WRITES = Number(process.env["SOAK_WRITES"] ?? 30_000);
const BODY_BYTES = Number(process.env["SOAK_BYTES"] ?? 16_000);
const CONNECTIONS = Number(process.env["SOAK_CONNECTIONS"] ?? 32);
const OBJECT = process.env["SOAK_OBJECT"] ?? "profiles";
const EXTRA_ARGS = (process.env["SOAK_ARGS"] ?? "").split(/\s+/).filter((arg) => arg !== "");
const SAMPLE_EVERY_MS = 100;
const IDLE_SETTLE_MS = 10_000;
const TARGETS = { peakRssMb: 200, idleRssMb: 90 };

if (!["profiles", "events"].includes(OBJECT)) throw new Error(`SOAK_OBJECT must be profiles or events (got ${OBJECT})`);

/** The body of write `index`: its own identity value, about BODY_BYTES long. */
function upsertBody(index: number): string {
  if (OBJECT === "events") {
    const event = {
      record: {
        event_id: `soak-${index}`,
        event: "page_view",
        occurred_at: "2026-04-21T15:30:00Z",
        properties: { notes: "" },
      },
    };
    const bare = JSON.stringify(event).length;
    event.record.properties.notes = "n".repeat(Math.max(0, BODY_BYTES - bare));
    return JSON.stringify(event);
  }
  const text = (length: number): string => "x".repeat(length);
  const record = {
    email: `soak${index}@bench.example.com`,
    first_name: text(256),
    last_name: text(256),
    tier: text(64),
    signup_source: text(256),
    subscription_status: text(64),
    subscription_plan: text(256),
    city: text(256),
    country: text(64),
    marketing_opt_in: true,
    lifetime_value: 123.45,
    last_seen_at: "2026-04-21T15:30:00Z",
  };
  const json = JSON.stringify({ record });
  // Whitespace before the closing brace: still one valid JSON object, BODY_BYTES long.
  return `${json.slice(0, -1)}${" ".repeat(Math.max(0, BODY_BYTES - json.length))}}`;
}

/** Samples RSS every SAMPLE_EVERY_MS; `window()` gives the samples since the last call. */
function rssSampler(pid: number): { peak(): number; window(): number[]; stop(): void } {
  let peak = 0;
  let samples: number[] = [];
  const sample = (): void => {
    try {
      const rss = rssMb(pid);
      if (!Number.isFinite(rss)) return;
      peak = Math.max(peak, rss);
      samples.push(rss);
    } catch {
      // The process ended between samples.
    }
  };
  sample();
  const timer = setInterval(sample, SAMPLE_EVERY_MS);
  return {
    peak: () => peak,
    window: () => {
      const taken = samples;
      samples = [];
      return taken;
    },
    stop: () => clearInterval(timer),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
  refuseArgs("npm run bench:soak (its settings are the SOAK_* variables)");
  if (process.env["SOAK_NO_BUILD"] !== "1") {
    const build = spawnSync("npm", ["run", "build", "--silent"], { stdio: "inherit" });
    if (build.status !== 0) throw new Error("npm run build failed");
  }
  const dir = mkdtempSync(join(tmpdir(), "cdp-emulator-soak-"));
  const server = await spawnServer({
    args: [...cliNodeFlags(), CLI, "start", "--host", "127.0.0.1", "--port", "0", "--db", join(dir, "soak.sqlite"), "--log-level", "warn", "--single-rate", "1000000000/1", ...EXTRA_ARGS],
    pattern: /ready at http:\/\/127\.0\.0\.1:(\d+)/,
  });
  const pid = server.child.pid;
  if (pid === undefined) throw new Error("the emulator has no pid");
  const rss = rssSampler(pid);
  try {
    await waitForHealthy(server.url);
    rss.window();
    await sleep(1000);
    const idleAfterStart = median(rss.window());

    const started = performance.now();
    let counter = 0;
    const result = await autocannon({
      url: `${server.url}/public/v1/records/${OBJECT}/upsert`,
      connections: CONNECTIONS,
      amount: WRITES,
      requests: [
        {
          method: "POST",
          setupRequest: (request) => ({ ...request, headers: JSON_HEADERS, body: upsertBody(counter++) }),
        },
      ],
    });
    const seconds = (performance.now() - started) / 1000;
    const duringLoad = rss.window();
    const peakDuringLoad = Math.max(...duringLoad);

    await sleep(IDLE_SETTLE_MS);
    const afterLoad = rss.window();
    const idleAfterLoad = median(afterLoad.slice(-10));
    const count = (await (await fetch(`${server.url}/_emulator/journal/count`)).json()) as { data: { count: number } };
    const bad = result.non2xx + result.errors + result.timeouts;
    const peak = rss.peak();

    const verdict = (value: number, target: number): string => (value <= target ? "met" : "MISSED");
    const lines = [
      `journal soak: ${result.requests.total} upserts of ${OBJECT}, ${BODY_BYTES} bytes each, ${CONNECTIONS} connections${EXTRA_ARGS.length > 0 ? `, emulator flags ${EXTRA_ARGS.join(" ")}` : ""}`,
      `  peak RSS              ${fixed(peak)} MB (during the load ${fixed(peakDuringLoad)} MB; target ≤ ${TARGETS.peakRssMb}: ${verdict(peak, TARGETS.peakRssMb)})`,
      `  idle RSS after start  ${fixed(idleAfterStart)} MB (target ≤ ${TARGETS.idleRssMb}: ${verdict(idleAfterStart, TARGETS.idleRssMb)})`,
      // No target: a full journal holds its budget, and V8 and malloc keep much of what they grew.
      `  idle RSS after load   ${fixed(idleAfterLoad)} MB, ${IDLE_SETTLE_MS / 1000} s later`,
      `  throughput            ${fixed(result.requests.total / seconds, 0)} req/s (${fixed(seconds)} s)`,
      `  journal entries       ${count.data.count} at the end`,
      `  failures              ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    return bad > 0 || result.requests.total < WRITES ? 1 : 0;
  } finally {
    rss.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
