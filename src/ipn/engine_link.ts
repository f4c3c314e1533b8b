/**
 * Joins the IPN backend to the data plane: one {@linkcode Engine} for the node key the
 * backend is logged in with, closed on logout or key change. On every new netmap or prefs
 * change it computes the engine's config ({@linkcode engineConfig}) and calls
 * `Engine.reconfig()`; the engine builds and owns everything else (stack included). The
 * engine's home DERP region goes back to control as `Hostinfo.NetInfo.PreferredDERP`, which
 * is how peers learn where to reach us; its liveness (home DERP connected) is what turns
 * Starting into Running.
 * @module
 */
import type { DnsRecord, DnsResolver } from "../engine/config.ts";
import type { Logger } from "../engine/base/logger.ts";
import type { NetmapNode, NetworkMap } from "../engine/control/types.ts";
import type { PeerConfig } from "../engine/config.ts";
import type { DialOptions } from "../engine/derp/dial.ts";
import {
  Engine,
  type EngineOptions,
  type EngineStats,
  type PingKind,
  type PingResult,
} from "../engine/engine.ts";
import {
  type DiscoPrivate,
  keysEqual,
  type NodePrivate,
  type NodePublic,
  publicFromText,
} from "../engine/key/keys.ts";
import type { StackConn, TailnetDialer, TcpListener, UdpSocket } from "../engine/stack/mod.ts";
import type { Backend } from "./backend.ts";
import { engineConfig, EngineConfigCache, type EnginePrefs } from "./engine_config.ts";
import { onLocalNetwork } from "./local_networks.ts";
import { isTailnetIp } from "../engine/proxy/netmap_resolver.ts";
import { peerForDestination } from "../engine/routes.ts";
import { NotifyWatchOpt } from "./notify_bus.ts";
import { type PeerStatusJson, ZERO_TIME } from "./status.ts";

/**
 * Whether a dial to `ip` goes through the tailnet (Go's `UseNetstackForIP` in userspace mode):
 * not for Tailscale addresses (the router sends those itself) or loopback; yes when a peer's
 * AllowedIPs hold it, except, with allow-LAN-access, the host's LANs that only an exit node's
 * default route would take.
 * @param peers the engine's peers @param ip an address literal
 * @param allowLan `ExitNodeAllowLANAccess` @param onLan whether `ip` is on a host LAN
 * @returns true to dial it through the stack
 */
export function dialsThroughTailnet(
  peers: readonly PeerConfig[],
  ip: string,
  allowLan: boolean,
  onLan: (ip: string) => boolean = onLocalNetwork,
): boolean {
  if (isTailnetIp(ip) || /^127\./.test(ip) || ip === "::1") return false;
  const hit = peerForDestination(peers, ip);
  if (hit === null) return false;
  return !(hit.bits === 0 && allowLan && onLan(ip));
}

/** Options for {@linkcode EngineLink}. */
export interface EngineLinkOptions {
  /** This process's disco private key (its public half went to the backend). */
  discoKey: DiscoPrivate;
  /** Logger (prefix "engine"). */
  log: Logger;
  /** DERP dial options (`useHttp` is the TS_DEBUG_USE_DERP_HTTP knob). */
  derpDial?: Omit<DialOptions, "signal">;
  /** Test knob passed to the engine: WireGuard timings. */
  wgTimings?: EngineOptions["wgTimings"];
  /**
   * Forward inbound TCP/UDP to 127.0.0.1 on the same port, as tailscaled in userspace mode
   * does (the daemon). Default true; a program using tailnet as a library turns it off and
   * listens itself.
   */
  forwardToLoopback?: boolean;
  /**
   * The UDP port for direct paths (0: any; the daemon asks for 41641); null or absent: no
   * UDP socket, DERP only.
   */
  listenPort?: number | null;
}

/** The backend's data plane. */
export class EngineLink implements AsyncDisposable, TailnetDialer {
  readonly #opts: EngineLinkOptions;
  #backend: Backend | null = null;
  #engine: Engine | null = null;
  #engineKey: NodePrivate | null = null;
  /** What the engine's config was computed from, to skip a reconfig when neither changed. */
  #configFrom: { nm: NetworkMap; prefs: string } | null = null;
  #localDnsRecords: readonly DnsRecord[] = [];
  /** Per-node config results, so a netmap delta costs what changed. */
  readonly #configCache = new EngineConfigCache();
  #unwatch: (() => void) | null = null;
  #closing: Promise<void> = Promise.resolve();
  /** Engines dropped but not yet closed: a new one waits for them to free the UDP port. */
  #draining = 0;
  #closed = false;

