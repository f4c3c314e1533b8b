/**
 * The auto control client (Go: `control/controlclient/auto.go`): logs in, keeps the map poll
 * open, reconnects with exponential backoff and jitter on retryable errors, keeps the netmap
 * across outages, and reports every change through `onStatus`. Every timer, request and
 * connection belongs to the instance and ends in {@linkcode AutoClient.close}.
 *
 * One loop runs per login: register (with AuthURL/Followup, NodeKeyExpired and key rotation),
 * then map sessions until paused, logged out or closed. Lite updates and ping answers run beside
 * it on the same connection.
 * @module
 */
import {
  type ControlClient,
  type ControlClientOptions,
  type ControlClock,
  ControlError,
  type ControlStatus,
  type LoginOptions,
  type Persist,
} from "./client.ts";
import type { Hostinfo, NetworkMap, UserProfile } from "./types.ts";
import type { MapRequest, PingRequest, RegisterRequest, RegisterResponse } from "./tailcfg.ts";
import { type ControlTransport, NoiseTransport } from "./transport.ts";
import { applyMapResponse } from "./netmap.ts";
import {
  BACKOFF_MAX_MS,
  BACKOFF_MIN_MS,
  LOGOUT_EXPIRY,
  MAP_WATCHDOG_MS,
  REQUEST_TIMEOUT_MS,
  ZERO_TIME,
} from "./constants.ts";
import { CAPABILITY_VERSION } from "../../version.ts";
import {
  generatePrivate,
  type NodePrivate,
  publicOf,
  publicToText,
  shortKey,
} from "../key/keys.ts";
import type { Logger } from "../base/logger.ts";

/** `nodekey:` and 64 zeros: Go's zero OldNodeKey. */
export const ZERO_NODE_KEY = "nodekey:" + "0".repeat(64);

/** The real clock. */
export const realClock: ControlClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as number,
  clearTimeout: (id) => clearTimeout(id),
};

/** How many times a login retries a NodeKeyExpired answer with a fresh key. */
const MAX_KEY_REGENERATIONS = 2;

/**
 * The backoff delay after `failures` consecutive failures: doubling from
 * {@linkcode BACKOFF_MIN_MS} up to {@linkcode BACKOFF_MAX_MS}, then a random point in its upper
 * half so that many clients do not retry in step.
 * @param failures consecutive failures so far, 1 or more
 * @param random a number in [0, 1)
 * @returns milliseconds to wait
 */
