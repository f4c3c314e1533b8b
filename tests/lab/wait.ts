/**
 * Waiting for a condition with a deadline, the lab's only way to wait for another program.
 *
 * @example Wait until a counter reaches 3
 * ```ts
 * import { waitFor } from "./wait.ts";
 * let n = 0;
 * const got = await waitFor("n reaches 3", () => (++n >= 3 ? n : null), { intervalMs: 1 });
 * if (got !== 3) throw new Error("waitFor returned " + got);
 * ```
 * @module
 */

/** A {@linkcode waitFor} deadline passed. */
export class LabTimeoutError extends Error {
  /** @param message what was awaited, for how long, and the last failure seen */
  constructor(message: string) {
    super(message);
    this.name = "LabTimeoutError";
  }
}

/** Options of {@linkcode waitFor}. */
export interface WaitOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 100 ms). */
  intervalMs?: number;
  /** Extra text for the timeout message, computed only on timeout (e.g. process logs). */
  details?: () => string;
  /** Stops waiting early with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Calls `check` until it returns a value other than null, undefined or false, and returns that
 * value. A `check` that throws counts as "not yet"; its last error goes into the timeout message.
 * @param what what is awaited, for the message ("headscale /health answers")
 * @param check one attempt
 * @param opts deadline, pace and failure details
 * @returns the first accepted value of `check`
 * @throws {LabTimeoutError} when the deadline passes first
 */
export async function waitFor<T>(
  what: string,
  check: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown = undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const v = await check();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - performance.now();
    if (left <= 0) break;
    await sleep(Math.min(intervalMs, left), opts.signal);
  }
  const last = lastError === undefined
    ? ""
    : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  const details = opts.details ? `\n${opts.details()}` : "";
  throw new LabTimeoutError(`Timed out after ${timeoutMs} ms waiting for ${what}${last}${details}`);
}

/**
 * Resolves after `ms`, or rejects with the signal's reason when it aborts first.
 * @param ms delay
 * @param signal optional cancellation
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
