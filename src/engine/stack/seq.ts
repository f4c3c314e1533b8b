/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): comparisons are by the sign of the
 * 32-bit difference, so they hold across wrap-around for distances below 2^31.
 * @module
 */

/** `a + n` modulo 2^32. @param a sequence number @param n bytes @returns u32 */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The signed distance `a - b`. @param a sequence number @param b sequence number @returns int */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Whether `a < b`. @param a seq @param b seq @returns boolean */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** Whether `a <= b`. @param a seq @param b seq @returns boolean */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** Whether `a > b`. @param a seq @param b seq @returns boolean */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** Whether `a >= b`. @param a seq @param b seq @returns boolean */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** The later of two sequence numbers. @param a seq @param b seq @returns the larger */
export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}
