/**
 * The reference client of the CDP Records API: `import { CdpClient, RecordBuffer } from
 * "cdp-emulator/client"`. It imports nothing of the emulator, so it works the same against the
 * real API.
 */
export { CdpClient } from "./client.js";
export type {
  CdpClientOptions,
  ClientLogger,
  DeadLetter,
  DeadLetterHandler,
  JobErrorsOptions,
  UpsertOptions,
  WaitForJobOptions,
  WriteOptions,
  Written,
} from "./options.js";
export { RecordBuffer, MAX_BATCH_SIZE } from "./buffer.js";
export type { JobReport, RecordBufferOptions } from "./buffer.js";
export { BatchRefusedError, CdpApiError, CLIENT_ERROR_CODES, RETRYABLE_STATUS, classifyFailure } from "./errors.js";
export type { CdpApiErrorInit, FailureType } from "./errors.js";
export { batchKey, canonicalJson, randomKey, stableKey } from "./keys.js";
export { buildProfileRecord, normalizeEmail, normalizePhone } from "./normalize.js";
export { DEFAULT_RETRY_OPTIONS, backoffDelayMs, parseRetryAfterMs, retryDelayMs } from "./retry.js";
export type { RetryOptions, Sleep } from "./retry.js";
export type {
  BatchAck,
  BatchOperation,
  Job,
  JobMetrics,
  JobState,
  JsonRecord,
  ObjectField,
  ObjectMetadata,
  RowError,
  WriteAck,
  WriteResult,
} from "./types.js";
