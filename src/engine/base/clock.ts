/**
 * The one time source every layer that keeps time is handed (control, DERP, WireGuard, disco,
 * the stack): a monotonic clock for timers, ages and round trips, a wall clock under its own
 * name for timestamps (WireGuard's TAI64N, a netmap's key expiry), and timers. Layers take
 * `clock?: Clock` in their options and default to {@linkcode SYSTEM_CLOCK}; tests pass the
 * `ManualClock` of `./testing/manual_clock.ts`, so minutes of protocol run in microseconds.
 *
 * @example A layer that keeps time
 * ```ts
 * import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
 * class Idle {
 *   readonly #clock: Clock;
 *   readonly #since: number;
 *   constructor(clock: Clock = SYSTEM_CLOCK) {
 *     this.#clock = clock;
 *     this.#since = clock.now();
 *   }
 *   idleMs(): number {
 *     return this.#clock.now() - this.#since;
 *   }
 * }
 * if (new Idle().idleMs() < 0) throw new Error("monotonic time went back");
 * ```
 * @module
 */

/** A timer handle from {@linkcode Clock.setTimeout}. */
export type TimerId = number | ReturnType<typeof setTimeout>;

/** Time and timers, injected into each layer. */
export interface Clock {
  /** Monotonic milliseconds, for timers, ages and round trips; the origin means nothing. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch, for timestamps only (it may jump). */
  wallNow(): number;
  /** Calls `fn` once after `ms` of monotonic time. */
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Cancels a timer; unknown or fired ids are ignored. */
  clearTimeout(id: TimerId): void;
}

/** The real clock: `performance.now()`, `Date.now()` and the global timers. Frozen. */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): TimerId => setTimeout(fn, ms),
  clearTimeout: (id: TimerId): void => clearTimeout(id as ReturnType<typeof setTimeout>),
});
