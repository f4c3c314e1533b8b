/**
 * Per-packet buffers carved from shared slabs. A copy of a 1420-byte packet into a fresh array
 * costs about 1 µs on the lab machine (V8 allocates and accounts an ArrayBuffer backing store
 * each time), into a view of a slab about 0.2 µs (`bench/wire_bench.ts`), and the data path
 * makes several per packet.
 *
 * A slab is never rewritten: each view owns its bytes for good, and a slab is freed by the
 * garbage collector once no view of it is left. The cost is that one long-kept view keeps its
 * whole slab alive, so slabs are small and large requests get a buffer of their own.
 * @module
 */

/** The default slab: eleven 1420-byte packets. */
const DEFAULT_SLAB_BYTES = 16 * 1024;

/** Hands out zeroed byte views, bump-allocated from slabs. One per owner; not shared. */
export class ByteSlab {
  readonly #slabBytes: number;
  #slab: ArrayBuffer;
  #used = 0;

  /** @param slabBytes bytes per slab; requests over a quarter of it get their own buffer */
  constructor(slabBytes = DEFAULT_SLAB_BYTES) {
    this.#slabBytes = slabBytes;
    this.#slab = new ArrayBuffer(slabBytes);
  }

  /**
   * A zeroed view of `n` bytes that nothing else will write.
   * @param n length
   * @returns the view
   */
  take(n: number): Uint8Array {
    if (n > this.#slabBytes >> 2) return new Uint8Array(n);
    if (this.#used + n > this.#slabBytes) {
      this.#slab = new ArrayBuffer(this.#slabBytes);
      this.#used = 0;
    }
    const view = new Uint8Array(this.#slab, this.#used, n);
    this.#used += (n + 7) & ~7; // 8-byte aligned, for DataView and wide reads
    return view;
  }

  /**
   * A copy of `src` in a view of its own.
   * @param src bytes to copy
   * @returns the copy
   */
  copyOf(src: Uint8Array): Uint8Array {
    const view = this.take(src.length);
    view.set(src);
    return view;
  }
}
