/**
 * The auto control client (Go: `control/controlclient/auto.go`): logs in, keeps the map poll
 * open, reconnects with exponential backoff and jitter on retryable errors, keeps the netmap
 * across outages, and reports every change through `onStatus`. Every timer, request and
 * connection belongs to the instance and ends in {@linkcode AutoClient.close}.
 *
 * One loop runs per login: register (`login.ts`), then map sessions until paused, logged out or
 * closed. Lite updates and ping answers run beside it on the same connection.
 * @module
 */
import {
  type ControlClient,
  type ControlClientOptions,
  ControlError,
  type ControlStatus,
  type LoginOptions,
  type Persist,
} from "./client.ts";
import type { Hostinfo, NetworkMap } from "./types.ts";
import type { MapRequest, MapResponse, PingRequest } from "./tailcfg.ts";
import { type ControlTransport, NoiseTransport } from "./transport.ts";
import { applyMapResponse } from "./netmap.ts";
import { runLogin } from "./login.ts";
import { logoutRequest, mapRequest } from "./requests.ts";
import { backoffDelay } from "./backoff.ts";
import { TimerSet } from "./_timers.ts";
import {
  MAP_WATCHDOG_MS,
  MAX_DEBUG_SLEEP_MS,
  MAX_RETRY_AFTER_MS,
  REQUEST_TIMEOUT_MS,
} from "./constants.ts";
import { CAPABILITY_VERSION } from "../../version.ts";
import type { Logger } from "../base/logger.ts";
import { type Clock, SYSTEM_CLOCK, type TimerId } from "../base/clock.ts";

export { backoffDelay } from "./backoff.ts";
export { ZERO_NODE_KEY } from "./requests.ts";

/** How many PingRequest URLs are remembered to answer each only once. */
const PINGS_REMEMBERED = 64;

/**
 * Creates the auto control client. Nothing happens until {@linkcode ControlClient.login}.
 * @param options server, keys, hostinfo, callbacks
 * @returns the client
 */
export function createControlClient(options: ControlClientOptions): ControlClient {
  return new AutoClient(options);
}

/** Go's `controlclient.Auto`: see the module doc. */
export class AutoClient implements ControlClient {
  readonly #opts: ControlClientOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #transport: ControlTransport;
  readonly #timers: TimerSet;

  // What onStatus reports.
  #persist: Persist;
  #netmap: NetworkMap | null = null;
  #error: ControlError | null = null;
  #authUrl: string | null = null;
  #loggedIn = false;
  #machineAuthorized = false;
  #nodeKeyExpired = false;

  // What we tell control.
  #hostinfo: Hostinfo;
  #endpoints: { addr: string; type: number }[] = [];

  // The loop and the side work.
  #closed = false;
  #paused = false;
  #resume: (() => void) | null = null;
  #loopAbort: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #mapAbort: AbortController | null = null;
  #mapLive = false;
  readonly #side = new Set<Promise<unknown>>();
  readonly #sideAbort = new AbortController();
  #liteDirty = false;
  #liteRunning = false;
  readonly #pingsSeen = new Set<string>();

