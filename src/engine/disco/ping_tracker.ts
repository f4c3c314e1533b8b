/**
 * Pings in flight, by transaction ID: a ping registers a waiter with a deadline, a matching
 * pong resolves it. Used for disco pings (12-byte txids) and TSMP/ICMP pings (their own ids).
 * Owned by one node; deadlines and round trips use the node's clock; close() rejects every
 * waiter so no timer outlives the node.
 * @module
 */
import { type Clock, SYSTEM_CLOCK, type TimerId } from "../base/clock.ts";
import { TailnetError } from "../base/errors.ts";
import { toHex } from "../key/keys.ts";

/** A ping that got no answer in time. */
export class PingTimeoutError extends TailnetError {
  /** @param ms how long it waited */
  constructor(ms: number) {
    // Retryable: the next ping may find the peer (or a path to it) again.
    super("ping-timeout", `no reply after ${ms} ms`, { retryable: true });
    this.name = "PingTimeoutError";
  }
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
  timer: TimerId;
  sentAt: number;
}

/** Options for {@linkcode PingTracker}. */
export interface PingTrackerOptions {
  /** Where deadlines run and round trips are measured; default the system clock. */
  clock?: Clock;
}

/** Waiters keyed by transaction ID. */
export class PingTracker<T> {
  readonly #waiters = new Map<string, Waiter<T>>();
  readonly #clock: Clock;

  /** @param opts the clock */
  constructor(opts: PingTrackerOptions = {}) {
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
  }

  /**
   * Registers a ping and waits for its answer.
   * @param txid the transaction ID
   * @param timeoutMs how long to wait
   * @returns the answer and the round-trip time in ms
   */
  wait(txid: Uint8Array, timeoutMs: number): Promise<{ value: T; rttMs: number }> {
    const id = toHex(txid);
    return new Promise((resolve, reject) => {
      const sentAt = this.#clock.now();
      const timer = this.#clock.setTimeout(() => {
        this.#waiters.delete(id);
        reject(new PingTimeoutError(timeoutMs));
      }, timeoutMs);
      this.#waiters.set(id, {
        resolve: (value) => resolve({ value, rttMs: this.#clock.now() - sentAt }),
        reject,
        timer,
        sentAt,
      });
    });
  }

  /**
   * Resolves the waiter of `txid`, if any.
   * @param txid the answer's transaction ID
   * @param value what to resolve with
   * @returns whether a waiter was found
   */
  answer(txid: Uint8Array, value: T): boolean {
    const id = toHex(txid);
    const w = this.#waiters.get(id);
    if (w === undefined) return false;
    this.#waiters.delete(id);
    this.#clock.clearTimeout(w.timer);
    w.resolve(value);
    return true;
  }

  /** Pings in flight. */
  get size(): number {
    return this.#waiters.size;
  }

  /** Rejects every waiter and clears its timer. */
  close(): void {
    for (const w of this.#waiters.values()) {
      this.#clock.clearTimeout(w.timer);
      w.reject(new Error("closed"));
    }
    this.#waiters.clear();
  }
}
