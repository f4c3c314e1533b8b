/**
 * The clock the DERP layer uses: monotonic milliseconds and timers, injected so tests can drive
 * time by hand. {@linkcode SYSTEM_CLOCK} is the real one. (base/ has no clock yet; when it gets
 * one this file becomes a re-export.)
 * @module
 */

/** A timer handle from {@linkcode Clock.setTimeout}. */
export type TimerId = number;

/** Time and timers. */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Cancels a timer; unknown ids are ignored. */
  clearTimeout(id: TimerId): void;
}

/** The real clock: `performance.now()` and the global timers. */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => performance.now(),
  // Deno's timers return numbers; with node types loaded the declared type is Node's Timeout.
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms) as unknown as TimerId,
  clearTimeout: (id: TimerId) => clearTimeout(id),
});

/**
 * A clock that only moves when told to; timers fire in `advance()`.
 *
 * @example
 * ```ts
 * import { ManualClock } from "./clock.ts";
 * const c = new ManualClock();
 * let fired = false;
 * c.setTimeout(() => (fired = true), 100);
 * c.advance(99);
 * if (fired) throw new Error("too early");
 * c.advance(1);
 * if (!fired) throw new Error("did not fire");
 * ```
 */
export class ManualClock implements Clock {
  #now = 0;
  #next = 1;
  #timers = new Map<TimerId, { at: number; fn: () => void }>();

  /** @returns the current manual time */
  now(): number {
    return this.#now;
  }

  /**
   * @param fn callback
   * @param ms delay
   * @returns the timer id
   */
  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  /** @param id a timer id */
  clearTimeout(id: TimerId): void {
    this.#timers.delete(id);
  }

  /** Number of timers not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order (including ones they schedule).
   * @param ms how far
   */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let nextId: TimerId | null = null;
      let nextAt = Infinity;
      for (const [id, t] of this.#timers) {
        if (t.at <= end && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId === null) break;
      const t = this.#timers.get(nextId)!;
      this.#timers.delete(nextId);
      this.#now = Math.max(this.#now, t.at);
      t.fn();
    }
    this.#now = end;
  }
}
