/**
 * TAI64N timestamps as WireGuard initiations carry them: 8 bytes big-endian seconds plus
 * 2^62 + 10, then 4 bytes big-endian nanoseconds, rounded down to a multiple of 2^24 so the
 * timestamp does not leak a fine-grained clock (as wireguard-go's tai64n does).
 * @module
 */

/** Length of a TAI64N timestamp. */
export const TAI64N_LEN = 12;
const WHITENER_MASK = 0x1000000 - 1;

/**
 * Writes the TAI64N form of a wall-clock time.
 * @param wallMs milliseconds since the Unix epoch
 * @param out buffer to write into
 * @param off where
 * @returns the offset after the timestamp
 */
export function emitTai64n(wallMs: number, out: Uint8Array, off = 0): number {
  const secs = Math.floor(wallMs / 1000);
  const nanos = ((wallMs - secs * 1000) * 1_000_000) & ~WHITENER_MASK;
  const dv = new DataView(out.buffer, out.byteOffset + off, TAI64N_LEN);
  dv.setUint32(0, 0x40000000 + Math.floor(secs / 2 ** 32));
  dv.setUint32(4, ((secs >>> 0) + 10) >>> 0);
  dv.setUint32(8, nanos >>> 0);
  return off + TAI64N_LEN;
}

/**
 * Whether timestamp `a` is strictly after `b` (byte-wise comparison, as the format is
 * big-endian).
 * @param a 12 bytes
 * @param b 12 bytes
 * @returns true when a > b
 */
export function tai64nAfter(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < TAI64N_LEN; i++) {
    if (a[i] !== b[i]) return a[i] > b[i];
  }
  return false;
}
