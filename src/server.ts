import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import express, { type Express } from "express";
import { destination as logDestinationTo, pino, type Logger } from "pino";
import { createJobOperations } from "./api/jobs.js";
import { createMetadataOperations } from "./api/metadata.js";
import { createRecordOperations } from "./api/records.js";
import { EmulatorClock } from "./runtime/clock.js";
import { checkControlToken, defaultConfig, type Config, type LogLevel } from "./config.js";
import { EventStream } from "./control/events.js";
import { createControlRoutes } from "./control/routes.js";
import { ScenarioRunner, type ScenarioApplied } from "./services/scenario-runner.js";
import { dashboard } from "./control/dashboard.js";
import { IdempotencyGuard, IdempotencyPruner } from "./http/idempotency.js";
import { createListener } from "./http/listener.js";
import { controlGuard, type ControlGuardOptions } from "./http/control-guard.js";
import { errorEnvelope } from "./http/error-envelope.js";
import { createPublicPipeline } from "./http/pipeline.js";
import { rootSignpost, unknownEndpoint } from "./http/root.js";
import { JobWorker } from "./services/job-worker.js";
import { faultDelayMs, faultError, FaultRules, parseFaultHeader } from "./chaos/faults.js";
import { Journal } from "./runtime/journal.js";
import { RateLimiter } from "./runtime/rate-limiter.js";
import { ScenarioCatalogue } from "./chaos/scenarios.js";
import { loadStartupData, syncConfiguredTokens } from "./services/bootstrap.js";
import { loadObjectSchemas } from "./services/object-schemas.js";
import { createIdFactory } from "./store/ids.js";
import { createStore, type Store } from "./store/store.js";

export { resolveConfig, type Config } from "./config.js";
export { StartupError, type StartupProblem } from "./domain/startup-error.js";
export { EmulatorClock, type Clock } from "./runtime/clock.js";
export type { ScenarioApplied } from "./services/scenario-runner.js";

export interface EmulatorOptions extends Partial<Config> {
  /** Inject a clock to freeze or advance emulator time from a test. */
  clock?: EmulatorClock;
  logger?: Logger;
  /** The dashboard's built files (index.html and its bundle); default the package's dist/ui. */
  uiDir?: string;
}

/**
 * What a user of the package needs: start and stop it, its URL, its clock and Express app, and
 * scenarios from code. Everything else is reached through the control plane (ControlClient).
 */
export interface Emulator {
  readonly app: Express;
  /**
   * The configuration as resolved, defaults filled in. Public on purpose: the published
   * startEmulator reads the tokens (to hand out one with every scope) and the control token (for
   * its ControlClient) from it, and a caller that passed a few options can see what the rest are.
   * Read-only: it is read once, when the emulator is created.
   */
  readonly config: Readonly<Config>;
  readonly clock: EmulatorClock;
  /** Applies a scenario by name, as POST /_emulator/scenarios/{name} does; throws ApiError NOT_FOUND for an unknown name. */
  applyScenario(name: string): ScenarioApplied;
  /** Base URL once listening (`http://host:port`), else undefined. */
  readonly url: string | undefined;
  start(): Promise<{ url: string; port: number }>;
  /**
   * Stops accepting, lets in-flight requests finish, closes the database. Also the way to release
   * the database of an emulator that was never started, or whose start() failed.
   */
  stop(): Promise<void>;
}

/**
 * The parts behind the public surface, for the CLI (its logger) and this project's own tests
 * (what no control-plane call can show, such as whether the database is closed). Internal:
 * src/index.ts does not export it.
 */
export interface EmulatorInternals {
  readonly store: Store;
  readonly journal: Journal;
  readonly logger: Logger;
}

const internalsOf = new WeakMap<Emulator, EmulatorInternals>();

/** Internal to the CLI and the tests; see EmulatorInternals. */
export function emulatorInternals(emulator: Emulator): EmulatorInternals {
  const internals = internalsOf.get(emulator);
  if (!internals) throw new Error("emulatorInternals() takes an emulator made by createEmulator()");
  return internals;
}

export const PUBLIC_BASE_PATH = "/public/v1";
export const CONTROL_BASE_PATH = "/_emulator";

export function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