  /** @param opts disco key, logger, DERP options */
  constructor(opts: EngineLinkOptions) {
    this.#opts = opts;
  }

  /**
   * Starts following `backend`: builds, updates and drops the engine as it logs in, gets
   * netmaps and logs out.
   * @param backend the backend
   */
  attach(backend: Backend): void {
    this.#backend = backend;
    this.#unwatch = backend.watch(NotifyWatchOpt.InitialState, () => this.#sync(), () => {});
    this.#sync();
  }

  /** Whether the data plane can reach peers (home DERP connected). */
  get live(): boolean {
    return this.#engine?.live ?? false;
  }

  /** The engine, or null while logged out. */
  get engine(): Engine | null {
    return this.#engine;
  }

  /**
   * Opens a TCP connection to a tailnet address through the node's stack (for the proxies).
   * @param ip the peer's Tailscale IP @param port its port @param signal gives up
   * @returns the connection once established
   */
  dialTcp(ip: string, port: number, signal?: AbortSignal): Promise<StackConn> {
    if (this.#engine === null) {
      return Promise.reject(new Deno.errors.NotConnected("not running: no data plane yet"));
    }
    return this.#engine.stack.dialTcp(ip, port, signal);
  }

  /**
   * Whether a dial to a non-tailnet address goes through the tailnet, as tailscaled's
   * `UseNetstackForIP` decides in userspace mode: when a peer's AllowedIPs hold it (an
   * accepted subnet route, or the chosen exit node's default routes). Loopback never does;
   * with `--exit-node-allow-lan-access`, neither do the host's own LANs when only the exit
   * node's default route would take them.
   * @param ip an address literal
   * @returns true to dial it through the stack
   */
  routesTo(ip: string): boolean {
    const engine = this.#engine;
    if (engine === null) return false;
    const allowLan = this.#backend?.prefs().ExitNodeAllowLANAccess === true;
    return dialsThroughTailnet(engine.config.peers, ip, allowLan);
  }

