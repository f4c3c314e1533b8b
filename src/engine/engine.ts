/**
 * One Engine per node: it builds the data-plane layers, hands each its dependencies, and owns
 * them. The assembly:
 * - the path layer ({@linkcode MagicConn}, DERP today) is WireGuard's bind;
 * - the WireGuard {@linkcode Device} hands each decrypted packet to the
 *   {@linkcode PacketPipeline}, which parses it once and runs the filter slot, the local
 *   handlers (ping answers, TSMP, the 100.100.100.100 slot) and then the stack;
 * - the stack ({@linkcode NodeStack}, with the loopback forwarder when asked) sends through
 *   the pipeline's outbound side (filter slot, then WireGuard);
 * - disco packets over DERP are opened with our disco key and answered.
 *
 * The engine knows nothing of control or IPN. {@linkcode Engine.reconfig} is the one way in:
 * IPN computes an {@linkcode EngineConfig} from prefs and the netmap and hands it over.
 * @module
 */
import type { Clock } from "./base/clock.ts";
import type { Logger } from "./base/logger.ts";
import { EMPTY_ENGINE_CONFIG, type EngineConfig, type PeerConfig } from "./config.ts";
import type { DialOptions } from "./derp/dial.ts";
import type { RegionConnector, RegionStatus } from "./derp/regions.ts";
import { PingTimeoutError, PingTracker } from "./disco/ping_tracker.ts";
import { DiscoSealer } from "./disco/seal.ts";
import {
  type DiscoPrivate,
  type DiscoPublic,
  fromHex,
  type NodePrivate,
  type NodePublic,
  publicOf,
  publicToText,
  toHex,
} from "./key/keys.ts";
import { type DerpDisco, MagicConn, type MagicConnStats } from "./magicsock/conn.ts";
import { IpPinger } from "./ping/pinger.ts";
import { Responder } from "./ping/responder.ts";
import { type InboundStats, type OutboundStats, PacketPipeline } from "./pipeline.ts";
import { NodeStack, type StackOptions } from "./stack/mod.ts";
import type { ForwarderOptions } from "./stack/forwarder.ts";
import { Device, type PeerStatus, type WgTimings } from "./wg/mod.ts";
import { parseIpAddr } from "./wire/ip_addr.ts";

export type { InboundStats, OutboundStats } from "./pipeline.ts";
export type { EngineConfig, PeerConfig } from "./config.ts";

/** The IP of DERP paths in disco pongs and ping results: Go's `tailcfg.DerpMagicIP`. */
export const DERP_MAGIC_IP = "127.3.3.40";
/** Default time a ping waits for its answer. */
export const PING_TIMEOUT_MS = 5_000;

/** How a ping travels (the `type` of `tailscale ping`). */
export type PingKind = "disco" | "TSMP" | "ICMP";

/** A ping's outcome in the JSON shape of Go's `ipnstate.PingResult`. */
export interface PingResult {
  IP: string;
  NodeIP: string;
  NodeName: string;
  Err?: string;
  LatencySeconds?: number;
  Endpoint?: string;
  DERPRegionID?: number;
  DERPRegionCode?: string;
  PeerAPIPort?: number;
  IsLocalIP?: boolean;
}

/** Options for {@linkcode Engine}. */
export interface EngineOptions {
  /** The node's private key (WireGuard and DERP identity). */
  nodeKey: NodePrivate;
  /** This process's disco private key. */
  discoKey: DiscoPrivate;
  /** Logger (prefix "engine"). */
  log: Logger;
  /** Called when our home DERP region changes, to tell control. */
  onHomeDerp?: (regionId: number) => void;
  /** Called when the engine's liveness (home DERP connected) may have changed. */
  onStatusChange?: () => void;
  /** DERP dial options (`useHttp` is the TS_DEBUG_USE_DERP_HTTP knob). */
  derpDial?: Omit<DialOptions, "signal">;
  /** Opens DERP streams; tests replace it. */
  derpConnect?: RegionConnector;
  /**
   * Test knob: replace WireGuard timings (e.g. a short `rekeyAfterTimeMs` to cross rekeys in
   * a short run). Production leaves this unset.
   */
  wgTimings?: Partial<WgTimings>;
  /**
   * Forward inbound TCP/UDP to 127.0.0.1 on the same port, as tailscaled in userspace mode
   * does (the daemon). Default false: a library node listens itself.
   */
  forwardToLoopback?: boolean;
  /** Loopback forwarder options. */
  forwarder?: ForwarderOptions;
  /** More stack options (tests). */
  stack?: Partial<Omit<StackOptions, "output" | "addresses">>;
  /** Time source for WireGuard and DERP; default the system clock. */
  clock?: Clock;
}

