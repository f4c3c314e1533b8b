/**
 * The IPN states and the rule that picks the next one from what is true (Go's
 * `ipnlocal.nextStateLocked`). Pure: the backend gathers the inputs and enters the result.
 * @module
 */

/** `ipn.State` names, indexed by their JSON number. */
export const IPN_STATES = [
  "NoState",
  "InUseOtherUser",
  "NeedsLogin",
  "NeedsMachineAuth",
  "Stopped",
  "Starting",
  "Running",
] as const;

/** One `ipn.State`. */
export type IpnState = typeof IPN_STATES[number];

/**
 * The number `ipn.State` has in JSON (Notify's `State`).
 * @param s the state
 * @returns 0–6
 */
export function stateNumber(s: IpnState): number {
  return IPN_STATES.indexOf(s);
}

/** Everything the next state depends on. */
export interface StateInputs {
  /** False when the state file could not be read: the state is NoState, full stop. */
  storeHealthy: boolean;
  /** Prefs.WantRunning. */
  wantRunning: boolean;
  /** Prefs.LoggedOut. */
  loggedOut: boolean;
  /** Whether engine updates are blocked (set on entering NeedsLogin until login completes). */
  blocked: boolean;
  /** Whether the persist holds a node key. */
  hasNodeKey: boolean;
  /** Whether there is a netmap. */
  hasNetmap: boolean;
  /** Go's `AuthCantContinue`: not logged in, and no login running or waiting on a URL. */
  authCantContinue: boolean;
  /** Our node key expired. */
  keyExpired: boolean;
  /** Control says this machine is authorized. */
  machineAuthorized: boolean;
  /** The data plane has a live peer or DERP connection. */
  engineLive: boolean;
  /** The state last entered. */
  prev: IpnState;
}

/**
 * The next state; the first rule that matches wins, in Go's order.
 * @param i the inputs
 * @returns the state to enter
 *
 * @example A logged-in node that the user brought down
 * ```ts
 * import { nextState } from "./state.ts";
 * const s = nextState({ storeHealthy: true, wantRunning: false, loggedOut: false, blocked: false,
 *   hasNodeKey: true, hasNetmap: true, authCantContinue: false, keyExpired: false,
 *   machineAuthorized: true, engineLive: true, prev: "Running" });
 * if (s !== "Stopped") throw new Error(s);
 * ```
 */
export function nextState(i: StateInputs): IpnState {
  if (!i.storeHealthy) return "NoState";
  if (!i.wantRunning && !i.loggedOut && !i.blocked && i.hasNodeKey) return "Stopped";
  if (!i.hasNetmap) {
    if (i.authCantContinue || i.loggedOut) return "NeedsLogin";
    switch (i.prev) {
      case "Stopped":
        return "Starting";
      case "NoState":
        return "NoState";
      default:
        // Starting, Running and NeedsLogin stay; so does anything unexpected.
        return i.prev;
    }
  }
  if (!i.wantRunning) return "Stopped";
  if (i.keyExpired) return "NeedsLogin";
  if (!i.machineAuthorized) return "NeedsMachineAuth";
  if (i.prev === "NeedsMachineAuth") return "Starting";
  if (i.prev === "Starting") return i.engineLive ? "Running" : "Starting";
  if (i.prev === "Running") return "Running";
  return "Starting";
}