  /**
   * Listens for TCP connections to our tailnet addresses on `port`. A new login (a new node
   * key) rebuilds the data plane and ends the listener.
   * @param port the port
   * @returns the listener
   */
  listenTcp(port: number): TcpListener {
    if (this.#engine === null) throw new Deno.errors.NotConnected("not running: no data plane yet");
    return this.#engine.stack.stack.listenTcp({ port });
  }

  /** @param port 0 for ephemeral @returns a UDP socket on our tailnet addresses */
  listenUdp(port = 0): UdpSocket {
    if (this.#engine === null) throw new Deno.errors.NotConnected("not running: no data plane yet");
    return this.#engine.stack.listenUdp(port);
  }

  /**
   * Sets the names MagicDNS answers on this node alone (the daemon's config file
   * `LocalDNSRecords`), applied at once.
   * @param records name, type and address of each
   */
  setLocalDnsRecords(records: readonly DnsRecord[]): void {
    this.#localDnsRecords = records;
    this.#configFrom = null;
    this.#sync();
  }

  /**
   * Asks MagicDNS one question, as the LocalAPI's `dns-query` does (over "TCP", so the answer
   * is not size-capped).
   * @param query the DNS query bytes @param name the queried name, for its upstreams
   * @returns the answer bytes and the resolvers the name goes to
   * @throws {Error} "DNS manager not available" while there is no engine
   */
  async dnsQuery(
    query: Uint8Array,
    name: string,
  ): Promise<{ answer: Uint8Array; resolvers: DnsResolver[] }> {
    const engine = this.#engine;
    if (engine === null) throw new Error("DNS manager not available");
    const answer = await engine.dns.query(query, "tcp");
    if (answer === null) throw new Error("DNS query dropped");
    return { answer, resolvers: engine.dns.upstreamsFor(name) };
  }

  /**
   * Pings a peer.
   * @param ip the peer's Tailscale IP
   * @param kind disco, TSMP or ICMP
   * @param timeoutMs how long to wait
   * @returns the result; `Err` says why it failed
   */
  async ping(ip: string, kind: PingKind, timeoutMs: number): Promise<PingResult> {
    const engine = this.#engine;
    if (engine === null) {
      return { IP: ip, NodeIP: ip, NodeName: "", Err: "not running: no data plane yet" };
    }
    return await engine.ping(ip, kind, timeoutMs);
  }

  /**
   * Fills the data-plane fields of one peer's status from the engine: WireGuard counters and
   * last handshake, the DERP relay in use, whether the peer is configured in the engine.
   * @param node the netmap peer
   * @param ps its status, changed in place
   */
  decoratePeer(node: NetmapNode, ps: PeerStatusJson): void {
    const engine = this.#engine;
    if (engine === null) return;
    let key: NodePublic;
    try {
      key = publicFromText("node", node.key);
    } catch {
      return;
    }
    const st = engine.peerStatus(key);
    ps.InMagicSock = st.wg !== null;
    ps.InEngine = st.wg !== null;
    if (st.relay) ps.Relay = st.relay;
    ps.CurAddr = st.curAddr;
    if (st.wg === null) return;
    ps.RxBytes = st.wg.stats.rxBytes;
    ps.TxBytes = st.wg.stats.txBytes;
    const hs = st.wg.stats.lastHandshakeWallMs;
    ps.LastHandshake = hs > 0 ? new Date(hs).toISOString() : ZERO_TIME;
    ps.Active = st.wg.hasSession;
  }

  /**
   * The engine's counters (WireGuard drops by reason, per-peer packets, DERP, path), or null
   * while there is no engine.
   * @returns a JSON-ready snapshot
   */
  stats(): EngineStats | null {
    return this.#engine?.stats() ?? null;
  }

  /** Closes the engine and stops following the backend. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch?.();
    await this.#dropEngine();
  }

  /** Same as {@linkcode EngineLink.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #sync(): void {
    const b = this.#backend;
    if (b === null || this.#closed) return;
    const key = b.persist().privateNodeKey;
    const nm = b.netmap;
    const prefs = b.prefs();
    const wanted = key !== null && nm !== null && prefs.WantRunning;
    if (!wanted) {
      if (this.#engine !== null) void this.#dropEngine();
      return;
    }
    if (this.#engine !== null && this.#engineKey !== null && !keysEqual(this.#engineKey, key)) {
      void this.#dropEngine();
    }
    // The old engine still holds the UDP port (41641): build the next once it let go, or the
    // new one would fall back to a random port. #dropEngine syncs again when it is closed.
    if (this.#engine === null && this.#draining > 0) return;
    if (this.#engine === null) {
      this.#engineKey = key;
      this.#engine = new Engine({
        nodeKey: key,
        discoKey: this.#opts.discoKey,
        log: this.#opts.log,
        derpDial: this.#opts.derpDial,
        wgTimings: this.#opts.wgTimings,
        forwardToLoopback: this.#opts.forwardToLoopback ?? true,
        onNetInfo: (netInfo) => b.setNetInfo({ ...netInfo }),
        listenPort: this.#opts.listenPort,
        onEndpoints: (endpoints) => b.setEndpoints(endpoints),
        onStatusChange: () => b.engineStatusChanged(),
      });
    }
    const ep: EnginePrefs = {
      RouteAll: prefs.RouteAll,
      ExitNodeID: prefs.ExitNodeID,
      ExitNodeIP: prefs.ExitNodeIP,
      ShieldsUp: prefs.ShieldsUp,
      CorpDNS: prefs.CorpDNS,
      AdvertiseRoutes: prefs.AdvertiseRoutes,
    };
    const prefsKey = JSON.stringify(ep);
    const from = this.#configFrom;
    if (from !== null && from.nm === nm && from.prefs === prefsKey) return;
    this.#configFrom = { nm, prefs: prefsKey };
    this.#engine.reconfig(
      engineConfig(ep, nm, { localDnsRecords: this.#localDnsRecords, cache: this.#configCache }),
    );
  }

  #dropEngine(): Promise<void> {
    const engine = this.#engine;
    this.#engine = null;
    this.#engineKey = null;
    this.#configFrom = null;
    if (engine !== null) {
      this.#draining++;
      this.#closing = this.#closing
        .then(() => engine.close())
        .catch((err) => this.#opts.log.warn("engine close:", err))
        .finally(() => {
          this.#draining--;
          if (this.#draining === 0) this.#sync();
        });
      this.#backend?.engineStatusChanged();
    }
    return this.#closing;
  }
}
