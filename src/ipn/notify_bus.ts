/**
 * The IPN notification bus: `ipn.Notify` messages from the backend to every watcher
 * (`watch-ipn-bus`), with the watch-option mask bits of tailscaled v1.98.
 * @module
 */
import type { PrefsJson } from "./prefs.ts";

/** `ipn.NotifyWatchOpt` bits (decimal in `?mask=`). */
export const NotifyWatchOpt = {
  EngineUpdates: 1,
  InitialState: 2,
  InitialPrefs: 4,
  InitialNetMap: 8,
  NoPrivateKeys: 16,
  InitialDriveShares: 32,
  InitialOutgoingFiles: 64,
  InitialHealthState: 128,
  RateLimit: 256,
  HealthActions: 512,
  InitialSuggestedExitNode: 1024,
  InitialClientVersion: 2048,
  PeerChanges: 4096,
  NoNetMap: 8192,
} as const;

/** Every bit tailnet accepts; the rest are refused over the LocalAPI. */
export const KNOWN_WATCH_BITS = 0x3fff;

/** `health.State` as JSON: warnings by code. */
export interface HealthStateJson {
  /** Code to warning. */
  Warnings: Record<string, { WarnableCode: string; Severity: string; Text: string }>;
}

/** `ipn.Notify` as tailnet sends it (a subset of tailscaled's fields; same names). */
export interface Notify {
  /** Set by the bus when sending. */
  Version?: string;
  /** One per watch session. */
  SessionID?: string;
  /** A fatal backend error. */
  ErrMessage?: string;
  /** Present (`{}`) when a login just finished. */
  LoginFinished?: Record<string, never>;
  /** The new state, as the `ipn.State` number. */
  State?: number;
  /** The new prefs, private keys zeroed. */
  Prefs?: PrefsJson;
  /** The new netmap (a subset of Go's `netmap.NetworkMap` fields). */
  NetMap?: Record<string, unknown>;
  /** Our own node (`tailcfg.Node`) after a netmap change. */
  SelfChange?: Readonly<Record<string, unknown>>;
  /** A URL the user must visit to log in. */
  BrowseToURL?: string;
  /** Health warnings. */
  Health?: HealthStateJson;
}

/** Fields tailscaled writes as `null` when unset (not `omitzero`). */
const NULL_WHEN_UNSET = [
  "ErrMessage",
  "LoginFinished",
  "State",
  "Prefs",
  "NetMap",
  "Engine",
  "BrowseToURL",
  "DriveShares",
] as const;

/**
 * One Notify as a JSON line in tailscaled's shape (unset nullable fields as `null`).
 * @param n the notify
 * @param version the daemon version
 * @param mask the watcher's mask (NoNetMap drops `NetMap`)
 * @returns JSON text with a final newline
 */
export function notifyToJsonLine(n: Notify, version: string, mask: number): string {
  const out: Record<string, unknown> = { Version: version };
  if (n.SessionID) out.SessionID = n.SessionID;
  for (const f of NULL_WHEN_UNSET) out[f] = null;
  for (const [k, v] of Object.entries(n)) {
    if (v === undefined || k === "Version" || k === "SessionID") continue;
    out[k] = v;
  }
  if (mask & NotifyWatchOpt.NoNetMap) out.NetMap = null;
  return JSON.stringify(out) + "\n";
}

/** A watcher's callback; it must not throw. */
export type NotifyListener = (n: Notify) => void;

/** Fan-out of notifications to watchers, in publish order. */
export class NotifyBus {
  readonly #listeners = new Set<NotifyListener>();
  readonly #onClose = new Set<() => void>();
  #closed = false;

  /**
   * Adds a watcher.
   * @param fn receives each notify
   * @param onClose called once if the bus closes while subscribed
   * @returns a function that removes the watcher
   */
  subscribe(fn: NotifyListener, onClose?: () => void): () => void {
    if (this.#closed) {
      onClose?.();
      return () => {};
    }
    this.#listeners.add(fn);
    if (onClose) this.#onClose.add(onClose);
    return () => {
      this.#listeners.delete(fn);
      if (onClose) this.#onClose.delete(onClose);
    };
  }

  /** The number of watchers. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Sends `n` to every watcher. @param n the notify */
  publish(n: Notify): void {
    for (const fn of [...this.#listeners]) fn(n);
  }

  /** Ends every watch; later subscriptions end at once. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    const cbs = [...this.#onClose];
    this.#onClose.clear();
    for (const cb of cbs) cb();
  }
}
