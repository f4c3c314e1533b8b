/**
 * The time source the engine's layers run on (WireGuard, DERP): a monotonic clock for timers and
 * ages, a wall clock for timestamps such as WireGuard's TAI64N. {@linkcode ManualClock} lets tests run minutes of protocol in
 * microseconds.
 * @module
 */

/** A timer handle from {@linkcode Clock.setTimeout}. */
export type TimerId = number | ReturnType<typeof setTimeout>;

/** Time and timers, injected into each layer. */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (for TAI64N). */
  wallNow(): number;
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Cancels a timer; unknown ids are ignored. */
  clearTimeout(id: TimerId): void;
}

/** The real clock: `performance.now()`, `Date.now()` and `setTimeout`. */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): TimerId => setTimeout(fn, ms),
  clearTimeout: (id: TimerId): void => clearTimeout(id as ReturnType<typeof setTimeout>),
});

/**
 * A clock that moves only when told to. Timers fire in deadline order during
 * {@linkcode ManualClock.advance}, with `now()` set to each timer's deadline as it fires.
 *
 * @example Firing a timer
 * ```ts
 * import { ManualClock } from "./clock.ts";
 * const clock = new ManualClock();
 * let fired = 0;
 * clock.setTimeout(() => fired++, 10_000);
 * clock.advance(9_999);
 * clock.advance(1);
 * if (fired !== 1 || clock.now() !== 10_000) throw new Error("timer did not fire");
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #wallBase: number;
  #nextId = 1;
  #timers = new Map<TimerId, { at: number; seq: number; fn: () => void }>();

  /**
   * @param startMs initial monotonic time
   * @param wallBaseMs wall-clock time at monotonic 0 (default 2026-01-01)
   */
  constructor(startMs = 0, wallBaseMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
    this.#wallBase = wallBaseMs;
  }

  /** @returns the monotonic time in ms */
  now(): number {
    return this.#now;
  }

  /** @returns the wall-clock time in ms */
  wallNow(): number {
    return this.#wallBase + this.#now;
  }

  /**
   * Schedules `fn` at now + ms.
   * @param fn callback
   * @param ms delay
   * @returns the timer id
   */
  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), seq: id, fn });
    return id;
  }

  /** @param id a timer to cancel */
  clearTimeout(id: TimerId): void {
    this.#timers.delete(id);
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /** The earliest pending deadline, or null when no timer is pending. */
  nextDeadline(): number | null {
    let best: number | null = null;
    for (const t of this.#timers.values()) if (best === null || t.at < best) best = t.at;
    return best;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order (timers they set fire too if due).
   * @param ms how far to move
   */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let best: { id: TimerId; at: number; seq: number } | null = null;
      for (const [id, t] of this.#timers) {
        if (t.at > target) continue;
        if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) {
          best = { id, at: t.at, seq: t.seq };
        }
      }
      if (!best) break;
      const t = this.#timers.get(best.id)!;
      this.#timers.delete(best.id);
      this.#now = Math.max(this.#now, t.at);
      t.fn();
    }
    this.#now = target;
  }
}
