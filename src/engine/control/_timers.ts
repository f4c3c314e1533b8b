/**
 * The timers one client owns, on its injected clock, so that `close()` can clear them all.
 * @module
 */
import type { Clock, TimerId } from "../base/clock.ts";

/** A set of timers on one clock. */
export class TimerSet {
  readonly #clock: Clock;
  readonly #ids = new Set<TimerId>();

  /** @param clock the clock to schedule on */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** How many timers are pending. */
  get size(): number {
    return this.#ids.size;
  }

  /**
   * Runs `fn` after `ms`.
   * @param fn callback
   * @param ms delay
   * @returns an id for {@linkcode TimerSet.clear}
   */
  set(fn: () => void, ms: number): TimerId {
    const id = this.#clock.setTimeout(() => {
      this.#ids.delete(id);
      fn();
    }, ms);
    this.#ids.add(id);
    return id;
  }

  /** Cancels a timer; ignores unknown or finished ids (and -1). @param id from set() */
  clear(id: TimerId): void {
    if (!this.#ids.delete(id)) return;
    this.#clock.clearTimeout(id);
  }

  /**
   * Resolves after `ms`, or at once when `signal` aborts (without throwing).
   * @param ms delay
   * @param signal cuts the wait short
   */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        this.clear(id);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const id = this.set(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Cancels every pending timer. */
  clearAll(): void {
    for (const id of this.#ids) this.#clock.clearTimeout(id);
    this.#ids.clear();
  }
}
