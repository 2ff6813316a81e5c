import type { ClockState } from "../domain/control-plane.js";

export type { ClockState };
/**
 * The emulator's one source of time. Everything that reads time — acceptedAt, idempotency
 * expiry, token expiry, rate-limit windows — asks this object, so tests (and, later, the control
 * plane) can freeze, set and advance it instead of sleeping.
 */
export interface Clock {
  /** Epoch milliseconds on the emulator's timeline. */
  now(): number;
}


export class EmulatorClock implements Clock {
  #offsetMs = 0;
  #frozenAt: number | null = null;
  readonly #source: () => number;

  constructor(options: { source?: () => number } = {}) {
    this.#source = options.source ?? Date.now;
  }

  now(): number {
    return this.#frozenAt ?? this.#source() + this.#offsetMs;
  }

  /** Stop time where it is (or at `at`); it moves again only when advanced or unfrozen. */
  freeze(at?: number): void {
    this.#frozenAt = at ?? this.now();
  }

  unfreeze(): void {
    if (this.#frozenAt === null) return;
    this.#offsetMs = this.#frozenAt - this.#source();
    this.#frozenAt = null;
  }

  set(at: number): void {
    if (this.#frozenAt !== null) this.#frozenAt = at;
    else this.#offsetMs = at - this.#source();
  }

  advance(ms: number): void {
    if (ms < 0) throw new RangeError("the clock only moves forward; use set() to go back");
    this.set(this.now() + ms);
  }

  state(): ClockState {
    return { now: new Date(this.now()).toISOString(), frozen: this.#frozenAt !== null, offsetMs: this.#offsetMs };
  }
}
