/**
 * Test support: a {@linkcode Clock} that moves only when a test says so. Every layer's tests
 * use this one (WireGuard timers, DERP watchdogs, control backoff, the stack's simulated
 * network, ping timeouts). Not imported by production code.
 * @module
 */
import type { Clock, TimerId } from "../clock.ts";

/** Where a {@linkcode ManualClock} starts. */
export interface ManualClockOptions {
  /** Monotonic time at the start, in ms. Default 0. */
  startMs?: number;
  /** Wall-clock time at the start, in ms since the epoch. Default 2026-01-01T00:00:00Z. */
  wallStartMs?: number;
}

interface Timer {
  at: number;
  /** Scheduling order: ties on `at` fire in the order they were set. */
  seq: number;
  fn: () => void;
}

/** Lets pending promise chains run: one macrotask turn. */
export function macrotaskTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * A clock whose time moves only in {@linkcode ManualClock.advance} (synchronous: for code
 * whose timers do synchronous work) or {@linkcode ManualClock.advanceAsync} (lets promise
 * chains run between timers, for code that awaits). Timers fire in deadline order, ties in the
 * order they were set; `now()` reads each timer's deadline while it runs; a timer set by a
 * timer fires in the same advance when it falls due within it. Wall time moves with
 * monotonic time, from its own origin.
 *
 * @example Firing a timer
 * ```ts
 * import { ManualClock } from "./manual_clock.ts";
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
  readonly #wallOffset: number;
  #nextSeq = 1;
  readonly #timers = new Map<number, Timer>();

  /** @param opts where monotonic and wall time start */
  constructor(opts: ManualClockOptions = {}) {
    this.#now = opts.startMs ?? 0;
    this.#wallOffset = (opts.wallStartMs ?? Date.UTC(2026, 0, 1)) - this.#now;
  }

  /** @returns the monotonic time in ms */
  now(): number {
    return this.#now;
  }

  /** @returns the wall-clock time in ms since the epoch */
  wallNow(): number {
    return this.#wallOffset + this.#now;
  }

  /**
   * Schedules `fn` at now + ms (a negative `ms` counts as 0).
   * @param fn callback
   * @param ms delay
   * @returns the timer id
   */
  setTimeout(fn: () => void, ms: number): TimerId {
    const seq = this.#nextSeq++;
    this.#timers.set(seq, { at: this.#now + Math.max(0, ms), seq, fn });
    return seq;
  }

  /** @param id a timer to cancel; unknown or fired ids are ignored */
  clearTimeout(id: TimerId): void {
    if (typeof id === "number") this.#timers.delete(id);
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /** @returns the delays from now of the pending timers, shortest first */
  pendingDelays(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.#now).sort((a, b) => a - b);
  }

  /** @returns the earliest pending deadline, or null when no timer is pending */
  nextDeadline(): number | null {
    const t = this.#first();
    return t === null ? null : t.at;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, in order.
   * @param ms how far to move (0 fires what is due now)
   */
  advance(ms: number): void {
    const target = this.#now + Math.max(0, ms);
    for (let t = this.#first(); t !== null && t.at <= target; t = this.#first()) this.#fire(t);
    this.#now = target;
  }

  /**
   * Moves time forward by `ms` like {@linkcode ManualClock.advance}, but awaits `settle`
   * before the first timer, after each one and at the end, so that what a timer starts (a
   * retry's request, a packet through a memory network) runs before the next timer fires.
   * @param ms how far to move
   * @param settle lets pending work run; default one macrotask turn
   */
  async advanceAsync(ms: number, settle: () => Promise<void> = macrotaskTurn): Promise<void> {
    const target = this.#now + Math.max(0, ms);
    await settle();
    for (let t = this.#first(); t !== null && t.at <= target; t = this.#first()) {
      this.#fire(t);
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #first(): Timer | null {
    let best: Timer | null = null;
    for (const t of this.#timers.values()) {
      if (best === null || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }

  #fire(t: Timer): void {
    this.#timers.delete(t.seq);
    if (t.at > this.#now) this.#now = t.at;
    t.fn();
  }
}
