/**
 * The package root, `import { startEmulator, createEmulator, ControlClient } from "cdp-emulator"`.
 * Importing it only loads code: nothing listens and no file is opened until a function is called.
 */
// Named one by one, not `export *`: server.ts also holds emulatorInternals, for the CLI and the
// project's tests only.
export {
  CONTROL_BASE_PATH,
  createEmulator,
  EmulatorClock,
  PUBLIC_BASE_PATH,
  readVersion,
  resolveConfig,
  StartupError,
  type Clock,
  type Config,
  type Emulator,
  type EmulatorOptions,
  type ScenarioApplied,
  type StartupProblem,
} from "./server.js";
export { startEmulator, type StartEmulatorOptions, type StartedEmulator } from "./testing/start-emulator.js";
export {
  ControlClient,
  ControlPlaneError,
  type AuditQuery,
  type AuditReport,
  type ClockState,
  type ControlClientOptions,
  type FaultRule,
  type FaultRuleInput,
  type JournalEntry,
  type JournalQuery,
  type MintTokenInput,
  type RecordListOptions,
  type ScenarioSummary,
  type SeedResult,
} from "./testing/control-client.js";
