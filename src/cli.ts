#!/usr/bin/env -S node --max-semi-space-size=2
// The flag: a 2 MB young generation (V8's default is 16 MB) keeps a busy emulator's resident
// memory under 200 MB (docs/performance.md: the journal soak peaks at about 230 MB without it and
// about 194 MB with it, at no throughput cost the soak can see; a few percent in the small-write
// bench). `npm start` and the Docker image pass it too; bench/lib.ts reads it from this line so
// the benches run the emulator as the bin does.
import { Command, Option } from "commander";
import { environmentVariables, resolveConfig, type RawSettings } from "./config.js";
import { createSeedRequestParser, seedGenerated } from "./services/seeding.js";
import { ApiError } from "./domain/errors.js";
import { isLoopbackHost } from "./http/control-guard.js";
import { loadObjectSchemas } from "./services/object-schemas.js";
import { StartupError } from "./domain/startup-error.js";
import { createEmulator, emulatorInternals, PUBLIC_BASE_PATH, readVersion } from "./server.js";
import { createIdFactory } from "./store/ids.js";
import { createStore, type Store } from "./store/store.js";
import type { RunFlags } from "./run/args.js";

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The built-in token of the default configuration: public knowledge, so the ready line may show it. */
const DEV_TOKEN = "dev-token";

function fail(message: string, exitCode = 1): never {
  process.stderr.write(`cdp-emulator: ${message}\n`);
  process.exit(exitCode);
}

async function start(flags: RawSettings): Promise<void> {
  let emulator;
  try {
    const config = resolveConfig(flags, process.env);
    emulator = createEmulator(config);
  } catch (error) {
    if (error instanceof StartupError) fail(error.message, error.exitCode);
    // A path that is a folder, unwritable, or not a database: one line, not a stack.
    if ((error as Error).name === "SqliteError") fail(`cannot open the database: ${(error as Error).message} (check --db)`, 2);
    throw error;
  }
  let address;
  try {
    address = await emulator.start();
  } catch (error) {
    // Nothing listens yet: stop() only releases the database (and its exclusive lock). Should
    // that fail too, the reason start() failed is still the line worth printing.
    await emulator.stop().catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      fail(`port ${emulator.config.port} on ${emulator.config.host} is in use; pick another with --port (0 picks a free one)`);
    }
    if (code === "EACCES") fail(`not allowed to listen on ${emulator.config.host}:${emulator.config.port}`);
    throw error;
  }

  const { config } = emulator;
  if (!isLoopbackHost(config.host) && config.controlToken === null) {
    // One line, before the ready line, so it is the first thing a reader of the logs sees.
    process.stderr.write(
      `cdp-emulator: WARNING: listening on ${config.host} with no control token: the control plane (${address.url}/_emulator: wipe data, switch faults on, mint tokens, read records) is open to anyone who can reach port ${address.port}; close it with --control-token <secret> (or CDP_EMULATOR_CONTROL_TOKEN), or listen on loopback only with --host 127.0.0.1\n`,
    );
  }
  // Only the well-known dev-token is printed: any other token is the user's secret, and logs of
  // CI runs and containers are widely readable.
  const shownTokens = [...new Set(config.tokens.map((token) => (token.token === DEV_TOKEN ? DEV_TOKEN : "<configured>")))].join(", ");
  const controlNote = config.controlToken === null ? "" : ", control token <configured>";
  process.stdout.write(
    `cdp-emulator ${readVersion()} ready at ${address.url} (API ${address.url}${PUBLIC_BASE_PATH}, control ${address.url}/_emulator, dashboard ${address.url}/_emulator/ui/, token ${shownTokens}${controlNote}, db ${config.db})\n`,
  );

  const { logger } = emulatorInternals(emulator);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`cdp-emulator: ${signal} again, exiting without waiting\n`);
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight requests");
    emulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

interface SeedFlags {
  object?: string;
  count?: string;
  seed?: string;
  workspace?: string;
  db?: string;
  schemas?: string;
}

/** A flag that must be a whole number stays text unless it is one, so the check can quote it as typed. */
const wholeNumber = (value: string | undefined): number | string | undefined => (value !== undefined && /^\d+$/.test(value) ? Number(value) : value);

