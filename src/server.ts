import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Express, type Request } from "express";
import { destination as logDestinationTo, pino, type Logger } from "pino";
import { createJobOperations } from "./api/jobs.js";
import { createMetadataOperations } from "./api/metadata.js";
import { createRecordOperations } from "./api/records.js";
import { EmulatorClock } from "./runtime/clock.js";
import { checkControlToken, defaultConfig, type Config } from "./config.js";
import { EventStream } from "./control/events.js";
import { createControlRoutes } from "./control/routes.js";
import { ScenarioRunner, type ScenarioApplied } from "./control/scenarios.js";
import { dashboard } from "./control/dashboard.js";
import { loadSeedData } from "./control/seed.js";
import { ApiError } from "./domain/errors.js";
import { IdempotencyGuard, IdempotencyPruner } from "./http/idempotency.js";
import { answerClientError } from "./http/client-error.js";
import { controlGuard, type ControlGuardOptions } from "./http/control-guard.js";
import { errorEnvelope } from "./http/error-envelope.js";
import { createPublicPipeline } from "./http/pipeline.js";
import { rootSignpost } from "./http/root.js";
import { JobWorker } from "./services/job-worker.js";
import { FaultRules } from "./chaos/faults.js";
import { Journal } from "./runtime/journal.js";
import { RateLimiter } from "./runtime/rate-limiter.js";
import { ScenarioCatalogue } from "./chaos/scenarios.js";
import { StartupError } from "./domain/startup-error.js";
import { loadObjectSchemas } from "./services/object-schemas.js";
import { createIdFactory } from "./store/ids.js";
import { createStore, type Store } from "./store/store.js";

export { resolveConfig, type Config } from "./config.js";
export { StartupError, type StartupProblem } from "./domain/startup-error.js";
export { EmulatorClock, type Clock } from "./runtime/clock.js";
export type { ScenarioApplied } from "./control/scenarios.js";

export interface EmulatorOptions extends Partial<Config> {
  /** Inject a clock to freeze or advance emulator time from a test. */
  clock?: EmulatorClock;
  logger?: Logger;
  /** The dashboard's built files (index.html and its bundle); default the package's dist/ui. */
  uiDir?: string;
}

export interface Emulator {
  readonly app: Express;
  readonly config: Config;
  readonly clock: EmulatorClock;
  readonly store: Store;
  readonly logger: Logger;
  readonly worker: JobWorker;
  readonly faults: FaultRules;
  readonly rateLimiter: RateLimiter;
  readonly journal: Journal;
  /** Applies a scenario by name, as POST /_emulator/scenarios/{name} does; throws ApiError NOT_FOUND for an unknown name. */
  applyScenario(name: string): ScenarioApplied;
  /** Base URL once listening (`http://host:port`), else undefined. */
  readonly url: string | undefined;
  start(): Promise<{ url: string; port: number }>;
  /** Stops accepting, lets in-flight requests finish, closes the database. */
  stop(): Promise<void>;
}

export const PUBLIC_BASE_PATH = "/public/v1";
export const CONTROL_BASE_PATH = "/_emulator";
const SHUTDOWN_GRACE_MS = 10_000;

export function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

