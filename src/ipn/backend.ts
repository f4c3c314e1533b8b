/**
 * The IPN backend (Go's `ipnlocal.LocalBackend`, the part that joins a tailnet): it owns the
 * prefs and login state, drives the control client, derives the state shown to users from
 * what is true (see `state.ts`), and tells watchers through the {@linkcode NotifyBus}. It
 * knows nothing of HTTP; the LocalAPI handlers call it.
 * @module
 */
import { TailnetError } from "../engine/base/errors.ts";
import type { Logger } from "../engine/base/logger.ts";
import { type Clock, SYSTEM_CLOCK } from "../engine/base/clock.ts";
import {
  type ControlClient,
  type ControlClientOptions,
  type ControlStatus,
  emptyPersist,
  type Persist,
} from "../engine/control/client.ts";
import type { Hostinfo, NetmapNode, NetworkMap } from "../engine/control/types.ts";
import {
  type DiscoPublic,
  generatePrivate,
  keysEqual,
  type MachinePrivate,
  publicOf,
  publicToText,
} from "../engine/key/keys.ts";
import { type Notify, NotifyBus, NotifyWatchOpt } from "./notify_bus.ts";
import { persistToJson } from "./persist.ts";
import {
  applyMaskedPrefs,
  clonePrefs,
  controlUrlOrDefault,
  defaultPrefs,
  type Prefs,
  type PrefsJson,
  validatePrefs,
} from "./prefs.ts";
import { StateFileError, type StateStore } from "./state_store.ts";
import { type IpnState, nextState, stateNumber } from "./state.ts";
import {
  buildStatus,
  type PeerStatusJson,
  type StatusJson,
  statusJsonPieces,
  type StatusSnapshot,
} from "./status.ts";
import { chosenExitNode } from "./engine_config.ts";

/** Makes a control client; the daemon passes the real one, tests a fake. */
export type ControlClientFactory = (options: ControlClientOptions) => ControlClient;

/** Why a backend call was refused; the LocalAPI maps it to an HTTP status. */
export type BackendErrorReason = "invalid" | "unhealthy" | "not-built" | "not-started" | "failed";

/** A refused or failed backend call. */
export class BackendError extends TailnetError {
  /** Why. */
  readonly reason: BackendErrorReason;
  /**
   * @param reason why
   * @param message one line
   * @param options cause
   */
  constructor(reason: BackendErrorReason, message: string, options?: ErrorOptions) {
    super(`backend-${reason}`, message, options);
    this.name = "BackendError";
    this.reason = reason;
  }
}

/** `ipn.Options` for {@linkcode Backend.start}, decoded. */
export interface StartOptions {
  /** A pre-auth key for the next login, "" for none. */
  authKey?: string;
  /** New prefs replacing the current ones (the persist is kept), or null to keep them. */
  updatePrefs?: Prefs | null;
  /**
   * Log in even without a node key, as Go does when a config file wants the node running:
   * without it a fresh node waits in NeedsLogin for an `up`.
   */
  loginWithoutNodeKey?: boolean;
}

/** Options for {@linkcode Backend.open}. */
export interface BackendOptions {
  /** Where state lives. */
  store: StateStore;
  /** Makes control clients; null while tailnet has none (start then fails, saying so). */
  controlClientFactory: ControlClientFactory | null;
  /** This process's disco key. */
  discoKey: DiscoPublic;
  /** Hostinfo from the OS; prefs (hostname, routes, tags) are applied on top. */
  hostinfo: Hostinfo;
  /** Logger (prefix "ipn"). */
  log: Logger;
  /**
   * Whether the data plane has a live peer or DERP connection (Starting becomes Running).
   * Default: false. The backend asks again on each state evaluation and on
   * {@linkcode Backend.engineStatusChanged}.
   */
  engineLive?: (netmap: NetworkMap) => boolean;
  /** The data plane's counters for status (see `EngineLink.stats`). */
  engineStats?: () => unknown;
  /** Fills a peer's data-plane status fields (see `EngineLink.decoratePeer`). */
  decoratePeer?: (node: NetmapNode, ps: PeerStatusJson) => void;
  /** Standing health warnings to report (e.g. features not built). */
  health?: readonly string[];
  /** The daemon version for Status and Notify. */
  version: string;
  /** Time for the auth URL's age; default the system clock. */
  clock?: Clock;
}

