/**
 * An AbortSignal that fires on the caller's signal or after `ms` on the client's clock, with a
 * `clear()` that stops the timer (so tests' timer sanitizer stays quiet, unlike
 * `AbortSignal.timeout`).
 * @module
 */
import type { Clock } from "../base/clock.ts";

/**
 * @param clock where the timer runs
 * @param signal the caller's signal, if any
 * @param ms timeout
 * @param reason what the timeout aborts with
 * @returns the combined signal and a function to stop the timer
 */
export function timeoutSignal(
  clock: Clock,
  signal: AbortSignal | undefined,
  ms: number,
  reason = "timed out",
): { signal: AbortSignal; clear: () => void } {
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal?.reason);
  if (signal?.aborted) ac.abort(signal.reason);
  else signal?.addEventListener("abort", onAbort, { once: true });
  const id = clock.setTimeout(() => ac.abort(new Error(reason)), ms);
  return {
    signal: ac.signal,
    clear: () => {
      clock.clearTimeout(id);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}
