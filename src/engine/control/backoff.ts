/**
 * Retry delays: exponential backoff with jitter, as Go's `backoff` package does for the auto
 * client.
 * @module
 */
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS } from "./constants.ts";

/**
 * The delay after `failures` consecutive failures: doubling from {@linkcode BACKOFF_MIN_MS} up
 * to {@linkcode BACKOFF_MAX_MS}, then a random point in its upper half so that many clients do
 * not retry in step.
 * @param failures consecutive failures so far, 1 or more
 * @param random a number in [0, 1)
 * @returns milliseconds to wait
 * @example Delays for the first and third failure
 * ```ts
 * import { backoffDelay } from "./backoff.ts";
 * if (backoffDelay(1, 0) !== 250 || backoffDelay(3, 0) !== 1000) throw new Error();
 * ```
 */
export function backoffDelay(failures: number, random: number): number {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}
