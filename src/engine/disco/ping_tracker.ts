/**
 * Pings in flight, by transaction ID: a ping registers a waiter with a deadline, a matching
 * pong resolves it. Used for disco pings (12-byte txids) and TSMP/ICMP pings (their own ids).
 * Owned by one node; close() rejects every waiter so no timer outlives the node.
 * @module
 */
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
  timer: ReturnType<typeof setTimeout>;
  sentAt: number;
}

/** Waiters keyed by transaction ID. */
export class PingTracker<T> {
  readonly #waiters = new Map<string, Waiter<T>>();
  readonly #now: () => number;

  /** @param now monotonic milliseconds; default `performance.now` */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
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
      const sentAt = this.#now();
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        reject(new PingTimeoutError(timeoutMs));
      }, timeoutMs);
      this.#waiters.set(id, {
        resolve: (value) => resolve({ value, rttMs: this.#now() - sentAt }),
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
    clearTimeout(w.timer);
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
      clearTimeout(w.timer);
      w.reject(new Error("closed"));
    }
    this.#waiters.clear();
  }
}