/** How long a control-supplied auth URL stays usable (Go: 7 days less an hour). */
const AUTH_URL_TTL_MS = (7 * 24 - 1) * 3600_000;

/** The backend. Create with {@linkcode Backend.open}; close when done. */
export class Backend implements AsyncDisposable {
  readonly #o: BackendOptions;
  readonly #log: Logger;
  readonly #bus = new NotifyBus();
  readonly #clock: Clock;
  readonly #storeError: StateFileError | null;
  #machineKey: MachinePrivate;
  #prefs: Prefs;
  #persist: Persist;

  #cc: ControlClient | null = null;
  /** The data plane's endpoints, for every MapRequest (kept across control clients). */
  #endpoints: { addr: string; type: number }[] = [];
  #state: IpnState = "NoState";
  #netmap: NetworkMap | null = null;
  #loggedIn = false;
  #loginInProgress = false;
  #machineAuthorized = true;
  #keyExpired = false;
  #blocked = false;
  #authUrl: string | null = null;
  #authUrlAt = 0;
  #authActorWaiting = false;
  #pendingAuthKey = "";
  #controlHealth: string | null = null;
  #saveHealth: string | null = null;
  #paused: boolean | null = null;
  #configLocked = false;
  #configAuthKey: (() => Promise<string>) | null = null;
  #saves: Promise<void> = Promise.resolve();
  #closing: Promise<void>[] = [];
  #closed = false;
  #sessionSeq = 0;
  #netInfo: Record<string, unknown> | null = null;

  private constructor(
    o: BackendOptions,
    loaded: { machineKey: MachinePrivate; prefs: Prefs; persist: Persist },
    storeError: StateFileError | null,
  ) {
    this.#o = o;
    this.#log = o.log;
    this.#clock = o.clock ?? SYSTEM_CLOCK;
    this.#machineKey = loaded.machineKey;
    this.#prefs = loaded.prefs;
    this.#persist = loaded.persist;
    this.#storeError = storeError;
  }

  /**
   * Loads state (creating a machine key on first run) and returns a backend in NoState.
   * A state file that cannot be read leaves the backend unhealthy: it answers status and
   * refuses changes, and never writes the file.
   * @param o options
   * @returns the backend
   */
  static async open(o: BackendOptions): Promise<Backend> {
    try {
      const loaded = await o.store.load();
      if (loaded !== null) return new Backend(o, loaded, null);
      const fresh = {
        machineKey: generatePrivate("machine"),
        prefs: defaultPrefs(),
        persist: emptyPersist(),
      };
      const b = new Backend(o, fresh, null);
      await o.store.save(fresh);
      return b;
    } catch (err) {
      if (!(err instanceof StateFileError)) throw err;
      o.log.error(`${err.message}; not touching it: serving read-only until it is fixed`);
      const stub = {
        machineKey: generatePrivate("machine"),
        prefs: defaultPrefs(),
        persist: emptyPersist(),
      };
      return new Backend(o, stub, err);
    }
  }

  /** The state last entered. */
  get state(): IpnState {
    return this.#state;
  }

  /** Whether the state file was readable. */
  get healthy(): boolean {
    return this.#storeError === null;
  }

  /** The machine key (for tests and the engine). */
  get machineKey(): MachinePrivate {
    return this.#machineKey;
  }

  /** The current netmap, or null. */
  get netmap(): NetworkMap | null {
    return this.#netmap;
  }

