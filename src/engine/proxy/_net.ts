/**
 * Small network helpers private to the proxy folder.
 * @module
 */

/**
 * Whether `ip` is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback).
 * @param ip an address in text form @returns true for loopback
 */
export function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  return /^127\.\d+\.\d+\.\d+$/.test(v4) || ip === "::1";
}

/**
 * An AbortSignal that fires after `ms` or when `parent` fires, and a `done` that clears the
 * timer (call it in a `finally`, so no timer outlives the operation).
 * @param ms the timeout @param parent an outer signal (server shutdown)
 * @returns the signal and its cleanup
 */
export function timeoutSignal(
  ms: number,
  parent?: AbortSignal,
): { signal: AbortSignal; done: () => void } {
  const ctrl = new AbortController();
  const timer = setTimeout(
    () => ctrl.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError")),
    ms,
  );
  const onParent = () => ctrl.abort(parent?.reason);
  if (parent?.aborted) ctrl.abort(parent.reason);
  else parent?.addEventListener("abort", onParent, { once: true });
  return {
    signal: ctrl.signal,
    done: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
    },
  };
}