/** `cdp-emulator seed`: generated records straight into the database file, no server needed. */
async function seed(flags: SeedFlags): Promise<void> {
  const startedAt = performance.now();
  let config;
  let objects;
  let request;
  try {
    // The same --db and --schemas (and their environment variables and defaults) as start.
    if (flags.object === undefined && flags.count === undefined) {
      fail("seed needs --object and --count, e.g. cdp-emulator seed --object profiles --count 1000 (see cdp-emulator seed --help)", 2);
    }
    config = resolveConfig({ db: flags.db, schemas: flags.schemas }, process.env);
    objects = loadObjectSchemas(config.schemasDir, config.collisionPolicies);
    // The object first: a wrong name is the likelier mistake, and the list is the fix.
    if (flags.object !== undefined && !objects.has(flags.object)) {
      fail(`--object "${flags.object}" is not an object of the schemas; objects: ${[...objects.keys()].sort().join(", ")}`, 2);
    }
    request = createSeedRequestParser(objects)({
      object: flags.object,
      count: wholeNumber(flags.count),
      seed: wholeNumber(flags.seed),
      workspace: flags.workspace,
    });
  } catch (error) {
    if (error instanceof StartupError && error.problem !== "database-in-use") fail(error.message, error.exitCode);
    if (error instanceof ApiError && error.kind === "NOT_FOUND") fail(`--object ${error.message}`, 2);
    // "count: must be …" reads as the flag: "--count must be …".
    if (error instanceof ApiError) fail(error.message.replace(/^(\w+): /, "--$1 "), 2);
    throw error;
  }
  let store: Store;
  try {
    store = createStore(config.db);
  } catch (error) {
    if (error instanceof StartupError) fail(`${error.message}; or seed the running emulator with POST /_emulator/seed`, error.exitCode);
    if ((error as Error).name === "SqliteError") fail(`cannot open the database: ${(error as Error).message} (check --db)`, 2);
    throw error;
  }
  let result;
  try {
    const now = Date.now();
    // One timestamp for the whole run: the ids still increase, and no fresh randomness per millisecond.
    const ids = createIdFactory();
    result = await seedGenerated({ store, objects, newRecordId: () => ids.newRecordId(now) }, { ...request, now });
  } catch (error) {
    store.close(); // before exiting: fail() does not come back to run a finally
    if (error instanceof ApiError) fail(error.message, 2);
    throw error;
  }
  store.close();
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  process.stdout.write(
    `seeded ${result.count} ${result.object} into workspace ${result.workspace} (seed ${result.seed}, db ${config.db}) in ${seconds} s\n`,
  );
}

export function buildProgram(): Command {
  const program = new Command("cdp-emulator")
    .description("A faithful local emulator of the CDP Records API")
    .version(readVersion());
  const env = environmentVariables;
  program
    .command("start", { isDefault: true })
    .description("start the emulator and serve the API until SIGTERM or SIGINT")
    .addOption(new Option("--host <host>", `interface to listen on (default 127.0.0.1; ${env.host})`))
    .addOption(new Option("--port <port>", `port; 0 picks a free one (default 4010; ${env.port})`))
    .addOption(new Option("--db <file>", `SQLite file, or :memory: (default .cdp-emulator/cdp.sqlite; ${env.db})`))
    .addOption(new Option("--schemas <dir>", `folder of object schema files (default: the bundled ones; ${env.schemas})`))
    .addOption(
      new Option(
        "--token <token>",
        `bearer token, token@workspace, or a JSON token object; repeatable (default dev-token; ${env.token}, comma-separated)`,
      ).argParser(collect),
    )
    .addOption(new Option("--log-level <level>", `fatal, error, warn, info, debug, trace or silent (default info; ${env.logLevel})`))
    .addOption(new Option("--latency <ms>", `simulated processing time per write (default 0; ${env.latency})`))
    .addOption(
      new Option(
        "--collision-policy <object=policy>",
        `identity collision policy per object: record, merge or reject; repeatable (${env.collisionPolicy})`,
      ).argParser(collect),
    )
    .addOption(new Option("--single-rate <limit/seconds>", `single-write quota per token, e.g. 1000/1 (default; ${env.singleRate})`))
    .addOption(new Option("--batch-rate <limit/seconds>", `batch-request quota per token, e.g. 100/1 (default; ${env.batchRate})`))
    .addOption(new Option("--journal-size <n>", `public requests the journal keeps, 1 to 100000 (default 10000; ${env.journalSize})`))
    .addOption(
      new Option(
        "--journal-max-bytes <size>",
        `bytes the journal may hold, oldest evicted first: a number or 64mb, 512kb; 1mb to 1gb (default 32mb; ${env.journalMaxBytes})`,
      ),
    )
    .addOption(new Option("--scenarios <dir>", `folder of scenario files (default: the bundled ones; ${env.scenarios})`))
    .addOption(new Option("--scenario <name|file>", `load a scenario at start (${env.scenario})`))
    .addOption(new Option("--seed-data <file>", `NDJSON records to load at start, as export writes them (${env.seedData})`))
    .addOption(
      new Option(
        "--allowed-host <name>",
        `another Host name the control plane answers to besides loopback and the listening address, e.g. a compose service name; repeatable (${env.allowedHost}, comma-separated)`,
      ).argParser(collect),
    )
    .addOption(
      new Option(
        "--control-token <secret>",
        `require "Authorization: Bearer <secret>" on every /_emulator request but health; 16+ characters, never printed (${env.controlToken})`,
      ),
    )
    .action(async (flags: RawSettings) => {
      await start(flags);
    });
  program
    .command("seed")
    .description("write generated, realistic records into the database (the emulator must not be running on it)")
    .addOption(new Option("--object <name>", "object to seed, e.g. profiles"))
    .addOption(new Option("--count <n>", "how many records, 1 to 1000000"))
    .addOption(new Option("--seed <n>", "seed for repeatable data (default: random, printed)"))
    .addOption(new Option("--workspace <name>", "workspace, created if missing (default default)"))
    .addOption(new Option("--db <file>", `SQLite file (default .cdp-emulator/cdp.sqlite; ${env.db})`))
    .addOption(new Option("--schemas <dir>", `folder of object schema files (default: the bundled ones; ${env.schemas})`))
    .action(async (flags: SeedFlags) => {
      await seed(flags);
    });
  program
    .command("verify")
    .description("verify Pact files against a fresh emulator, with the emulator's provider states; exit 1 on any mismatch")
    .addOption(new Option("--pact <file-or-dir>", "a pact file or a folder of them; repeatable").argParser(collect))
    .addOption(new Option("--token <token>", "a bearer token to accept besides those the pacts send; repeatable").argParser(collect))
    .addOption(new Option("--schemas <dir>", "folder of object schema files (default: the bundled ones)"))
    .addOption(new Option("--log-level <level>", "Pact's log level: error, warn, info, debug or trace (default warn)"))
    .action(async (flags: VerifyFlags) => {
      await verify(flags);
    });
  program
    .command("run")
    .description(
      "run a command under each chaos scenario, each in a fresh workspace, then audit its retries and check its data; exit 1 on any failure",
    )
    .usage("[options] -- <command> [args...]")
    .addOption(new Option("--scenario <name|file>", "a scenario to run under; repeatable (default: every scenario)").argParser(collect))
    .addOption(new Option("--url <url>", "a running emulator's root to use (default: start one in memory on a free port)"))
    .addOption(new Option("--junit <file>", "write JUnit XML: a testsuite per scenario, a testcase per rule"))
    .addOption(new Option("--json <file>", "write the per-scenario reports as JSON"))
    .addOption(new Option("--timeout <seconds>", "kill the command after this long, per scenario, and count it failed (default 300)"))
    .argument("[command...]", "the command to run, after --, without a shell")
    // Usage mistakes exit 2, as the other commands' do; help still exits 0.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (command: string[], flags: RunFlags) => {
      await run(flags, command);
    });
  return program;
}

