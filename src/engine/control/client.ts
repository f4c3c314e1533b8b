/**
 * The control client as the IPN backend sees it: the contract between `src/ipn` and
 * `src/engine/control`, in the shape of Go's `controlclient.Client` and `Observer`.
 *
 * The backend creates one client per login profile, calls {@linkcode ControlClient.login} and
 * friends, and learns everything through the `onStatus` callback it passed in: errors, the
 * auth URL to show, whether the machine is authorized, and each new netmap. The client owns
 * retries with backoff and jitter; the backend never retries.
 * @module
 */
import type { Clock } from "../base/clock.ts";
import { TailnetError } from "../base/errors.ts";
import type { Logger } from "../base/logger.ts";
import type { DiscoPublic, MachinePrivate, NodePrivate, NodePublic } from "../key/keys.ts";
import type { Hostinfo, NetworkMap, UserProfile } from "./types.ts";
import type { ControlTransport } from "./transport.ts";

/** What a control client persists between runs (Go's `persist.Persist`). */
export interface Persist {
  /** The node's current private key; null before the first registration or after logout. */
  privateNodeKey: NodePrivate | null;
  /** The previous node key, sent as `OldNodeKey` while rotating. */
  oldPrivateNodeKey: NodePrivate | null;
  /** The user profile from the last successful registration. */
  userProfile: UserProfile | null;
  /** The stable node ID control gave us (`Node.StableID`), "" before the first netmap. */
  nodeId: string;
}

/** One status report from the client to the backend (Go's `controlclient.Status`). */
export interface ControlStatus {
  /** The last error, or null. A fatal login error (bad auth key) is reported here. */
  error: ControlError | null;
  /** An interactive-login URL the user must visit, when control asked for one. */
  authUrl: string | null;
  /** True once registration succeeded with the current node key. */
  loggedIn: boolean;
  /** False while control waits for an admin to approve this machine. */
  machineAuthorized: boolean;
  /** True when control said the node key expired; a new login is needed. */
  nodeKeyExpired: boolean;
  /** The newest netmap, or null before the first map response. Kept across stream breaks. */
  netmap: NetworkMap | null;
  /** What to persist now; the backend writes it to the state store when it changes. */
  persist: Persist;
}

/** Options for a new control client. */
export interface ControlClientOptions {
  /** The control server URL, e.g. `http://127.0.0.1:18080` or `https://controlplane.tailscale.com`. */
  serverUrl: string;
  /** This machine's key (the Noise static key for ts2021). */
  machineKey: MachinePrivate;
  /** What was persisted last time (node keys, user, node id). */
  persist: Persist;
  /** This process's disco public key, sent in every MapRequest. */
  discoKey: DiscoPublic;
  /** The Hostinfo to register and map with; update it with {@linkcode ControlClient.setHostinfo}. */
  hostinfo: Hostinfo;
  /** Receives every status change. Called synchronously in order; must not throw. */
  onStatus: (status: ControlStatus) => void;
  /** Logger (prefix "control"). */
  log: Logger;
  /**
   * Time for backoff, the map watchdog, request and dial timeouts (monotonic) and key expiry
   * (wall); default {@linkcode SYSTEM_CLOCK}.
   */
  clock?: Clock;
  /** Random numbers in [0, 1) for backoff jitter; default `Math.random`. */
  random?: () => number;
  /**
   * How requests reach control; default ts2021 (Noise + HTTP/2) to `serverUrl`. Tests pass an
   * in-memory fake.
   */
  transport?: ControlTransport;
}

/** Options for {@linkcode ControlClient.login}. */
export interface LoginOptions {
  /** A pre-auth key (already read from `file:` if given so). */
  authKey?: string;
  /** Generate a new node key and log in again, even if logged in (`--force-reauth`). */
  forceReauth?: boolean;
  /** Register as an ephemeral node. */
  ephemeral?: boolean;
  /** Tags to request (`--advertise-tags`). */
  tags?: string[];
}

/** The control client (Go's `controlclient.Auto`). */
export interface ControlClient extends AsyncDisposable {
  /**
   * Starts (or restarts) logging in; progress arrives through `onStatus`. Once logged in the
   * client keeps a map poll open and reconnects on its own.
   */
  login(options: LoginOptions): void;
  /** Tells control to expire this node key, then reports `loggedIn: false`. */
  logout(signal?: AbortSignal): Promise<void>;
  /** Replaces the Hostinfo; sent to control with a lite map update. */
  setHostinfo(hostinfo: Hostinfo): void;
  /** Replaces our endpoints (`ip:port` and their types); sent with a lite map update. */
  setEndpoints(endpoints: { addr: string; type: number }[]): void;
  /** Pauses (true) or resumes the map poll, e.g. while `WantRunning` is false. */
  setPaused(paused: boolean): void;
  /** Stops everything; safe to call twice. */
  close(): Promise<void>;
}

/** A control-plane failure; `retryable` says whether backing off and trying again can help. */
export class ControlError extends TailnetError {
  /** The HTTP status, when one was received. */
  readonly httpStatus: number | undefined;
  /** How long the server asked us to wait (HTTP 429 `Retry-After`), in ms, when it said. */
  retryAfterMs: number | undefined;
  /**
   * @param code stable reason
   * @param message one line
   * @param retryable whether to retry
   * @param httpStatus HTTP status if any
   */
  constructor(code: string, message: string, retryable: boolean, httpStatus?: number) {
    super(code, message, { retryable });
    this.name = "ControlError";
    this.httpStatus = httpStatus;
  }
}

/** The empty persist of a machine that never logged in. */
export function emptyPersist(): Persist {
  return { privateNodeKey: null, oldPrivateNodeKey: null, userProfile: null, nodeId: "" };
}

/** The node key's public half, or null. @param p persist */
export type PersistNodePublic = (p: Persist) => NodePublic | null;
