/**
 * Random 32-bit receiver indices, each naming a handshake in progress or a keypair of one
 * peer. Peers learn our index from our handshake messages and put it in every message they
 * send us, so a transport packet finds its keypair with one map lookup.
 * @module
 */

/** What an index points at: a peer's pending handshake, or one of its keypairs. */
export interface IndexEntry<P, K> {
  /** The peer. */
  readonly peer: P;
  /** The keypair, once the handshake became one; null while it is a handshake. */
  keypair: K | null;
}

/** Maps receiver indices to peers and keypairs. */
export class IndexTable<P, K> {
  readonly #map = new Map<number, IndexEntry<P, K>>();
  readonly #random: (out: Uint8Array) => void;
  readonly #scratch = new Uint32Array(1);

  /** @param random fills a buffer with random bytes */
  constructor(random: (out: Uint8Array) => void) {
    this.#random = random;
  }

  /** Number of live indices. */
  get size(): number {
    return this.#map.size;
  }

  /**
   * Allocates a fresh random index for `peer`'s new handshake.
   * @param peer the owner
   * @returns the index (never 0, never one in use)
   */
  newIndexForHandshake(peer: P): number {
    const bytes = new Uint8Array(this.#scratch.buffer);
    for (;;) {
      this.#random(bytes);
      const index = this.#scratch[0];
      if (index === 0 || this.#map.has(index)) continue;
      this.#map.set(index, { peer, keypair: null });
      return index;
    }
  }

  /**
   * Points an index that named a handshake at the keypair derived from it.
   * @param index the handshake's index
   * @param keypair the new keypair
   */
  swapIndexForKeypair(index: number, keypair: K): void {
    const e = this.#map.get(index);
    if (e) e.keypair = keypair;
  }

  /**
   * Removes an index.
   * @param index to forget
   */
  delete(index: number): void {
    this.#map.delete(index);
  }

  /**
   * Looks an index up.
   * @param index the receiver index from a message
   * @returns the entry, or undefined
   */
  lookup(index: number): IndexEntry<P, K> | undefined {
    return this.#map.get(index);
  }
}
