/**
 * The internet checksum (RFC 1071): the 16-bit one's-complement of the one's-complement sum of
 * 16-bit big-endian words, with an odd last byte padded by a zero. Incremental update follows
 * RFC 1624 (HC' = ~(~HC + ~m + m')).
 *
 * Sums are kept unfolded as plain numbers (a double holds any sum of fewer than 2^37 words
 * exactly), so a caller can add a pseudo-header sum and a body sum and fold once:
 * `checksumFinish(pseudoHeaderSum(...) + checksumAdd(0, b, off, end))`.
 *
 * @example Checksum of the RFC 1071 example bytes
 * ```ts
 * import { internetChecksum } from "./checksum.ts";
 * const b = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
 * if (internetChecksum(b, 0, b.length) !== 0x220d) throw new Error("bad");
 * ```
 * @module
 */

/**
 * Adds the 16-bit words of `b[off..end)` to `sum`, unfolded.
 * @param sum a running sum (0 to start)
 * @param b bytes @param off first byte @param end one past the last byte
 * @returns the new running sum
 */
export function checksumAdd(sum: number, b: Uint8Array, off: number, end: number): number {
  let s = 0;
  let i = off;
  const even = end - ((end - off) & 1);
  // Four words per step, folded every 4096 steps so `s` stays a small integer (fast path in V8).
  const last4 = even - 7;
  let n = 0;
  while (i < last4) {
    s += ((b[i] << 8) | b[i + 1]) + ((b[i + 2] << 8) | b[i + 3]) +
      ((b[i + 4] << 8) | b[i + 5]) + ((b[i + 6] << 8) | b[i + 7]);
    i += 8;
    if (++n === 0x1000) {
      s = (s & 0xffff) + (s >>> 16);
      n = 0;
    }
  }
  while (i < even) {
    s += (b[i] << 8) | b[i + 1];
    i += 2;
  }
  if (i < end) s += b[i] << 8;
  return sum + s;
}

/**
 * Folds a running sum to 16 bits and complements it: the value to put in a checksum field.
 * @param sum an unfolded sum
 * @returns 0..65535
 */
export function checksumFinish(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/**
 * The internet checksum of `b[off..end)`. Over a region that holds a correct checksum the
 * result is 0.
 * @param b bytes @param off first byte @param end one past the last byte
 * @returns the checksum, 0..65535
 */
export function internetChecksum(b: Uint8Array, off: number, end: number): number {
  return checksumFinish(checksumAdd(0, b, off, end));
}

/**
 * The unfolded sum of an IPv4 or IPv6 pseudo-header whose addresses sit in `b` (usually the
 * packet itself, so nothing is copied). Both families use the same words: the two addresses,
 * the upper-layer length and the protocol number (RFC 768/793 for v4, RFC 8200 §8.1 for v6;
 * the v6 32-bit length contributes the same words for lengths below 2^16).
 * @param b bytes holding the addresses
 * @param srcOff offset of the source address @param dstOff offset of the destination address
 * @param addrLen 4 for IPv4, 16 for IPv6
 * @param protocol the upper-layer protocol number (6, 17, 58, ...)
 * @param length the upper-layer length in bytes (header plus data)
 * @returns an unfolded sum to add to the body's
 */
export function pseudoHeaderSumAt(
  b: Uint8Array,
  srcOff: number,
  dstOff: number,
  addrLen: number,
  protocol: number,
  length: number,
): number {
  let s = checksumAdd(0, b, srcOff, srcOff + addrLen);
  s = checksumAdd(s, b, dstOff, dstOff + addrLen);
  return s + protocol + (length & 0xffff) + Math.floor(length / 0x10000);
}

/**
 * The unfolded pseudo-header sum for two addresses given as their own arrays.
 * @param src source address (4 or 16 bytes) @param dst destination address (same length)
 * @param protocol upper-layer protocol number @param length upper-layer length in bytes
 * @returns an unfolded sum
 * @throws {RangeError} when the address lengths differ or are not 4 or 16
 */
export function pseudoHeaderSum(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  length: number,
): number {
  if (src.length !== dst.length || (src.length !== 4 && src.length !== 16)) {
    throw new RangeError(`Cannot sum pseudo-header: address lengths ${src.length}, ${dst.length}`);
  }
  return checksumAdd(0, src, 0, src.length) + checksumAdd(0, dst, 0, dst.length) + protocol +
    (length & 0xffff) + Math.floor(length / 0x10000);
}

/**
 * Updates a checksum field after one 16-bit word it covers changed (RFC 1624 eqn. 3).
 * @param checksum the old checksum field
 * @param oldWord the word's old value @param newWord its new value
 * @returns the new checksum field
 */
export function checksumUpdate16(checksum: number, oldWord: number, newWord: number): number {
  let s = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * Updates a checksum field after one 32-bit value it covers changed (an IPv4 address, a TCP
 * sequence number): two {@linkcode checksumUpdate16} steps.
 * @param checksum the old checksum field
 * @param oldValue the old u32 @param newValue the new u32
 * @returns the new checksum field
 */
export function checksumUpdate32(checksum: number, oldValue: number, newValue: number): number {
  const c = checksumUpdate16(checksum, oldValue >>> 16, newValue >>> 16);
  return checksumUpdate16(c, oldValue & 0xffff, newValue & 0xffff);
}

/** The addresses a transport checksum covers, for control-path parse and emit calls. */
export interface PseudoHeader {
  /** Source address: 4 bytes (IPv4) or 16 (IPv6). */
  readonly src: Uint8Array;
  /** Destination address, same family. */
  readonly dst: Uint8Array;
}