/** The composition root: every part is built and wired here, and nothing else holds state. */
export function createEmulator(options: EmulatorOptions = {}): Emulator {
  const { clock: injectedClock, logger: injectedLogger, uiDir, ...overrides } = options;
  const config: Config = { ...defaultConfig(), ...overrides };
  const clock = injectedClock ?? new EmulatorClock();
  const { logger, flush: flushLogs } = injectedLogger ? { logger: injectedLogger, flush: () => undefined } : createLogger(config.logLevel);
  const version = readVersion();

  // Checked here too, before anything is opened: code may hand createEmulator a token directly.
  const guard: ControlGuardOptions = {
    listenHost: config.host,
    allowedHosts: config.allowedHosts,
    controlToken: config.controlToken === null ? null : checkControlToken(config.controlToken),
  };

  const objects = loadObjectSchemas(config.schemasDir, config.collisionPolicies);
  // Every scenario file is checked before the database is opened, and so is --scenario.
  const catalogue = ScenarioCatalogue.load(config.scenariosDir);
  const startScenario = config.scenario === null ? null : catalogue.resolve(config.scenario);
  const store = createStore(config.db);
  syncConfiguredTokens({ store, now: clock.now() }, config.tokens);

  const ids = createIdFactory();
  const newRecordId = (): string => ids.newRecordId(clock.now());
  const newJobId = (): string => ids.newJobId(clock.now());
  const idempotency = new IdempotencyGuard({ store: store.idempotency, clock });
  const pruner = new IdempotencyPruner({ store: store.idempotency, clock });
  const journal = new Journal({ capacity: config.journalSize, maxBytes: config.journalMaxBytes });
  const events = new EventStream({ journal, jobs: store.jobs });
  const worker = new JobWorker({ store, objects, clock, logger, newRecordId, onChange: (jobSeq) => events.jobChanged(jobSeq) });
  const rateLimiter = new RateLimiter({ clock, limits: config.rateLimits });
  const faults = new FaultRules({ clock });
  const scenarios = new ScenarioRunner({ catalogue, store, objects, faults, rateLimiter, clock, newRecordId });
  loadStartupData({ store, objects, newRecordId, scenarios, clock, logger }, { scenario: startScenario, seedData: config.seedData });
  const operations = [
    ...createRecordOperations({ objects, records: store.records, newRecordId }),
    ...createJobOperations({ objects, jobs: store.jobs, worker, newJobId }),
    ...createMetadataOperations({ objects }),
  ];

  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.use(
    PUBLIC_BASE_PATH,
    createPublicPipeline({
      operations,
      store,
      clock,
      logger,
      idempotency,
      rateLimiter,
      faults,
      faultFunctions: { parseFaultHeader, faultDelayMs, faultError },
      journal,
      random: Math.random,
      latencyMs: config.latencyMs,
    }),
  );
  // The dashboard's files hold no data, so they load without the control token (the page then
  // asks for it), but only for an allowed Host and Origin; its own envelope renders a refusal.
  app.use(
    `${CONTROL_BASE_PATH}/ui`,
    controlGuard({ ...guard, controlToken: null }),
    dashboard({ dir: uiDir ?? fileURLToPath(new URL("../dist/ui/", import.meta.url)) }),
    errorEnvelope({ logger }),
  );
  app.use(
    CONTROL_BASE_PATH,
    createControlRoutes({ store, objects, clock, logger, worker, rateLimiter, faults, journal, events, scenarios, newRecordId, newJobId, version, startedAt: performance.now(), guard }),
  );
  const basePaths = { publicBasePath: PUBLIC_BASE_PATH, controlBasePath: CONTROL_BASE_PATH };
  app.get("/", rootSignpost({ version, ...basePaths }));
  app.use(unknownEndpoint(basePaths));
  app.use(errorEnvelope({ logger }));

  const listener = createListener({
    app,
    host: config.host,
    port: config.port,
    logger,
    quota: () => rateLimiter.peek(null, "single"),
  });

  const emulator: Emulator = {
    app,
    config,
    clock,
    applyScenario: (name) => scenarios.apply(name),
    get url() {
      return listener.url;
    },
    async start() {
      const address = await listener.start();
      pruner.start();
      worker.start();
      return address;
    },
    async stop() {
      pruner.stop();
      events.close();
      worker.releaseWaiters();
      await listener.stop();
      // After the last response: a Prefer: wait request may have been waiting on the worker.
      await worker.stop();
      store.close();
      flushLogs();
    },
  };
  internalsOf.set(emulator, { store, journal, logger });
  return emulator;
}

/**
 * One log line per request: written asynchronously (buffered by sonic-boom) so a busy emulator
 * does not block on stdout; `flush` on stop, so a clean shutdown loses none.
 */
function createLogger(level: LogLevel): { logger: Logger; flush: () => void } {
  const destination = level === "silent" ? undefined : logDestinationTo({ dest: 1, sync: false });
  const logger = pino({ level, base: { service: "cdp-emulator" } }, destination ?? process.stdout);
  return { logger, flush: () => destination?.flushSync() };
}