  /** A copy of the current prefs. */
  prefs(): Prefs {
    return clonePrefs(this.#prefs);
  }

  /** A copy of the login state (node keys included: never send it out). */
  persist(): Persist {
    return { ...this.#persist };
  }

  /** The node key's text form, or null when there is none. */
  nodeKey(): string | null {
    const k = this.#persist.privateNodeKey;
    return k === null ? null : publicToText("node", publicOf(k));
  }

  /** Prefs as `GET prefs` answers: `ipn.Prefs` JSON with `Config`, private keys zeroed. */
  prefsJson(): PrefsJson {
    return this.#prefsJsonNow();
  }

  #prefsJsonNow(): PrefsJson {
    const hasLogin = this.#persist.privateNodeKey !== null || this.#persist.userProfile !== null;
    return {
      ...clonePrefs(this.#prefs),
      Config: hasLogin ? persistToJson(this.#persist, false) : null,
    };
  }

  /** Health warnings, one line each. */
  health(): string[] {
    const h: string[] = [];
    if (this.#storeError) h.push(this.#storeError.message);
    if (this.#saveHealth) h.push(this.#saveHealth);
    if (this.#controlHealth) h.push(this.#controlHealth);
    if (this.#state === "Running" || this.#state === "Starting") h.push(...(this.#o.health ?? []));
    return h;
  }

  /**
   * `ipnstate.Status` JSON.
   * @param peers include the peers (`?peers=false` omits them)
   * @returns the status
   */
  status(peers = true): StatusJson {
    return buildStatus(this.#statusSnapshot(peers));
  }

  /**
   * The text of `ipnstate.Status` JSON (tab-indented, as `GET status` answers), in pieces made
   * as they are read: see {@linkcode statusJsonPieces}.
   * @param peers include the peers (`?peers=false` omits them)
   * @returns the pieces
   */
  statusText(peers = true): Generator<string> {
    return statusJsonPieces(this.#statusSnapshot(peers));
  }

  #statusSnapshot(peers: boolean): StatusSnapshot {
    return {
      version: this.#o.version,
      state: this.#state,
      haveNodeKey: this.#persist.privateNodeKey !== null,
      nodeKey: this.nodeKey(),
      authUrl: this.#authUrl,
      netmap: this.#netmap,
      hostname: this.#hostinfo().Hostname,
      os: this.#o.hostinfo.OS,
      health: this.health(),
      peers,
      decoratePeer: this.#o.decoratePeer,
      exitNode: this.#netmap ? chosenExitNode(this.#prefs, this.#netmap.peers) : null,
      engineStats: this.#o.engineStats?.(),
    };
  }

  /**
   * Problems with `p` as prefs to run with, one line each (`check-prefs`).
   * @param p prefs
   * @returns problems, empty when fine
   */
  checkPrefs(p: Prefs): string[] {
    return validatePrefs(p);
  }

  /**
   * `ipn.Options` start: replaces the prefs if given, keeps the pending auth key, and makes a
   * new control client; logs in at once when a node key exists and the user did not log out.
   * @param opts auth key and new prefs
   */
  async start(opts: StartOptions): Promise<void> {
    this.#assertUsable();
    if (opts.updatePrefs) {
      this.#assertNotConfigLocked();
      const errs = validatePrefs(opts.updatePrefs);
      if (errs.length) throw new BackendError("invalid", errs[0]);
    }
    const factory = this.#o.controlClientFactory;
    if (factory === null) {
      throw new BackendError(
        "not-built",
        "control client not built yet in this version of tailnet",
      );
    }
    let authKey = opts.authKey ?? "";
    if (authKey === "" && this.#state !== "Running" && this.#configAuthKey !== null) {
      try {
        authKey = await this.#configAuthKey();
      } catch (err) {
        throw new BackendError("invalid", err instanceof Error ? err.message : String(err));
      }
    }
    const old = this.#cc;
    this.#cc = null;
    if (old) this.#closing.push(old.close().catch((e) => this.#log.warn("control close:", e)));
    this.#resetAuthUrl();
    this.#loggedIn = false;
    this.#loginInProgress = false;
    this.#paused = null;
    if (opts.updatePrefs) {
      this.#prefs = clonePrefs(opts.updatePrefs);
      await this.#save();
    }
    this.#pendingAuthKey = authKey;
    this.#state = "NoState";
    let cc: ControlClient | null = null;
    cc = factory({
      serverUrl: controlUrlOrDefault(this.#prefs),
      machineKey: this.#machineKey,
      persist: { ...this.#persist },
      discoKey: this.#o.discoKey,
      hostinfo: this.#hostinfo(),
      onStatus: (st) => this.#onStatus(cc, st),
      log: this.#log.child("control"),
    });
    this.#cc = cc;
    if (this.#endpoints.length > 0) cc.setEndpoints(this.#endpoints);
    this.#publish({ Prefs: this.#prefsJsonNow() });
    if (
      !this.#prefs.LoggedOut &&
      (this.#persist.privateNodeKey !== null || opts.loginWithoutNodeKey === true)
    ) {
      this.#loginInProgress = true;
      cc.login(this.#pendingAuthKey ? { authKey: this.#pendingAuthKey } : {});
    }
    this.#stateMachine();
  }

  /**
   * Starts an interactive login (`login-interactive`): shows a still-valid auth URL again,
   * or asks control for a login with a new node key, using the pending auth key if any.
   */
  startLoginInteractive(): void {
    this.#assertUsable();
    const cc = this.#cc;
    if (cc === null) throw new BackendError("not-started", "not started: run 'tailnet up' first");
    const url = this.#authUrl;
    if (url !== null && this.#clock.now() - this.#authUrlAt < AUTH_URL_TTL_MS) {
      this.#publish({ BrowseToURL: url });
      return;
    }
    this.#authActorWaiting = true;
    this.#loginInProgress = true;
    cc.login({
      ...(this.#pendingAuthKey ? { authKey: this.#pendingAuthKey } : {}),
      forceReauth: true,
    });
    this.#stateMachine();
  }

  /**
   * Applies an `ipn.MaskedPrefs` edit (`PATCH prefs`) and returns the new prefs JSON.
   * @param masked the edit as JSON
   * @returns the prefs after the edit
   */
  editPrefs(masked: unknown): Promise<PrefsJson> {
    this.#assertUsable();
    this.#assertNotConfigLocked();
    return this.#editPrefs(masked);
  }

  /**
   * Applies a config file's prefs edit (`--config`, `reload-config`), which a locked config
   * does not stop, and sets whether the config locks prefs against `editPrefs` and `start`.
   * @param masked the edit the config makes
   * @param locked whether later edits by clients are refused
   * @param authKey reads the config's auth key, which a start that brings none uses while the
   *   node is not Running (as Go's `Start` does); null when the config has none
   * @returns the prefs after the edit
   */
  async applyConfig(
    masked: unknown,
    locked: boolean,
    authKey: (() => Promise<string>) | null = null,
  ): Promise<PrefsJson> {
    this.#assertUsable();
    this.#configAuthKey = authKey;
    // No start here when there is no control client: the daemon starts right after, with the
    // config's auth key.
    const p = await this.#editPrefs(masked, false);
    this.#configLocked = locked;
    return p;
  }

  #assertNotConfigLocked(): void {
    if (this.#configLocked) {
      throw new BackendError(
        "invalid",
        "can't reconfigure tailscaled when using a config file; config file is locked",
      );
    }
  }

  async #editPrefs(masked: unknown, startIfWanted = true): Promise<PrefsJson> {
    let next: Prefs;
    try {
      next = applyMaskedPrefs(this.#prefs, masked);
    } catch (err) {
      throw new BackendError("invalid", err instanceof Error ? err.message : String(err));
    }
    const errs = validatePrefs(next);
    if (errs.length) throw new BackendError("invalid", errs[0]);
    const old = this.#prefs;
    this.#prefs = next;
    await this.#save();
    this.#publish({ Prefs: this.#prefsJsonNow() });
    if (
      old.Hostname !== next.Hostname || old.ShieldsUp !== next.ShieldsUp ||
      JSON.stringify([old.AdvertiseRoutes, old.AdvertiseTags]) !==
        JSON.stringify([next.AdvertiseRoutes, next.AdvertiseTags])
    ) {
      this.#cc?.setHostinfo(this.#hostinfo());
    }
    if (old.WantRunning !== next.WantRunning) {
      if (next.WantRunning && this.#cc === null) {
        if (!startIfWanted) return this.#prefsJsonNow();
        await this.start({});
      } else {
        this.#stateMachine();
      }
    }
    return this.#prefsJsonNow();
  }

  /**
   * Logs out (`logout`): marks the prefs logged out, asks control to expire the node key,
   * then forgets the node key and the profile's prefs (the machine key stays), as Go deletes
   * the profile. A node without a node key is already logged out.
   */
  async logout(): Promise<void> {
    this.#assertUsable();
    if (this.#persist.privateNodeKey === null) return;
    await this.#editPrefs({
      WantRunning: false,
      WantRunningSet: true,
      LoggedOut: true,
      LoggedOutSet: true,
    });
    const cc = this.#cc;
    if (cc === null) throw new BackendError("not-started", "no control client to log out with");
    try {
      await cc.logout();
    } catch (err) {
      throw new BackendError(
        "failed",
        `logout failed: ${err instanceof Error ? err.message : err}`,
        { cause: err },
      );
    }
    await this.#forgetNode();
  }

  /**
   * Switches to a new empty profile (`PUT profiles/`, what `tailscale login` does before it
   * logs in). tailnet keeps one profile, so the current one is dropped: its node key and prefs
   * are forgotten (the machine key stays) without expiring the key at control, and the node
   * waits for a login as a fresh one does.
   */
  async switchToEmptyProfile(): Promise<void> {
    this.#assertUsable();
    const old = this.#cc;
    this.#cc = null;
    if (old) this.#closing.push(old.close().catch((e) => this.#log.warn("control close:", e)));
    await this.#forgetNode();
  }
  /**
   * Forgets the node key, prefs and netmap (the machine key stays), saves that, and waits for a
   * login as a fresh node does: what logout and a switch to an empty profile end with.
   */
  async #forgetNode(): Promise<void> {
    this.#persist = emptyPersist();
    this.#prefs = defaultPrefs();
    this.#netmap = null;
    this.#keyExpired = false;
    this.#machineAuthorized = true;
    await this.#save();
    if (this.#o.controlClientFactory !== null) await this.start({});
    else this.#stateMachine();
  }

  /**
   * Adds a watcher (`watch-ipn-bus`). With initial bits in `mask`, a first Notify carrying
   * what was asked goes to `fn` at once.
   * @param mask `NotifyWatchOpt` bits
   * @param fn receives each Notify
   * @param onClose called if the backend closes first
   * @returns a function that removes the watcher
   */
  watch(mask: number, fn: (n: Notify) => void, onClose: () => void): () => void {
    const initial: Notify = {};
    let any = false;
    if (mask & NotifyWatchOpt.InitialState) {
      initial.SessionID = `tailnet-${++this.#sessionSeq}`;
      initial.State = stateNumber(this.#state);
      if (this.#authUrl !== null) initial.BrowseToURL = this.#authUrl;
      any = true;
    }
    if (mask & NotifyWatchOpt.InitialPrefs) {
      initial.Prefs = this.#prefsJsonNow();
      any = true;
    }
    if ((mask & NotifyWatchOpt.InitialNetMap) && this.#netmap !== null) {
      initial.NetMap = netmapJson(this.#netmap);
      any = true;
    }
    if (mask & NotifyWatchOpt.InitialHealthState) {
      initial.Health = healthJson(this.health());
      any = true;
    }
    if (any) fn(initial);
    return this.#bus.subscribe(fn, onClose);
  }

  /** How many watchers are subscribed (watch-ipn-bus streams still open). */
  get watcherCount(): number {
    return this.#bus.size;
  }

  /**
   * Sets our UDP endpoints (interface addresses, STUN results) and sends them to control in
   * the MapRequest, which is how peers learn where to ping us.
   * @param endpoints `ip:port` and tailcfg.EndpointType
   */
  setEndpoints(endpoints: { addr: string; type: number }[]): void {
    this.#endpoints = endpoints.map((e) => ({ ...e }));
    this.#cc?.setEndpoints(this.#endpoints);
  }

  /**
   * Sets what the data plane knows of the network (`Hostinfo.NetInfo`, e.g. our home DERP
   * region as `PreferredDERP`) and sends it to control, which is how peers learn to reach us.
   * @param netInfo the NetInfo JSON
   */
  setNetInfo(netInfo: Record<string, unknown>): void {
    this.#netInfo = { ...netInfo };
    this.#cc?.setHostinfo(this.#hostinfo());
  }

  /** Call when the data plane's liveness may have changed; re-evaluates the state. */
  engineStatusChanged(): void {
    if (!this.#closed) this.#stateMachine();
  }

  /** Stops the control client, ends every watch, and waits for pending saves. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const cc = this.#cc;
    this.#cc = null;
    this.#bus.close();
    if (cc) this.#closing.push(cc.close().catch((e) => this.#log.warn("control close:", e)));
    await Promise.all(this.#closing);
    await this.#saves;
  }

  /** Same as {@linkcode Backend.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertUsable(): void {
    if (this.#closed) throw new BackendError("failed", "backend is shut down");
    if (this.#storeError) {
      throw new BackendError("unhealthy", `${this.#storeError.message} (fix or remove it)`);
    }
  }

  #onStatus(cc: ControlClient | null, st: ControlStatus): void {
    if (this.#closed || cc === null || cc !== this.#cc) return;
    try {
      this.#applyStatus(st);
    } catch (err) {
      this.#log.error("applying control status:", err);
    }
  }

  #applyStatus(st: ControlStatus): void {
    if (st.error) {
      const msg = st.error.message;
      if (st.error.retryable) {
        this.#controlHealth = `control: ${msg}`;
        this.#log.warn(`control: ${msg}`);
      } else {
        this.#log.error(`control: ${msg}`);
        this.#loginInProgress = false;
        this.#controlHealth = `control: ${msg}`;
        this.#publish({ ErrMessage: msg });
      }
    } else {
      this.#controlHealth = null;
    }
    const wasBlocked = this.#blocked;
    const authWasInProgress = this.#authUrl !== null;
    this.#keyExpired = st.nodeKeyExpired;
    if (st.netmap?.self.expired) this.#keyExpired = true;
    if (st.loggedIn && (wasBlocked || authWasInProgress)) {
      this.#blocked = false;
      this.#publish({ LoginFinished: {} });
    }
    let prefsChanged = false;
    if (this.#prefs.ControlURL === "") {
      this.#prefs = { ...this.#prefs, ControlURL: controlUrlOrDefault(this.#prefs) };
      prefsChanged = true;
    }
    if (!persistEqual(this.#persist, st.persist)) {
      this.#persist = { ...st.persist };
      prefsChanged = true;
    }
    if (st.loggedIn) {
      this.#loginInProgress = false;
      if (authWasInProgress) {
        this.#resetAuthUrl();
        if (!this.#prefs.WantRunning) {
          this.#prefs = { ...this.#prefs, WantRunning: true };
          prefsChanged = true;
        }
      }
      if (this.#prefs.LoggedOut) {
        this.#prefs = { ...this.#prefs, LoggedOut: false };
        prefsChanged = true;
      }
    }
    this.#loggedIn = st.loggedIn;
    this.#machineAuthorized = st.machineAuthorized;
    if (prefsChanged) {
      this.#save().catch(() => {});
      this.#publish({ Prefs: this.#prefsJsonNow() });
    }
    if (st.netmap !== null && st.netmap !== this.#netmap) {
      this.#netmap = st.netmap;
      this.#publish({ NetMap: netmapJson(st.netmap), SelfChange: st.netmap.self.raw });
    }
    if (st.authUrl) this.#setAuthUrl(st.authUrl);
    this.#stateMachine();
  }

  #setAuthUrl(url: string): void {
    let pop: boolean;
    if (url !== this.#authUrl) {
      this.#authUrl = url;
      this.#authUrlAt = this.#clock.now();
      pop = true;
    } else {
      pop = this.#authActorWaiting;
    }
    this.#authActorWaiting = false;
    if (pop) this.#publish({ BrowseToURL: url });
  }

  #resetAuthUrl(): void {
    this.#authUrl = null;
    this.#authUrlAt = 0;
    this.#authActorWaiting = false;
  }

  #stateMachine(): void {
    this.#enterState(this.#nextState());
    // Starting becomes Running as soon as the data plane is live; evaluate once more.
    if (this.#state === "Starting") this.#enterState(this.#nextState());
  }

  #nextState(): IpnState {
    return nextState({
      storeHealthy: this.#storeError === null,
      wantRunning: this.#prefs.WantRunning,
      loggedOut: this.#prefs.LoggedOut,
      blocked: this.#blocked,
      hasNodeKey: this.#persist.privateNodeKey !== null,
      hasNetmap: this.#netmap !== null,
      authCantContinue: this.#cc === null ||
        (!this.#loggedIn && (!this.#loginInProgress || this.#authUrl !== null)),
      keyExpired: this.#keyExpired,
      machineAuthorized: this.#machineAuthorized,
      engineLive: this.#netmap !== null && (this.#o.engineLive?.(this.#netmap) ?? false),
      prev: this.#state,
    });
  }

  #enterState(s: IpnState): void {
    const old = this.#state;
    this.#state = s;
    if (s === "Running" && old !== "Running") this.#resetAuthUrl();
    if (s === "NeedsLogin") this.#blocked = true;
    const paused = s === "Stopped" && this.#netmap !== null;
    if (this.#cc !== null && paused !== this.#paused) {
      this.#paused = paused;
      this.#cc.setPaused(paused);
    }
    if (old === s) return;
    this.#log.info(
      `state ${old} -> ${s} (WantRunning=${this.#prefs.WantRunning}, netmap=${
        this.#netmap !== null
      })`,
    );
    this.#publish({ State: stateNumber(s) });
  }

  #publish(n: Notify): void {
    if (!this.#closed) this.#bus.publish(n);
  }

  #hostinfo(): Hostinfo {
    const p = this.#prefs;
    const hi: Hostinfo = { ...this.#o.hostinfo };
    if (p.Hostname !== "") hi.Hostname = p.Hostname;
    if (p.AdvertiseRoutes?.length) hi.RoutableIPs = [...p.AdvertiseRoutes];
    else delete hi.RoutableIPs;
    if (p.AdvertiseTags?.length) hi.RequestTags = [...p.AdvertiseTags];
    else delete hi.RequestTags;
    if (p.ShieldsUp) hi.ShieldsUp = true;
    else delete hi.ShieldsUp;
    if (this.#netInfo !== null) hi.NetInfo = { ...this.#netInfo };
    return hi;
  }

  /** Saves prefs and persist; a failure becomes a health warning and is rethrown. */
  #save(): Promise<void> {
    if (this.#storeError) return Promise.resolve();
    const snapshot = {
      machineKey: this.#machineKey,
      prefs: clonePrefs(this.#prefs),
      persist: { ...this.#persist },
    };
    const p = this.#o.store.save(snapshot).then(
      () => {
        this.#saveHealth = null;
      },
      (err) => {
        this.#saveHealth = err instanceof Error ? err.message : String(err);
        this.#log.error(this.#saveHealth);
        throw new BackendError("failed", this.#saveHealth, { cause: err });
      },
    );
    this.#saves = this.#saves.then(() => p.catch(() => {}));
    return p;
  }
}

function persistEqual(a: Persist, b: Persist): boolean {
  const keyEq = (x: Uint8Array | null, y: Uint8Array | null) =>
    x === null || y === null ? x === y : keysEqual(x, y);
  return keyEq(a.privateNodeKey, b.privateNodeKey) &&
    keyEq(a.oldPrivateNodeKey, b.oldPrivateNodeKey) &&
    a.nodeId === b.nodeId &&
    JSON.stringify(a.userProfile) === JSON.stringify(b.userProfile);
}

/**
 * The netmap as Notify and `debug?action=current-netmap` carry it: a subset of Go's
 * `netmap.NetworkMap` JSON.
 * @param nm the netmap
 * @returns its JSON
 */
export function netmapJson(nm: NetworkMap): Record<string, unknown> {
  const profiles: Record<string, unknown> = {};
  for (const [id, u] of nm.userProfiles) {
    profiles[String(id)] = {
      ID: u.id,
      LoginName: u.loginName,
      DisplayName: u.displayName,
      ...(u.profilePicUrl ? { ProfilePicURL: u.profilePicUrl } : {}),
    };
  }
  return {
    SelfNode: nm.self.raw,
    NodeKey: nm.self.key,
    Name: nm.self.name,
    Addresses: nm.self.addresses,
    MachineKey: nm.self.machine,
    Peers: nm.peers.map((p) => p.raw),
    DNS: nm.dns,
    PacketFilterRules: nm.packetFilter,
    DERPMap: nm.derpMap,
    Domain: nm.domain,
    UserProfiles: profiles,
  };
}

function healthJson(lines: string[]): NonNullable<Notify["Health"]> {
  const warnings: NonNullable<Notify["Health"]>["Warnings"] = {};
  lines.forEach((text, i) => {
    const code = `tailnet-${i}`;
    warnings[code] = { WarnableCode: code, Severity: "medium", Text: text };
  });
  return { Warnings: warnings };
}
