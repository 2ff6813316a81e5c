import type { Clock } from "../runtime/clock.js";
import { ApiError } from "../domain/errors.js";
import { requestFingerprint } from "../domain/fingerprint.js";
import type { IdempotencyStore, StoredResponse } from "../store/idempotency-store.js";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface SerializedResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type IdempotencyDecision =
  | { kind: "replay"; response: StoredResponse }
  | { kind: "execute"; claim: IdempotencyClaim };

export interface IdempotencyClaim {
  /** Stores the response; call it inside the write's transaction so both commit or neither does. */
  save(result: SerializedResult, now: number): void;
  /** Frees the key for the next request; safe to call more than once. */
  release(): void;
}

/**
 * Idempotency-Key handling (DESIGN.md §2). Keys are per workspace; a completed response lives in
 * SQLite for 24 h of emulator time; a key whose first request is still executing is held in
 * memory (one process owns the db), so a crash can never leave a key stuck "in progress".
 */
export class IdempotencyGuard {
  readonly #store: IdempotencyStore;
  readonly #clock: Clock;
  readonly #inFlight = new Map<string, string>();

  constructor(deps: { store: IdempotencyStore; clock: Clock }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
  }

  begin(request: { workspace: string; key: string; method: string; path: string; body: unknown }): IdempotencyDecision {
    // The key's form was checked by the header-limits stage, before anything else ran.
    const fingerprint = requestFingerprint(request);
    const stored = this.#store.find(request.workspace, request.key, this.#clock.now());
    if (stored) {
      if (stored.fingerprint !== fingerprint) throw keyReused(request.key);
      return { kind: "replay", response: stored };
    }
    const slot = `${request.workspace}\u0000${request.key}`;
    const running = this.#inFlight.get(slot);
    if (running !== undefined) {
      if (running !== fingerprint) throw keyReused(request.key);
      throw new ApiError(
        "IDEMPOTENCY_IN_PROGRESS",
        `A request with Idempotency-Key "${request.key}" is still executing; retry after it completes`,
        { details: { idempotencyKey: request.key } },
      );
    }
    this.#inFlight.set(slot, fingerprint);
    let released = false;
    return {
      kind: "execute",
      claim: {
        save: (result, now) =>
          this.#store.save({
            workspace: request.workspace,
            key: request.key,
            method: request.method,
            path: request.path,
            response: { fingerprint, ...result, createdAt: now, expiresAt: now + IDEMPOTENCY_TTL_MS },
          }),
        release: () => {
          if (released) return;
          released = true;
          this.#inFlight.delete(slot);
        },
      },
    };
  }
}

function keyReused(key: string): ApiError {
  return new ApiError(
    "KEY_REUSED",
    `Idempotency-Key "${key}" was already used with a different request; use a new key for a different request`,
    { details: { idempotencyKey: key } },
  );
}

/**
 * Deletes expired keys now and then. Expired keys already read as absent; pruning only keeps
 * the table small. A lifecycle object so the server can stop it and tests can call `runOnce`.
 */
export class IdempotencyPruner {
  readonly #store: IdempotencyStore;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: { store: IdempotencyStore; clock: Clock; intervalMs?: number }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#intervalMs = deps.intervalMs ?? 60_000;
  }

  runOnce(): number {
    return this.#store.prune(this.#clock.now());
  }

  start(): void {
    if (this.#timer) return;
    this.runOnce();
    this.#timer = setInterval(() => this.runOnce(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