/** The composition root: every part is built and wired here, and nothing else holds state. */
export function createEmulator(options: EmulatorOptions = {}): Emulator {
  const { clock: injectedClock, logger: injectedLogger, uiDir, ...overrides } = options;
  const config: Config = { ...defaultConfig(), ...overrides };
  const clock = injectedClock ?? new EmulatorClock();
  // One log line per request: written asynchronously (buffered by sonic-boom) so a busy emulator
  // does not block on stdout; flushed on stop, so a clean shutdown loses none.
  const logDestination = injectedLogger || config.logLevel === "silent" ? undefined : logDestinationTo({ dest: 1, sync: false });
  const logger = injectedLogger ?? pino({ level: config.logLevel, base: { service: "cdp-emulator" } }, logDestination ?? process.stdout);
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
  store.workspaces.syncConfiguredTokens(
    config.tokens.map((token) => ({
      token: token.token,
      workspace: token.workspace,
      scopes: token.scopes,
      expiresAt: token.expiresAt === null ? null : Date.parse(token.expiresAt),
    })),
    clock.now(),
  );

  const ids = createIdFactory();
  const newRecordId = (): string => ids.newRecordId(clock.now());
  const newJobId = (): string => ids.newJobId(clock.now());
  const idempotency = new IdempotencyGuard({ store: store.idempotency, clock });
  const pruner = new IdempotencyPruner({ store: store.idempotency, clock });
  // The worker only runs once started, by which time `events` exists.
  const worker = new JobWorker({ store, objects, clock, logger, newRecordId, onChange: (jobSeq) => events.jobChanged(jobSeq) });
  const rateLimiter = new RateLimiter({ clock, limits: config.rateLimits });
  const faults = new FaultRules({ clock });
  const journal = new Journal({ capacity: config.journalSize, maxBytes: config.journalMaxBytes });
  const events = new EventStream({ journal, jobs: store.jobs });
  const scenarios = new ScenarioRunner({ catalogue, store, objects, faults, rateLimiter, clock, newRecordId });
  if (startScenario) {
    try {
      scenarios.applyScenario(startScenario);
    } catch (error) {
      store.close();
      if (error instanceof ApiError) throw new StartupError("scenario", `${startScenario.file}: ${error.message}`);
      throw error;
    }
  }
  if (config.seedData !== null) {
    try {
      const loaded = loadSeedData({ store, objects, newRecordId }, { file: config.seedData, now: clock.now() });
      logger.info({ file: config.seedData, records: loaded }, "seed data loaded");
    } catch (error) {
      store.close();
      throw error;
    }
  }
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
  app.get("/", rootSignpost({ version, publicBasePath: PUBLIC_BASE_PATH, controlBasePath: CONTROL_BASE_PATH }));
  // Outside both prefixes: still the envelope (from the one place that makes it), never Express's HTML 404.
  app.use((req: Request) => {
    throw new ApiError(
      "NOT_FOUND",
      `No such endpoint: ${req.method} ${req.path}; the API lives under ${PUBLIC_BASE_PATH}, the control plane under ${CONTROL_BASE_PATH}`,
    );
  });
  app.use(errorEnvelope({ logger }));

  let server: Server | undefined;
  let url: string | undefined;

  return {
    app,
    config,
    clock,
    store,
    logger,
    worker,
    faults,
    rateLimiter,
    journal,
    applyScenario: (name) => scenarios.apply(name),
    get url() {
      return url;
    },
    async start() {
      if (server) throw new Error("the emulator is already started");
      const listening = createServer(app);
      listening.on("clientError", answerClientError({ logger, quota: () => rateLimiter.peek(null, "single") }));
      await new Promise<void>((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(config.port, config.host, () => {
          listening.off("error", reject);
          resolve();
        });
      });
      server = listening;
      pruner.start();
      worker.start();
      const { port } = listening.address() as AddressInfo;
      const host = config.host.includes(":") ? `[${config.host}]` : config.host;
      url = `http://${host}:${port}`;
      return { url, port };
    },
    async stop() {
      pruner.stop();
      events.close();
      const closing = server;
      server = undefined;
      worker.releaseWaiters();
      url = undefined;
      if (closing) {
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => closing.closeAllConnections(), SHUTDOWN_GRACE_MS);
          // A keep-alive socket goes idle once its in-flight response is sent; without this sweep
          // close() would wait for the client's keep-alive timeout.
          const sweep = setInterval(() => closing.closeIdleConnections(), 20);
          force.unref();
          closing.close(() => {
            clearTimeout(force);
            clearInterval(sweep);
            resolve();
          });
          closing.closeIdleConnections();
        });
      }
      // After the last response: a Prefer: wait request may have been waiting on the worker.
      await worker.stop();
      store.close();
      logDestination?.flushSync();
    },
  };
}
