/**
 * The anti-replay filter of RFC 6479, sized as wireguard-go's: a ring of 128 blocks of 64 bits,
 * of which 127 form the window (8128 counters). Blocks are kept as pairs of 32-bit words.
 * @module
 */
import { REPLAY_WINDOW } from "./constants.ts";

const BLOCK_BITS = 64;
const RING_BLOCKS = 128;

/** Rejects counters seen before or older than the window. */
export class ReplayFilter {
  #last = 0;
  readonly #ring = new Uint32Array(RING_BLOCKS * 2);

  /** Empties the filter. */
  reset(): void {
    this.#last = 0;
    this.#ring.fill(0);
  }

  /**
   * Checks `counter` and marks it seen. Call only after the packet authenticated.
   * @param counter the message counter (an integer below 2^53)
   * @param limit counters at or above this are always rejected
   * @returns true when the counter is new and inside the window
   */
  validate(counter: number, limit: number): boolean {
    if (counter >= limit) return false;
    const ring = this.#ring;
    const indexBlock = Math.floor(counter / BLOCK_BITS);
    if (counter > this.#last) {
      const current = Math.floor(this.#last / BLOCK_BITS);
      const diff = Math.min(indexBlock - current, RING_BLOCKS);
      for (let i = current + 1; i <= current + diff; i++) {
        const b = (i % RING_BLOCKS) * 2;
        ring[b] = 0;
        ring[b + 1] = 0;
      }
      this.#last = counter;
    } else if (this.#last - counter > REPLAY_WINDOW) {
      return false;
    }
    const bit = counter % BLOCK_BITS;
    const word = (indexBlock % RING_BLOCKS) * 2 + (bit >>> 5);
    const mask = (1 << (bit & 31)) >>> 0;
    if ((ring[word] & mask) !== 0) return false;
    ring[word] = (ring[word] | mask) >>> 0;
    return true;
  }
}