  /** @param options see {@linkcode ControlClientOptions} */
  constructor(options: ControlClientOptions) {
    this.#opts = options;
    this.#log = options.log;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#random = options.random ?? Math.random;
    this.#timers = new TimerSet(this.#clock);
    this.#persist = { ...options.persist };
    this.#hostinfo = { ...options.hostinfo };
    this.#transport = options.transport ?? new NoiseTransport({
      serverUrl: options.serverUrl,
      machineKey: options.machineKey,
      version: CAPABILITY_VERSION,
      log: options.log,
      clock: this.#clock,
    });
  }

  // --- ControlClient ---

  /** @inheritdoc */
  login(options: LoginOptions): void {
    if (this.#closed) return;
    this.#log.debug(
      `login${options.authKey ? " with auth key" : ""}${
        options.forceReauth ? " (force reauth)" : ""
      }`,
    );
    const previous = this.#stopLoop();
    const ac = new AbortController();
    this.#loopAbort = ac;
    this.#loop = (async () => {
      await previous;
      await this.#run(options, ac.signal);
    })().catch((err) => this.#log.error("control loop failed:", err));
  }

  /** @inheritdoc */
  async logout(signal?: AbortSignal): Promise<void> {
    if (this.#closed) throw new ControlError("closed", "Control client is closed", false);
    await this.#stopLoop();
    const key = this.#persist.privateNodeKey;
    if (key !== null) {
      const ac = new AbortController();
      const onAbort = () => ac.abort(new ControlError("cancelled", "Logout cancelled", true));
      signal?.addEventListener("abort", onAbort, { once: true });
      const timer = this.#timers.set(
        () => ac.abort(new ControlError("timeout", "Logout timed out", true)),
        REQUEST_TIMEOUT_MS,
      );
      try {
        const resp = await this.#transport.register(logoutRequest(key, this.#hostinfo), ac.signal);
        if (resp.Error) {
          throw new ControlError("logout-failed", `Control refused logout: ${resp.Error}`, false);
        }
      } catch (err) {
        const e = ac.signal.aborted ? asControlError(ac.signal.reason) : asControlError(err);
        this.#error = e;
        this.#emit();
        throw e;
      } finally {
        this.#timers.clear(timer);
        signal?.removeEventListener("abort", onAbort);
      }
    }
    this.#persist = {
      privateNodeKey: null,
      oldPrivateNodeKey: null,
      userProfile: null,
      nodeId: "",
    };
    this.#loggedIn = false;
    this.#machineAuthorized = false;
    this.#nodeKeyExpired = false;
    this.#authUrl = null;
    this.#netmap = null;
    this.#error = null;
    this.#transport.reset();
    this.#emit();
  }

  /** @inheritdoc */
  setHostinfo(hostinfo: Hostinfo): void {
    if (JSON.stringify(hostinfo) === JSON.stringify(this.#hostinfo)) return;
    this.#hostinfo = { ...hostinfo };
    this.#queueLite();
  }

  /** @inheritdoc */
  setEndpoints(endpoints: { addr: string; type: number }[]): void {
    if (JSON.stringify(endpoints) === JSON.stringify(this.#endpoints)) return;
    this.#endpoints = endpoints.map((e) => ({ ...e }));
    this.#queueLite();
  }

  /** @inheritdoc */
  setPaused(paused: boolean): void {
    if (this.#paused === paused) return;
    this.#paused = paused;
    if (paused) {
      this.#mapAbort?.abort(new ControlError("paused", "Map poll paused", true));
    } else {
      const r = this.#resume;
      this.#resume = null;
      r?.();
    }
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    if (this.#closed) {
      await this.#loop;
      return;
    }
    this.#closed = true;
    this.#sideAbort.abort(new ControlError("closed", "Control client is closed", false));
    const loop = this.#stopLoop();
    this.#timers.clearAll();
    await loop;
    await Promise.allSettled([...this.#side]);
    await this.#transport.close();
    this.#timers.clearAll();
  }

  /** @inheritdoc */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The current status snapshot (what the last onStatus call carried). */
  get status(): ControlStatus {
    return this.#snapshot();
  }

  // --- the loop ---

  #stopLoop(): Promise<void> {
    const why = new ControlError("cancelled", "Login superseded", true);
    this.#loopAbort?.abort(why);
    this.#mapAbort?.abort(why);
    this.#loopAbort = null;
    const r = this.#resume;
    this.#resume = null;
    r?.();
    return this.#loop ?? Promise.resolve();
  }

  async #run(login: LoginOptions, signal: AbortSignal): Promise<void> {
    // A register in flight when this login is superseded runs on (up to a request timeout),
    // so the next login's register reaches control only after it: two at once race there.
    const settle = new AbortController();
    const onClose = () => settle.abort(this.#sideAbort.signal.reason);
    let settleTimer: TimerId = -1;
    const onSuperseded = () => {
      settleTimer = this.#timers.set(() => settle.abort(signal.reason), REQUEST_TIMEOUT_MS);
    };
    this.#sideAbort.signal.addEventListener("abort", onClose, { once: true });
    signal.addEventListener("abort", onSuperseded, { once: true });
    try {
      await this.#runLoop(login, signal, settle.signal);
    } finally {
      this.#sideAbort.signal.removeEventListener("abort", onClose);
      signal.removeEventListener("abort", onSuperseded);
      this.#timers.clear(settleTimer);
    }
  }

  async #runLoop(login: LoginOptions, signal: AbortSignal, settle: AbortSignal): Promise<void> {
    let failures = 0;
    // Register unless this login only resumes a session we already have.
    let mustRegister = !this.#loggedIn || login.forceReauth === true ||
      login.authKey !== undefined || this.#nodeKeyExpired;
    while (!signal.aborted && !this.#closed) {
      try {
        if (mustRegister) {
          const result = await runLogin({
            transport: this.#transport,
            persist: this.#persist,
            hostinfo: this.#hostinfo,
            login,
            regenerate: login.forceReauth === true || this.#nodeKeyExpired,
            onAuthUrl: (url) => {
              this.#authUrl = url;
              this.#emit();
            },
            signal,
            settleSignal: settle,
            log: this.#log,
          });
          mustRegister = false;
          failures = 0;
          this.#persist = result.persist;
          this.#loggedIn = true;
          this.#machineAuthorized = result.machineAuthorized;
          this.#nodeKeyExpired = false;
          this.#authUrl = null;
          this.#error = null;
          this.#emit();
        }
        if (this.#persist.privateNodeKey === null) return;
        if (this.#paused) {
          await new Promise<void>((resolve) => (this.#resume = resolve));
          continue;
        }
        await this.#mapSession(signal, () => (failures = 0));
      } catch (err) {
        const e = asControlError(err);
        if (signal.aborted || this.#closed) return;
        if (e.code === "paused") continue;
        if (e.code === "invalid-auth-key" || e.code === "login-failed") this.#authUrl = null;
        this.#error = e;
        this.#emit();
        if (!e.retryable) {
          this.#log.warn(`${e.message} (not retrying)`);
          return;
        }
        failures++;
        const delay = Math.max(
          backoffDelay(failures, this.#random()),
          Math.min(e.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS),
        );
        this.#log.info(`${e.message}; retrying in ${delay} ms`);
        await this.#timers.sleep(delay, signal);
      }
    }
  }

  #mapRequest(stream: boolean): MapRequest {
    return mapRequest(
      this.#persist.privateNodeKey!,
      this.#opts.discoKey,
      this.#hostinfo,
      this.#endpoints,
      stream,
    );
  }

  /** One map session: returns or throws when the stream ends; the netmap survives it. */
  async #mapSession(signal: AbortSignal, onMessage: () => void): Promise<void> {
    const ac = new AbortController();
    this.#mapAbort = ac;
    const onOuter = () => ac.abort(signal.reason);
    signal.addEventListener("abort", onOuter, { once: true });
    let watchdog: TimerId = -1;
    const armWatchdog = () => {
      this.#timers.clear(watchdog);
      watchdog = this.#timers.set(() => {
        this.#log.warn(`no map message for ${MAP_WATCHDOG_MS / 1000} s; reconnecting`);
        this.#transport.reset();
        ac.abort(
          new ControlError("map-timeout", `Map poll silent for ${MAP_WATCHDOG_MS / 1000} s`, true),
        );
      }, MAP_WATCHDOG_MS);
    };
    armWatchdog();
    let first = true;
    // This request carries the current Hostinfo and endpoints: only later changes need a lite
    // update.
    this.#liteDirty = false;
    const req = this.#mapRequest(true);
    try {
      for await (const msg of this.#transport.map(req, ac.signal)) {
        armWatchdog();
        onMessage();
        if (msg.PingRequest) this.#handlePing(msg.PingRequest);
        if (msg.KeepAlive === true) continue;
        // Like Go's per-session mapSession, a new session's first response is the whole state:
        // it must carry Node, and peers gone during an outage must not linger.
        this.#applyMessage(first ? null : this.#netmap, msg);
        if (first) {
          first = false;
          this.#mapLive = true;
          this.#log.info(`map session up; ${this.#netmap!.peers.length} peers`);
          if (this.#liteDirty) this.#queueLite();
        }
        await this.#debugSleep(msg, ac.signal);
      }
      if (ac.signal.aborted) throw ac.signal.reason;
      throw new ControlError("connection-lost", "Map stream ended", true);
    } catch (err) {
      if (ac.signal.aborted && ac.signal.reason instanceof ControlError) throw ac.signal.reason;
      throw err;
    } finally {
      this.#mapLive = false;
      this.#timers.clear(watchdog);
      signal.removeEventListener("abort", onOuter);
      if (this.#mapAbort === ac) this.#mapAbort = null;
    }
  }

  #applyMessage(base: NetworkMap | null, msg: MapResponse): void {
    const nm = applyMapResponse(base, msg, { nowMs: this.#clock.wallNow() });
    this.#netmap = nm;
    const nodeId = nm.self.stableId;
    if (nodeId && nodeId !== this.#persist.nodeId) this.#persist = { ...this.#persist, nodeId };
    this.#machineAuthorized = nm.self.machineAuthorized;
    if (nm.self.expired && !this.#nodeKeyExpired) {
      this.#log.warn("control says our node key has expired; log in again");
      this.#nodeKeyExpired = true;
    }
    this.#error = null;
    this.#emit();
  }

  /** `Debug.SleepSeconds`: control asks us to pause the stream (capped at 5 min). */
  async #debugSleep(msg: MapResponse, signal: AbortSignal): Promise<void> {
    const s = msg.Debug?.SleepSeconds;
    if (typeof s !== "number" || !(s > 0)) return;
    const ms = Math.min(s * 1000, MAX_DEBUG_SLEEP_MS);
    this.#log.info(`control asked us to sleep ${ms} ms`);
    await this.#timers.sleep(ms, signal);
  }

  // --- side work: lite updates and pings ---

  #queueLite(): void {
    this.#liteDirty = true;
    if (this.#liteRunning || !this.#mapLive || this.#closed) return;
    this.#liteRunning = true;
    this.#track(this.#sendLites().finally(() => (this.#liteRunning = false)));
  }

  async #sendLites(): Promise<void> {
    while (this.#liteDirty && this.#mapLive && !this.#closed) {
      this.#liteDirty = false;
      const ac = new AbortController();
      const onAbort = () => ac.abort(this.#sideAbort.signal.reason);
      this.#sideAbort.signal.addEventListener("abort", onAbort, { once: true });
      const timer = this.#timers.set(
        () => ac.abort(new ControlError("timeout", "Lite update timed out", true)),
        REQUEST_TIMEOUT_MS,
      );
      try {
        await this.#transport.liteUpdate(this.#mapRequest(false), ac.signal);
        this.#log.debug("lite update sent");
      } catch (err) {
        // The next map session carries the same Hostinfo and endpoints, so no retry here. A
        // cancellation (the session ended, or we are closing) is not worth a warning.
        const e = asControlError(err);
        if (e.code === "cancelled" || this.#closed) {
          this.#log.debug(`lite update not sent: ${e.message}`);
        } else this.#log.warn(`lite update failed: ${e.message}`);
        this.#liteDirty = true;
        return;
      } finally {
        this.#timers.clear(timer);
        this.#sideAbort.signal.removeEventListener("abort", onAbort);
      }
    }
  }

  #handlePing(ping: PingRequest): void {
    if (!ping.URL || this.#pingsSeen.has(ping.URL)) return;
    this.#pingsSeen.add(ping.URL);
    if (this.#pingsSeen.size > PINGS_REMEMBERED) {
      this.#pingsSeen.delete(this.#pingsSeen.values().next().value!);
    }
    if (ping.Types) {
      this.#log.debug(`ignoring PingRequest of types ${ping.Types}`);
      return;
    }
    this.#track(
      this.#transport.ping(ping, this.#sideAbort.signal).then(
        (status) => this.#log.debug(`answered ping ${ping.URL}: HTTP ${status}`),
        (err) => this.#log.warn(`ping answer failed: ${asControlError(err).message}`),
      ),
    );
  }

  #track(p: Promise<unknown>): void {
    this.#side.add(p);
    p.finally(() => this.#side.delete(p));
  }

  // --- status ---

  #snapshot(): ControlStatus {
    return {
      error: this.#error,
      authUrl: this.#authUrl,
      loggedIn: this.#loggedIn,
      machineAuthorized: this.#machineAuthorized,
      nodeKeyExpired: this.#nodeKeyExpired,
      netmap: this.#netmap,
      persist: { ...this.#persist },
    };
  }

  #emit(): void {
    try {
      this.#opts.onStatus(this.#snapshot());
    } catch (err) {
      this.#log.error("onStatus threw:", err);
    }
  }
}

/**
 * Any thrown value as a ControlError (unknown failures count as retryable connection losses).
 * @param err what was thrown
 * @returns the error
 */
export function asControlError(err: unknown): ControlError {
  if (err instanceof ControlError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new ControlError("connection-lost", `Control connection failed: ${msg}`, true);
}