/** A snapshot of the engine's counters (see {@linkcode Engine.stats}). */
export interface EngineStats {
  /** WireGuard: drops by reason, and per peer (by `nodekey:`) packets, bytes, handshakes. */
  wireguard: { drops: Record<string, number>; peers: Record<string, unknown> };
  /** The path layer's counters. */
  path: MagicConnStats;
  /** DERP counters across regions and per connected region. */
  derp: Record<string, unknown>;
  /** What became of decrypted inbound packets. */
  inbound: InboundStats;
  /** What became of outbound packets (the stack's and the engine's own). */
  outbound: OutboundStats;
}

/** Per-peer data-plane state for status. */
export interface EnginePeerStatus {
  /** WireGuard state and counters. */
  wg: PeerStatus | null;
  /** The path a packet takes now, e.g. `DERP(lab)`, or "" when none. */
  relay: string;
}

/** The data plane of one node. */
export class Engine implements AsyncDisposable {
  readonly #log: Logger;
  readonly #opts: EngineOptions;
  readonly #magic: MagicConn;
  readonly #device: Device;
  readonly #pipeline: PacketPipeline;
  readonly #stack: NodeStack;
  readonly #disco: DiscoSealer;
  readonly #nodePublic: NodePublic;
  readonly #discoPings = new PingTracker<{ regionId: number }>();
  readonly #pinger = new IpPinger();
  #config: EngineConfig = EMPTY_ENGINE_CONFIG;
  #selfAddrs = new Set<string>();
  #peersByDisco = new Map<string, PeerConfig>();
  #peersByIp = new Map<string, PeerConfig>();
  #wgPeers = new Set<string>();
  #live = false;
  #closed = false;