export function backoffDelay(failures: number, random: number): number {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}

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
  readonly #clock: ControlClock;
  readonly #random: () => number;
  readonly #transport: ControlTransport;

  #persist: Persist;
  #hostinfo: Hostinfo;
  #endpoints: { addr: string; type: number }[] = [];
  #netmap: NetworkMap | null = null;
  #error: ControlError | null = null;
  #authUrl: string | null = null;
  #loggedIn = false;
  #machineAuthorized = false;
  #nodeKeyExpired = false;

  #closed = false;
  #paused = false;
  #resume: (() => void) | null = null;
  #loopAbort: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #mapAbort: AbortController | null = null;
  #mapLive = false;
  readonly #timers = new Set<number>();
  readonly #side = new Set<Promise<unknown>>();
  readonly #sideAbort = new AbortController();
  #liteDirty = false;
  #liteRunning = false;
  readonly #pingsSeen = new Set<string>();

  /** @param options see {@linkcode ControlClientOptions} */
  constructor(options: ControlClientOptions) {
    this.#opts = options;
    this.#log = options.log;
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#persist = { ...options.persist };
    this.#hostinfo = { ...options.hostinfo };
    this.#transport = options.transport ?? new NoiseTransport({
      serverUrl: options.serverUrl,
      machineKey: options.machineKey,
      version: CAPABILITY_VERSION,
      log: options.log,
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
      const req = this.#registerRequest(key, null, undefined);
      req.Expiry = LOGOUT_EXPIRY;
      const ac = new AbortController();
      const onAbort = () => ac.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      const timer = this.#setTimer(() => ac.abort(), REQUEST_TIMEOUT_MS);
      try {
        const resp = await this.#transport.register(req, ac.signal);
        if (resp.Error) {
          throw new ControlError("logout-failed", `Control refused logout: ${resp.Error}`, false);
        }
      } catch (err) {
        const e = asControlError(err);
        this.#error = e;
        this.#emit();
        throw e;
      } finally {
        this.#clearTimer(timer);
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
    this.#sideAbort.abort();
    const loop = this.#stopLoop();
    this.#resume?.();
    for (const id of this.#timers) this.#clock.clearTimeout(id);
    this.#timers.clear();
    await loop;
    await Promise.allSettled([...this.#side]);
    await this.#transport.close();
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
    this.#loopAbort?.abort(new ControlError("cancelled", "Login superseded", true));
    this.#mapAbort?.abort(new ControlError("cancelled", "Login superseded", true));
    this.#loopAbort = null;
    const r = this.#resume;
    this.#resume = null;
    r?.();
    return this.#loop ?? Promise.resolve();
  }

  async #run(login: LoginOptions, signal: AbortSignal): Promise<void> {
    let failures = 0;
    let forceReauth = login.forceReauth === true;
    const needRegister = () => !this.#loggedIn || forceReauth || login.authKey !== undefined;
    let registered = false;
    while (!signal.aborted && !this.#closed) {
      try {
        if (!registered && needRegister()) {
          await this.#authenticate(login, forceReauth, signal);
          forceReauth = false;
          failures = 0;
        } else if (!registered && !this.#loggedIn) {
          await this.#authenticate(login, false, signal);
          failures = 0;
        }
        registered = true;
        if (this.#persist.privateNodeKey === null) return;
        if (this.#paused) {
          await new Promise<void>((resolve) => {
            this.#resume = resolve;
          });
          continue;
        }
        await this.#mapSession(signal, () => {
          failures = 0;
        });
      } catch (err) {
        const e = asControlError(err);
        if (signal.aborted || this.#closed) return;
        if (e.code === "paused") continue;
        this.#error = e;
        this.#emit();
        if (!e.retryable) {
          this.#log.warn(`${e.message} (not retrying)`);
          return;
        }
        failures++;
        const delay = backoffDelay(failures, this.#random());
        this.#log.info(`${e.message}; retrying in ${delay} ms`);
        await this.#sleep(delay, signal);
      }
    }
  }

  /** Registers until logged in; throws on failure. */
  async #authenticate(
    login: LoginOptions,
    forceReauth: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    const current = this.#persist.privateNodeKey;
    let regenerate = forceReauth || this.#nodeKeyExpired || current === null;
    let regenerations = 0;
    let trying: NodePrivate = regenerate ? generatePrivate("node") : current!;
    let old: NodePrivate | null = regenerate && current !== null ? current : null;
    const req = this.#registerRequest(trying, old, login);
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const resp: RegisterResponse = await this.#transport.register(req, signal);
      if (resp.Error) {
        if (req.Followup && /timed out/i.test(resp.Error)) {
          // headscale ends a Followup wait with this when its request context ends: wait again.
          continue;
        }
        const authKeyUsed = req.Auth?.AuthKey !== undefined;
        this.#authUrl = null;
        throw authKeyUsed
          ? new ControlError(
            "invalid-auth-key",
            `Control rejected the auth key: ${resp.Error}`,
            false,
          )
          : new ControlError("login-failed", `Control refused login: ${resp.Error}`, false);
      }
      if (resp.NodeKeyExpired) {
        if (regenerations >= MAX_KEY_REGENERATIONS) {
          throw new ControlError(
            "node-key-expired",
            "Control says the node key expired, even a new one",
            false,
          );
        }
        regenerations++;
        this.#nodeKeyExpired = true;
        old = regenerate ? old : trying;
        trying = generatePrivate("node");
        regenerate = true;
        req.NodeKey = publicToText("node", publicOf(trying));
        req.OldNodeKey = old ? publicToText("node", publicOf(old)) : ZERO_NODE_KEY;
        req.Followup = "";
        this.#log.info(
          `node key expired; registering new key ${shortKey(publicOf(trying))}`,
        );
        continue;
      }
      if (resp.AuthURL) {
        if (this.#authUrl !== resp.AuthURL) {
          this.#authUrl = resp.AuthURL;
          this.#log.info(`visit ${resp.AuthURL} to authenticate`);
          this.#emit();
        }
        req.Followup = resp.AuthURL;
        continue;
      }
      // Logged in: commit the key we tried.
      if (regenerate) {
        this.#persist = { ...this.#persist, oldPrivateNodeKey: old, privateNodeKey: trying };
      }
      this.#persist = {
        ...this.#persist,
        userProfile: userProfileOf(resp) ?? this.#persist.userProfile,
      };
      this.#loggedIn = true;
      this.#machineAuthorized = resp.MachineAuthorized === true;
      this.#nodeKeyExpired = false;
      this.#authUrl = null;
      this.#error = null;
      this.#log.info(
        `logged in as ${this.#persist.userProfile?.loginName ?? "?"} with node key ${
          shortKey(publicOf(trying))
        }${this.#machineAuthorized ? "" : " (waiting for machine authorization)"}`,
      );
      this.#emit();
      return;
    }
  }

  #registerRequest(
    key: NodePrivate,
    old: NodePrivate | null,
    login: LoginOptions | undefined,
  ): RegisterRequest {
    const hostinfo: Hostinfo = { ...this.#hostinfo };
    if (login?.tags) hostinfo.RequestTags = [...login.tags];
    const req: RegisterRequest = {
      Version: CAPABILITY_VERSION,
      NodeKey: publicToText("node", publicOf(key)),
      OldNodeKey: old ? publicToText("node", publicOf(old)) : ZERO_NODE_KEY,
      Expiry: ZERO_TIME,
      Followup: "",
      Hostinfo: hostinfo,
    };
    if (login?.authKey) req.Auth = { AuthKey: login.authKey };
    if (login?.ephemeral) req.Ephemeral = true;
    return req;
  }

  #mapRequest(stream: boolean): MapRequest {
    const key = this.#persist.privateNodeKey!;
    const req: MapRequest = {
      Version: CAPABILITY_VERSION,
      KeepAlive: stream,
      NodeKey: publicToText("node", publicOf(key)),
      DiscoKey: publicToText("disco", this.#opts.discoKey),
      Stream: stream,
      Hostinfo: { ...this.#hostinfo },
    };
    if (this.#endpoints.length > 0) {
      req.Endpoints = this.#endpoints.map((e) => e.addr);
      req.EndpointTypes = this.#endpoints.map((e) => e.type);
    }
    if (!stream) req.OmitPeers = true;
    return req;
  }

  /** One map session: returns or throws when the stream ends; the netmap survives it. */
  async #mapSession(signal: AbortSignal, onMessage: () => void): Promise<void> {
    const ac = new AbortController();
    this.#mapAbort = ac;
    const onOuter = () => ac.abort(signal.reason);
    signal.addEventListener("abort", onOuter, { once: true });
    let watchdog = -1;
    const armWatchdog = () => {
      this.#clearTimer(watchdog);
      watchdog = this.#setTimer(() => {
        this.#log.warn(`no map message for ${MAP_WATCHDOG_MS / 1000} s; reconnecting`);
        this.#transport.reset();
        ac.abort(
          new ControlError("map-timeout", `Map poll silent for ${MAP_WATCHDOG_MS / 1000} s`, true),
        );
      }, MAP_WATCHDOG_MS);
    };
    armWatchdog();
    let first = true;
    try {
      for await (const msg of this.#transport.map(this.#mapRequest(true), ac.signal)) {
        armWatchdog();
        onMessage();
        if (msg.PingRequest) this.#handlePing(msg.PingRequest);
        if (msg.KeepAlive === true) continue;
        const nm = applyMapResponse(this.#netmap, msg, { nowMs: this.#clock.now() });
        const changed = nm !== this.#netmap;
        this.#netmap = nm;
        if (first) {
          first = false;
          this.#mapLive = true;
          this.#log.info(`map session up; ${nm.peers.length} peers`);
          if (this.#liteDirty) this.#queueLite();
        }
        const nodeId = nm.self.stableId;
        if (nodeId && nodeId !== this.#persist.nodeId) this.#persist = { ...this.#persist, nodeId };
        this.#machineAuthorized = nm.self.machineAuthorized;
        if (nm.self.expired) this.#nodeKeyExpired = true;
        this.#error = null;
        if (changed) this.#emit();
      }
      if (ac.signal.aborted) throw ac.signal.reason;
      throw new ControlError("connection-lost", "Map stream ended", true);
    } catch (err) {
      if (ac.signal.aborted && ac.signal.reason instanceof ControlError) throw ac.signal.reason;
      throw err;
    } finally {
      this.#mapLive = false;
      this.#clearTimer(watchdog);
      signal.removeEventListener("abort", onOuter);
      if (this.#mapAbort === ac) this.#mapAbort = null;
    }
  }

  // --- side work: lite updates and pings ---

  #queueLite(): void {
    this.#liteDirty = true;
    if (this.#liteRunning || !this.#mapLive || this.#closed) return;
    this.#liteRunning = true;
    this.#track((async () => {
      try {
        while (this.#liteDirty && this.#mapLive && !this.#closed) {
          this.#liteDirty = false;
          const ac = new AbortController();
          const onAbort = () => ac.abort();
          this.#sideAbort.signal.addEventListener("abort", onAbort, { once: true });
          const timer = this.#setTimer(() => ac.abort(), REQUEST_TIMEOUT_MS);
          try {
            await this.#transport.liteUpdate(this.#mapRequest(false), ac.signal);
            this.#log.debug("lite update sent");
          } catch (err) {
            this.#log.warn(`lite update failed: ${asControlError(err).message}`);
            this.#liteDirty = true;
            return;
          } finally {
            this.#clearTimer(timer);
            this.#sideAbort.signal.removeEventListener("abort", onAbort);
          }
        }
      } finally {
        this.#liteRunning = false;
      }
    })());
  }

  #handlePing(ping: PingRequest): void {
    if (!ping.URL || this.#pingsSeen.has(ping.URL)) return;
    this.#pingsSeen.add(ping.URL);
    if (this.#pingsSeen.size > 64) this.#pingsSeen.delete(this.#pingsSeen.values().next().value!);
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

  // --- timers and status ---

  #setTimer(fn: () => void, ms: number): number {
    const id: number = this.#clock.setTimeout(() => {
      this.#timers.delete(id);
      fn();
    }, ms);
    this.#timers.add(id);
    return id;
  }

  #clearTimer(id: number): void {
    if (id < 0 || !this.#timers.has(id)) return;
    this.#timers.delete(id);
    this.#clock.clearTimeout(id);
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        this.#clearTimer(id);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const id = this.#setTimer(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }

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

function userProfileOf(resp: RegisterResponse): UserProfile | null {
  const id = resp.User?.ID ?? resp.Login?.ID;
  if (typeof id !== "number" || id === 0) return null;
  return {
    id,
    loginName: resp.Login?.LoginName ?? "",
    displayName: resp.Login?.DisplayName || resp.User?.DisplayName || "",
    profilePicUrl: resp.Login?.ProfilePicURL || resp.User?.ProfilePicURL || "",
  };
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
