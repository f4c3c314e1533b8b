/**
 * The per-source handshake rate limit applied under load, sized as wireguard-go's
 * `ratelimiter`: a token bucket per source IP allowing 20 handshake messages per second with
 * a burst of 5. Entries idle for a second are forgotten; the sweep runs lazily on
 * {@linkcode RateLimiter.allow}, so there is no timer to stop.
 * @module
 */
import { toHex } from "../key/keys.ts";

/** Handshake messages per second per source IP. */
export const RATE_PACKETS_PER_SECOND = 20;
/** Bucket depth, in messages. */
export const RATE_PACKETS_BURSTABLE = 5;
const PACKET_COST_MS = 1000 / RATE_PACKETS_PER_SECOND;
const MAX_TOKENS_MS = PACKET_COST_MS * RATE_PACKETS_BURSTABLE;
const GARBAGE_COLLECT_MS = 1000;

/** Token buckets by source IP. */
export class RateLimiter {
  readonly #table = new Map<string, { tokens: number; lastAt: number }>();
  #lastSweepAt = -Infinity;

  /** Number of sources tracked. */
  get size(): number {
    return this.#table.size;
  }

  /**
   * Whether one more handshake message from `ip` is allowed now.
   * @param ip source IP bytes (4 or 16)
   * @param now monotonic ms
   * @returns true to process it, false to drop it
   */
  allow(ip: Uint8Array, now: number): boolean {
    if (now - this.#lastSweepAt >= GARBAGE_COLLECT_MS) {
      this.#lastSweepAt = now;
      for (const [k, e] of this.#table) {
        if (now - e.lastAt > GARBAGE_COLLECT_MS) this.#table.delete(k);
      }
    }
    const key = toHex(ip);
    const e = this.#table.get(key);
    if (e === undefined) {
      this.#table.set(key, { tokens: MAX_TOKENS_MS - PACKET_COST_MS, lastAt: now });
      return true;
    }
    e.tokens = Math.min(MAX_TOKENS_MS, e.tokens + (now - e.lastAt));
    e.lastAt = now;
    if (e.tokens > PACKET_COST_MS) {
      e.tokens -= PACKET_COST_MS;
      return true;
    }
    return false;
  }
}

/**
 * The IP part of a bind endpoint's address bytes (IP then a 2-byte port): 4 or 16 bytes, or
 * the whole thing when it has another shape.
 * @param addrBytes endpoint address bytes
 * @returns the bytes to rate-limit on
 */
export function sourceIp(addrBytes: Uint8Array): Uint8Array {
  return addrBytes.length === 6 || addrBytes.length === 18
    ? addrBytes.subarray(0, addrBytes.length - 2)
    : addrBytes;
}