  /** @param opts keys, logger, hooks and the stack's options */
  constructor(opts: EngineOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#nodePublic = publicOf(opts.nodeKey);
    this.#disco = new DiscoSealer(opts.discoKey);
    this.#magic = new MagicConn({
      privateKey: opts.nodeKey,
      log: opts.log.child("magicsock"),
      onDisco: (d) => this.#onDisco(d),
      onHomeDerp: (id) => {
        opts.onHomeDerp?.(id);
        void this.#watchHome();
      },
      derpDial: opts.derpDial,
      derpConnect: opts.derpConnect,
      clock: opts.clock,
    });
    this.#device = new Device({
      privateKey: opts.nodeKey,
      bind: this.#magic,
      log: opts.log.child("wg"),
      onPacket: (packet, peerKey) => this.#pipeline.inbound(packet, peerKey as NodePublic),
      timings: opts.wgTimings,
      clock: opts.clock,
    });
    this.#stack = new NodeStack({
      addresses: [],
      output: (buf, off, len) => {
        this.#pipeline.outbound(buf, off, len);
      },
      forward: opts.forwardToLoopback ?? false,
      forwarder: opts.forwarder,
      stack: opts.stack,
    });
    const stack = this.#stack.stack;
    this.#pipeline = new PacketPipeline({
      send: (buf, off, len) => this.#device.send(buf, off, len),
      sendCopy: (packet) => this.#device.sendPacket(packet),
      stackInput: (packet, info) => stack.inputParsed(packet, info),
      pinger: this.#pinger,
      responder: new Responder(),
    });
    this.#device.start();
  }

  /** Our disco public key (sent to control in MapRequests). */
  get discoPublic(): DiscoPublic {
    return this.#disco.publicKey;
  }

  /** Our node public key. */
  get nodePublic(): NodePublic {
    return this.#nodePublic;
  }

  /** Our home DERP region, 0 before the first DERP map. */
  get homeDerp(): number {
    return this.#magic.homeRegion;
  }

  /** Whether the home DERP region is connected: the data plane can reach peers. */
  get live(): boolean {
    return this.#live;
  }

  /** The config in force ({@linkcode EMPTY_ENGINE_CONFIG} before the first reconfig). */
  get config(): EngineConfig {
    return this.#config;
  }

  /** The node's stack (TCP/UDP on our Tailscale addresses, and the loopback forwarder). */
  get stack(): NodeStack {
    return this.#stack;
  }

  /** The packet pipeline: its filter and 100.100.100.100 slots are filled through it. */
  get pipeline(): PacketPipeline {
    return this.#pipeline;
  }

  /** What became of decrypted inbound packets (live counters). */
  get inbound(): InboundStats {
    return this.#pipeline.inboundStats;
  }

  /** Path-layer counters. */
  get pathStats(): MagicConnStats {
    return this.#magic.stats;
  }

  /**
   * Applies a new config: our addresses (stack and responder), WireGuard peers with their
   * AllowedIPs (updated in place, so live sessions survive), disco keys, the DERP map and
   * each peer's home region. The filter rules, DNS and shields-up are kept in
   * {@linkcode Engine.config} for the slots that will use them.
   * @param cfg the config, from `ipn/engine_config.ts`
   */
  reconfig(cfg: EngineConfig): void {
    if (this.#closed) return;
    this.#config = cfg;
    const addrs = cfg.addresses.map((a) => a.split("/")[0]);
    this.#selfAddrs = new Set(addrs);
    this.#stack.stack.setAddresses(cfg.addresses);
    this.#pipeline.setLocalAddresses(addrs.map((a) => parseIpAddr(a)));
    const byDisco = new Map<string, PeerConfig>();
    const byIp = new Map<string, PeerConfig>();
    const wanted = new Set<string>();
    for (const peer of cfg.peers) {
      if (peer.discoKey !== null) byDisco.set(toHex(peer.discoKey), peer);
      for (const a of peer.addresses) byIp.set(a.split("/")[0], peer);
      const ep = this.#magic.endpoint(peer.nodeKey);
      try {
        this.#device.setPeer({ publicKey: ep.nodeKey, allowedIps: peer.allowedIps, endpoint: ep });
        wanted.add(ep.id);
      } catch (err) {
        this.#log.warn(`peer ${peer.name}: not configured:`, err);
      }
    }
    for (const id of this.#wgPeers) {
      if (!wanted.has(id)) this.#device.removePeer(fromHex(id));
    }
    this.#wgPeers = wanted;
    this.#peersByDisco = byDisco;
    this.#peersByIp = byIp;
    this.#magic.setNetmap(
      cfg.derpMap,
      cfg.peers.map((p) => ({ nodeKey: p.nodeKey, homeDerp: p.homeDerp })),
    );
  }

  /**
   * Sends an IP packet into the tailnet as the stack would: through the pipeline's outbound
   * side (filter slot, then WireGuard, which picks the peer by destination).
   * @param packet an IPv4 or IPv6 packet
   * @returns whether WireGuard took it
   */
  injectOutbound(packet: Uint8Array): boolean {
    if (this.#closed) return false;
    return this.#pipeline.outboundPacket(packet);
  }

  /**
   * The peer owning a Tailscale IP.
   * @param ip address text
   * @returns the peer or null
   */
  peerByIp(ip: string): PeerConfig | null {
    return this.#peersByIp.get(ip) ?? null;
  }

  /**
   * Status of one peer's data plane.
   * @param nodeKey the peer's node key
   * @returns WireGuard state and the current path
   */
  peerStatus(nodeKey: NodePublic): EnginePeerStatus {
    const ep = this.#magic.endpoint(nodeKey);
    const path = this.#magic.pathTo(ep);
    return { wg: this.#device.peer(ep.nodeKey), relay: path ? path.regionCode : "" };
  }

  /** DERP region connection states. */
  derpStatus(): RegionStatus[] {
    return this.#magic.derpStatus();
  }

  /**
   * Every data-plane counter, for status and the LocalAPI: WireGuard drops by reason and
   * per-peer packets, bytes and handshakes (by node key), the path layer, DERP (per region,
   * drops by reason), and what became of inbound packets.
   * @returns a JSON-ready snapshot
   */
  stats(): EngineStats {
    const peers: Record<string, unknown> = {};
    for (const p of this.#device.peers()) {
      peers[publicToText("node", p.publicKey as NodePublic)] = {
        ...p.stats,
        lastHandshake: p.stats.lastHandshakeWallMs > 0
          ? new Date(p.stats.lastHandshakeWallMs).toISOString()
          : null,
        hasSession: p.hasSession,
      };
    }
    return {
      wireguard: { drops: { ...this.#device.drops }, peers },
      path: structuredClone(this.#magic.stats),
      derp: this.#magic.derpStats(),
      inbound: structuredClone(this.#pipeline.inboundStats),
      outbound: structuredClone(this.#pipeline.outboundStats),
    };
  }

  /**
   * Sends a disco ping to the peer that owns `ip` over DERP and waits for the pong.
   * @param ip the peer's Tailscale IP
   * @param timeoutMs how long to wait
   * @returns the result, with `Err` set on failure
   */
  async pingDisco(ip: string, timeoutMs = PING_TIMEOUT_MS): Promise<PingResult> {
    const peer = this.peerByIp(ip);
    const base = { IP: ip, NodeIP: ip, NodeName: peer?.name ?? "" };
    if (peer === null) return { ...base, Err: `no peer with IP ${ip} in the netmap` };
    if (peer.discoKey === null) return { ...base, Err: `peer ${base.NodeName} has no disco key` };
    const path = this.#magic.pathTo(this.#magic.endpoint(peer.nodeKey));
    if (path === null) return { ...base, Err: "no DERP path to the peer (no DERP map yet?)" };
    const txid = crypto.getRandomValues(new Uint8Array(12));
    const answer = this.#discoPings.wait(txid, timeoutMs);
    const packet = this.#disco.seal(peer.discoKey, {
      type: "ping",
      txid,
      nodeKey: this.#nodePublic,
      padding: 0,
    });
    this.#magic.sendDiscoDerp(peer.nodeKey, packet, path.regionId);
    try {
      const { value, rttMs } = await answer;
      const code = this.#magic.derpMap?.Regions[String(value.regionId)]?.RegionCode ??
        String(value.regionId);
      return {
        ...base,
        LatencySeconds: rttMs / 1000,
        DERPRegionID: value.regionId,
        DERPRegionCode: code,
      };
    } catch (err) {
      return { ...base, Err: err instanceof PingTimeoutError ? "timeout" : String(err) };
    }
  }

  /**
   * Pings the peer that owns `ip`: disco over DERP, or TSMP / ICMP through WireGuard.
   * @param ip the peer's Tailscale IP
   * @param kind how
   * @param timeoutMs how long to wait
   * @returns the result, with `Err` set on failure
   */
  async ping(ip: string, kind: PingKind, timeoutMs = PING_TIMEOUT_MS): Promise<PingResult> {
    if (kind === "disco") return await this.pingDisco(ip, timeoutMs);
    const peer = this.peerByIp(ip);
    const base = { IP: ip, NodeIP: ip, NodeName: peer?.name ?? "" };
    if (this.#selfAddrs.has(ip)) {
      return { ...base, IsLocalIP: true, Err: `${ip} is local Tailscale IP` };
    }
    if (peer === null) return { ...base, Err: `no peer with IP ${ip} in the netmap` };
    let dst: Uint8Array;
    try {
      dst = parseIpAddr(ip);
    } catch {
      return { ...base, Err: `bad IP ${ip}` };
    }
    const selfText = [...this.#selfAddrs].find((a) => a.includes(":") === ip.includes(":"));
    if (selfText === undefined) return { ...base, Err: "no Tailscale address of that family" };
    const src = parseIpAddr(selfText);
    const { packet, answer } = kind === "TSMP"
      ? this.#pinger.tsmp(src, dst, timeoutMs)
      : this.#pinger.icmp(src, dst, timeoutMs);
    this.#pipeline.outboundPacket(packet);
    try {
      const { value, rttMs } = await answer;
      const path = this.#magic.pathTo(this.#magic.endpoint(peer.nodeKey));
      return {
        ...base,
        LatencySeconds: rttMs / 1000,
        ...(path ? { DERPRegionID: path.regionId, DERPRegionCode: path.regionCode } : {}),
        ...(value.peerApiPort ? { PeerAPIPort: value.peerApiPort } : {}),
      };
    } catch (err) {
      return { ...base, Err: err instanceof PingTimeoutError ? "timeout" : String(err) };
    }
  }

  /** Stops the stack, DERP, WireGuard and every pending ping. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#discoPings.close();
    this.#pinger.close();
    await this.#stack.close();
    await this.#device.close();
    await this.#magic.closeAsync();
  }

  /** Same as {@linkcode Engine.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #watchHome(): Promise<void> {
    try {
      await this.#magic.waitHomeConnected();
      if (this.#closed) return;
      if (!this.#live) {
        this.#live = true;
        this.#log.info(`home DERP region ${this.#magic.homeRegion} connected`);
        this.#opts.onStatusChange?.();
      }
    } catch {
      // closed before connecting
    }
  }

  #onDisco(d: DerpDisco): void {
    const opened = this.#disco.open(d.packet);
    if (opened === null) return;
    const peer = this.#peersByDisco.get(toHex(opened.sender));
    if (peer === undefined) return; // unknown disco key: dropped silently, as Go does
    const m = opened.message;
    if (m.type === "ping") {
      const pong = this.#disco.seal(opened.sender, {
        type: "pong",
        txid: m.txid,
        src: { ip: DERP_MAGIC_IP, port: d.regionId },
      });
      this.#magic.sendDiscoDerp(d.srcNodeKey, pong, d.regionId);
    } else if (m.type === "pong") {
      this.#discoPings.answer(m.txid, { regionId: d.regionId });
    }
    // CallMeMaybe: no direct paths yet, so nothing to ping.
  }
}
