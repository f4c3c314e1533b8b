/**
 * A small sorted set of disjoint half-open byte ranges, as offsets from a moving base: the
 * receiver's out-of-order data (offsets from RCV.NXT) and the sender's SACK scoreboard
 * (offsets from SND.UNA). Bounded: beyond `maxRanges` an insert that needs a new range fails.
 * @module
 */

/** Disjoint sorted ranges `[start, end)` of non-negative offsets. */
export class RangeSet {
  /** Flat pairs: start0, end0, start1, end1, … */
  #r: number[] = [];
  readonly #maxRanges: number;
  /** Index (range number) of the range that took the last insert, or -1. */
  #last = -1;

  /** @param maxRanges how many ranges may be held */
  constructor(maxRanges: number) {
    this.#maxRanges = maxRanges;
  }

  /** Number of ranges. */
  get count(): number {
    return this.#r.length >> 1;
  }

  /** Start of range `i`. @param i index @returns offset */
  start(i: number): number {
    return this.#r[2 * i];
  }

  /** End of range `i`. @param i index @returns offset */
  end(i: number): number {
    return this.#r[2 * i + 1];
  }

  /** Index of the range the last insert landed in, or -1. */
  get lastIndex(): number {
    return this.#last;
  }

  /** Total bytes covered. */
  get bytes(): number {
    let n = 0;
    for (let i = 0; i < this.#r.length; i += 2) n += this.#r[i + 1] - this.#r[i];
    return n;
  }

  /** One past the highest covered offset, or 0 when empty. */
  get highest(): number {
    return this.#r.length === 0 ? 0 : this.#r[this.#r.length - 1];
  }

  /**
   * Adds `[start, end)`, merging with overlapping or touching ranges.
   * @param start first offset @param end one past the last
   * @returns false when it would need more than `maxRanges` ranges (nothing changed)
   */
  add(start: number, end: number): boolean {
    if (end <= start) return true;
    const r = this.#r;
    let i = 0;
    while (i < r.length && r[i + 1] < start) i += 2;
    let j = i;
    let s = start, e = end;
    while (j < r.length && r[j] <= end) {
      s = Math.min(s, r[j]);
      e = Math.max(e, r[j + 1]);
      j += 2;
    }
    if (j === i && r.length >= 2 * this.#maxRanges) return false;
    r.splice(i, j - i, s, e);
    this.#last = i >> 1;
    return true;
  }

  /** Whether `off` lies in a range. @param off offset @returns boolean */
  contains(off: number): boolean {
    const r = this.#r;
    for (let i = 0; i < r.length; i += 2) {
      if (off < r[i]) return false;
      if (off < r[i + 1]) return true;
    }
    return false;
  }

  /**
   * The first offset at or after `from` that no range covers.
   * @param from offset
   * @returns that offset
   */
  nextGap(from: number): number {
    const r = this.#r;
    let at = from;
    for (let i = 0; i < r.length; i += 2) {
      if (at < r[i]) return at;
      if (at < r[i + 1]) at = r[i + 1];
    }
    return at;
  }

  /**
   * Uncovered bytes in `[from, to)`.
   * @param from offset @param to offset
   * @returns bytes no range covers there
   */
  gapBytes(from: number, to: number): number {
    if (to <= from) return 0;
    let covered = 0;
    const r = this.#r;
    for (let i = 0; i < r.length; i += 2) {
      const s = Math.max(from, r[i]), e = Math.min(to, r[i + 1]);
      if (e > s) covered += e - s;
    }
    return to - from - covered;
  }

  /**
   * Moves the base forward by `n`: offsets drop by `n`, ranges below 0 go.
   * @param n bytes
   */
  shift(n: number): void {
    if (n <= 0) return;
    const r = this.#r;
    let k = 0;
    for (let i = 0; i < r.length; i += 2) {
      const s = r[i] - n, e = r[i + 1] - n;
      if (e <= 0) continue;
      r[k++] = Math.max(0, s);
      r[k++] = e;
    }
    r.length = k;
    this.#last = -1;
  }

  /**
   * If a range starts at 0, removes it and returns its end.
   * @returns the end of the leading range, or 0
   */
  takeFront(): number {
    const r = this.#r;
    if (r.length === 0 || r[0] !== 0) return 0;
    const e = r[1];
    r.splice(0, 2);
    this.#last = -1;
    return e;
  }

  /** Drops every range at or above `off` (trimming one that spans it). @param off offset */
  truncate(off: number): void {
    const r = this.#r;
    let k = 0;
    for (let i = 0; i < r.length; i += 2) {
      if (r[i] >= off) break;
      r[k++] = r[i];
      r[k++] = Math.min(r[i + 1], off);
    }
    r.length = k;
    this.#last = -1;
  }

  /** Removes every range. */
  clear(): void {
    this.#r.length = 0;
    this.#last = -1;
  }
}
