/**
 * The one Noise HTTP/2 connection to a control server, dialed on demand and replaced when it
 * dies (Go keeps one per server and multiplexes every call on it). Concurrent callers of
 * {@linkcode ControlConnection.get} share one dial.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import { type Clock, SYSTEM_CLOCK } from "../base/clock.ts";
import type { MachinePrivate, MachinePublic } from "../key/keys.ts";
import { type Connector, dialNoise, fetchServerKey, parseServerUrl } from "./dial.ts";
import { NoiseH2 } from "./h2.ts";
import { ControlError } from "./client.ts";

/** Options for {@linkcode ControlConnection}. */
export interface ControlConnectionOptions {
  /** Control URL. */
  serverUrl: string;
  /** Our machine key. */
  machineKey: MachinePrivate;
  /** Protocol version (capver). */
  version: number;
  /** Logger. */
  log: Logger;
  /** Byte-stream opener for tests. */
  connect?: Connector;
  /** Where dial timeouts run and dial time is measured; default the system clock. */
  clock?: Clock;
}

/** A lazily dialed, self-replacing Noise HTTP/2 connection. */
export class ControlConnection {
  readonly #opts: ControlConnectionOptions;
  #h2: NoiseH2 | null = null;
  #dialing: Promise<NoiseH2> | null = null;
  #controlKey: MachinePublic | null = null;
  #closed = false;
  readonly #all = new Set<NoiseH2>();

  /** @param opts URL, keys, version */
  constructor(opts: ControlConnectionOptions) {
    this.#opts = opts;
  }

  /** Control's Noise key, once fetched. */
  get controlKey(): MachinePublic | null {
    return this.#controlKey;
  }

  /**
   * A usable HTTP/2 session, dialing a new one if needed.
   * @param signal cancels the dial
   * @returns the session
   */
  get(signal?: AbortSignal): Promise<NoiseH2> {
    if (this.#closed) {
      return Promise.reject(new ControlError("closed", "Control client is closed", false));
    }
    if (this.#h2?.usable) return Promise.resolve(this.#h2);
    if (this.#dialing) return this.#dialing;
    const p = this.#dial(signal).finally(() => {
      if (this.#dialing === p) this.#dialing = null;
    });
    this.#dialing = p;
    return p;
  }

  async #dial(signal?: AbortSignal): Promise<NoiseH2> {
    const old = this.#h2;
    this.#h2 = null;
    if (old) this.#retire(old);
    const { serverUrl, machineKey, version, log } = this.#opts;
    const clock = this.#opts.clock ?? SYSTEM_CLOCK;
    const t0 = clock.now();
    // Fetch the key on every dial: a restarted server may have a new one, and the GET is cheap.
    this.#controlKey = await fetchServerKey(serverUrl, version, signal, clock);
    const conn = await dialNoise({
      serverUrl,
      machineKey,
      controlKey: this.#controlKey,
      version,
      signal,
      connect: this.#opts.connect,
      clock,
    });
    // The conn strips the early payload whenever it comes; HTTP/2 need not wait for it (a
    // server that sends none would otherwise stall us until its first HTTP/2 frame).
    conn.waitEarlyNoise().then((early) => {
      if (early) log.debug(`early payload: challenge ${early.nodeKeyChallenge.slice(0, 16)}…`);
    });
    const { url } = parseServerUrl(serverUrl);
    const h2 = new NoiseH2(conn, `https://${url.host}`);
    if (this.#closed) {
      await h2.close();
      throw new ControlError("closed", "Control client is closed", false);
    }
    log.debug(
      `ts2021 connected to ${serverUrl} in ${Math.round(clock.now() - t0)} ms`,
    );
    this.#h2 = h2;
    this.#all.add(h2);
    h2.closed.then(() => this.#all.delete(h2));
    return h2;
  }

  #retire(h2: NoiseH2): void {
    h2.close().catch(() => {});
  }

  /** Drops the current session (e.g. after the watchdog fired); the next get() redials. */
  reset(): void {
    const h2 = this.#h2;
    this.#h2 = null;
    if (h2) this.#retire(h2);
  }

  /** Closes every session; later get() calls fail. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#h2 = null;
    if (this.#dialing) await this.#dialing.catch(() => {});
    await Promise.all([...this.#all].map((h) => h.close().catch(() => {})));
  }
}
