/**
 * A byte ring that starts small and doubles up to a bound as data needs room, so an idle
 * connection holds a few KiB and a busy one at most its maximum. Positions are offsets from
 * the ring's read head; bytes may be written ahead of the readable end (out-of-order data).
 * @module
 */

/** A bounded, growable byte ring. */
export class ByteRing {
  #buf: Uint8Array;
  #head = 0;
  #len = 0;
  readonly #max: number;

  /**
   * @param initial starting capacity (a power of two)
   * @param max the capacity it may grow to (a power of two)
   */
  constructor(initial: number, max: number) {
    if (initial > max) throw new RangeError(`Cannot make ring: ${initial} above ${max}`);
    this.#buf = new Uint8Array(initial);
    this.#max = max;
  }

  /** Readable bytes. */
  get length(): number {
    return this.#len;
  }

  /** The bound on the capacity. */
  get max(): number {
    return this.#max;
  }

  /** Bytes allocated now. */
  get capacity(): number {
    return this.#buf.length;
  }

  /** Bytes that may still be appended (against the maximum). */
  get free(): number {
    return this.#max - this.#len;
  }

  #ensure(end: number): void {
    if (end <= this.#buf.length) return;
    let cap = this.#buf.length;
    while (cap < end) cap *= 2;
    const next = new Uint8Array(cap);
    // Copy everything that may hold data (readable and written-ahead) in order.
    const old = this.#buf;
    const first = old.length - this.#head;
    next.set(old.subarray(this.#head), 0);
    next.set(old.subarray(0, this.#head), first);
    this.#buf = next;
    this.#head = 0;
  }

  /**
   * Writes `src` at `at` bytes past the read head (at = length appends). Grows as needed.
   * @param at offset from the read head
   * @param src bytes
   * @returns false when it would pass the maximum
   */
  writeAt(at: number, src: Uint8Array): boolean {
    const end = at + src.length;
    if (end > this.#max || at < 0) return false;
    this.#ensure(end);
    const buf = this.#buf;
    const cap = buf.length;
    let pos = (this.#head + at) & (cap - 1);
    let off = 0;
    while (off < src.length) {
      const n = Math.min(src.length - off, cap - pos);
      buf.set(src.subarray(off, off + n), pos);
      off += n;
      pos = (pos + n) & (cap - 1);
    }
    return true;
  }

  /**
   * Appends as much of `src` as fits.
   * @param src bytes
   * @returns bytes taken
   */
  push(src: Uint8Array): number {
    const n = Math.min(src.length, this.free);
    if (n === 0) return 0;
    this.writeAt(this.#len, n === src.length ? src : src.subarray(0, n));
    this.#len += n;
    return n;
  }

  /** Marks `n` bytes written ahead (by {@linkcode ByteRing.writeAt}) as readable. @param n bytes */
  commit(n: number): void {
    this.#len += n;
  }

  /**
   * Copies `len` bytes starting `at` past the read head into `dst`.
   * @param at offset from the read head @param len bytes
   * @param dst destination @param dstOff where
   */
  copyOut(at: number, len: number, dst: Uint8Array, dstOff: number): void {
    const buf = this.#buf;
    const cap = buf.length;
    let pos = (this.#head + at) & (cap - 1);
    let done = 0;
    while (done < len) {
      const n = Math.min(len - done, cap - pos);
      dst.set(buf.subarray(pos, pos + n), dstOff + done);
      done += n;
      pos = (pos + n) & (cap - 1);
    }
  }

  /** Drops `n` bytes from the head. @param n bytes (at most length) */
  consume(n: number): void {
    const k = Math.min(n, this.#len);
    this.#head = (this.#head + k) & (this.#buf.length - 1);
    this.#len -= k;
  }

  /** Frees the storage (the ring is empty and small afterwards). */
  release(): void {
    this.#buf = new Uint8Array(1);
    this.#head = 0;
    this.#len = 0;
  }
}