async function run(flags: RunFlags, command: string[]): Promise<void> {
  // Loaded only for this command, as verify's Pact is.
  const { certifyCommandLine } = await import("./run/main.js");
  let exitCode: number;
  try {
    exitCode = await certifyCommandLine(flags, command);
  } catch (error) {
    if (error instanceof StartupError) fail(error.message, error.exitCode);
    fail(`run failed: ${(error as Error).message}`, 1);
  }
  process.exit(exitCode);
}

interface VerifyFlags {
  pact?: string[];
  token?: string[];
  schemas?: string;
  logLevel?: string;
}

const PACT_LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;

async function verify(flags: VerifyFlags): Promise<void> {
  if (!flags.pact?.length) fail("verify needs --pact <file-or-dir>", 2);
  const logLevel = flags.logLevel ?? "warn";
  if (!(PACT_LOG_LEVELS as readonly string[]).includes(logLevel)) fail(`--log-level must be one of ${PACT_LOG_LEVELS.join(", ")}`, 2);
  // Loaded only for this command: the emulator itself must not need Pact installed.
  const { verifyPacts } = await import("./contract/verify.js");
  try {
    const summary = await verifyPacts({
      pacts: flags.pact,
      ...(flags.token ? { tokens: flags.token } : {}),
      ...(flags.schemas ? { schemasDir: flags.schemas } : {}),
      logLevel: logLevel as (typeof PACT_LOG_LEVELS)[number],
    });
    process.stdout.write(
      `cdp-emulator: verified ${summary.interactions} interaction${summary.interactions === 1 ? "" : "s"} in ${summary.files.length} pact file${summary.files.length === 1 ? "" : "s"}\n`,
    );
  } catch (error) {
    if (error instanceof StartupError) fail(error.message, error.exitCode);
    fail(`verification failed: ${(error as Error).message}`, 1);
  }
}

/**
 * `start` is the default command, so commander would read `cdp-emulator frobnicate` as start with
 * an extra argument ("too many arguments for 'start'"): name the real mistake instead.
 */
function refuseUnknownCommand(program: Command, argv: readonly string[]): void {
  const first = argv[2];
  if (first === undefined || first.startsWith("-")) return;
  const known = new Set(["help", ...program.commands.flatMap((command) => [command.name(), ...command.aliases()])]);
  if (known.has(first)) return;
  const list = program.commands.map((command) => (command.name() === "start" ? "start (the default)" : command.name())).join(", ");
  fail(`unknown command '${first}'; commands: ${list} (see cdp-emulator --help)`, 2);
}

const program = buildProgram();
refuseUnknownCommand(program, process.argv);
program
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`cdp-emulator: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
