/**
 * One Engine per node: it builds the data-plane layers, hands each its dependencies, and owns
 * them. The assembly:
 * - the path layer ({@linkcode MagicConn}: a direct UDP path found by disco, else DERP) is
 *   WireGuard's bind;
 * - the WireGuard {@linkcode Device} hands each decrypted packet to the
 *   {@linkcode PacketPipeline}, which parses it once and runs the filter slot, the local
 *   handlers (ping answers, TSMP, the 100.100.100.100 slot) and then the stack;
 * - the stack ({@linkcode NodeStack}, with the loopback forwarder when asked) sends through
 *   the pipeline's outbound side (filter slot, then WireGuard);
 * - magicsock owns the UDP socket, the peers' paths, STUN and disco (pings over UDP and DERP,
 *   answered and sent).
 *
 * The engine knows nothing of control or IPN. {@linkcode Engine.reconfig} is the one way in:
 * IPN computes an {@linkcode EngineConfig} from prefs and the netmap and hands it over.
 * @module
 */
import type { Clock } from "./base/clock.ts";
import type { Logger } from "./base/logger.ts";
import { EMPTY_ENGINE_CONFIG, type EngineConfig, type PeerConfig } from "./config.ts";
import type { DialOptions } from "./derp/dial.ts";
import {
  type DnsStats,
  MagicDnsResolver,
  NodeUpstream,
  parseResolvConf,
  Quad100Service,
  type Quad100Stats,
  Quad100TcpServer,
} from "./dns/mod.ts";
import type { RegionConnector, RegionStatus } from "./derp/regions.ts";
import { PingTimeoutError } from "./disco/ping_tracker.ts";
import {
  type DiscoPrivate,
  type DiscoPublic,
  type NodePrivate,
  type NodePublic,
  publicOf,
  publicToText,
} from "./key/keys.ts";
import { type LocalEndpoint, MagicConn, type MagicConnStats } from "./magicsock/conn.ts";
import { DERP_MAGIC_IP } from "./magicsock/constants.ts";
import { measureHttpsLatency } from "./derp/mod.ts";
import {
  interfaceFamilies,
  NetcheckClient,
  type NetcheckReport,
  type NetcheckStats,
  netInfoFromReport,
  type NetInfoJson,
  osHasIpv6,
  PeriodicNetcheck,
} from "./netcheck/mod.ts";
import { PING_TIMEOUT_MS } from "./ping/constants.ts";
import { IpPinger } from "./ping/pinger.ts";
import { Responder } from "./ping/responder.ts";
import { type InboundStats, type OutboundStats, PacketPipeline } from "./pipeline.ts";
import { type FilterConfig, type FilterStats, StatefulFilter } from "./filter/filter.ts";
import { NodeStack, type StackOptions } from "./stack/mod.ts";
import type { ForwarderOptions, ForwarderStats } from "./stack/forwarder.ts";
import type { StackStats } from "./stack/stack.ts";
import { RoutedEcho, type RoutedEchoStats } from "./stack/routed_echo.ts";
import { Device, type PeerStatus, type WgTimings } from "./wg/mod.ts";
import { formatIpAddrAt, parseIpAddr, parseIpPrefix } from "./wire/ip_addr.ts";
import { inspectIp, newIpInfo } from "./wire/ip.ts";
import { peerForDestination, RoutedPrefixes } from "./routes.ts";

export type { InboundStats, OutboundStats } from "./pipeline.ts";
export type { EngineConfig, PeerConfig } from "./config.ts";

/** The IP of DERP paths in disco pongs and ping results: Go's `tailcfg.DerpMagicIP`. */
export { DERP_MAGIC_IP };

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
  /** Time source for every layer (WireGuard, DERP, disco, pings, the stack); default the system clock. */
  clock?: Clock;
  /**
   * The UDP port for direct paths (0: any; the daemon's default is 41641); null or absent:
   * no UDP socket, every packet over DERP.
   */
  listenPort?: number | null;
  /** Called when our endpoints change, to tell control (MapRequest `Endpoints`). */
  onEndpoints?: (endpoints: LocalEndpoint[]) => void;
  /**
   * Called when what netcheck found changed (tailcfg.NetInfo: PreferredDERP, WorkingUDP,
   * MappingVariesByDestIP, DERPLatency, ...), to tell control in Hostinfo. Changes of the
   * latencies alone do not call it (tailscaled's `BasicallyEqual`).
   */
  onNetInfo?: (netInfo: NetInfoJson) => void;
  /**
   * Run netcheck at start and every 20-26 s. Default: when `listenPort` asks for a UDP socket
   * (a DERP-only engine, as most unit tests build, measures nothing).
   */
  netcheck?: boolean;
  /**
   * The host's DNS resolvers, for names no route or global resolver claims; default the
   * `nameserver` lines of /etc/resolv.conf, read when the engine starts.
   */
  hostResolvers?: () => readonly string[];
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
  /** Echo requests to routed destinations (subnet routes, exit node) and their answers. */
  routedEcho: RoutedEchoStats;
  /**
   * The stack's counters: drops by reason (`notOurs`: to an address neither ours nor in a
   * route we relay, e.g. a peer using us as exit node sending to our loopback).
   */
  stack: StackStats;
  /** The forwarder's counters (loopback and routed TCP/UDP), null without one. */
  forwarder: ForwarderStats | null;
  /** What became of outbound packets (the stack's and the engine's own). */
  outbound: OutboundStats;
  /** The packet filter's verdicts by reason (its drops are the pipeline's `filtered`). */
  filter: FilterStats;
  /** MagicDNS: the resolver's counters and the 100.100.100.100 service's. */
  dns: DnsStats & { quad100: Quad100Stats & { tcpAnswered: number } };
}

/** Per-peer data-plane state for status. */
export interface EnginePeerStatus {
  /** WireGuard state and counters. */
  wg: PeerStatus | null;
  /** The DERP region a packet takes when not direct, e.g. `lab`, or "" when none. */
  relay: string;
  /** The direct path in use (`ip:port`), or "" when packets go over DERP. */
  curAddr: string;
}

/** The data plane of one node. */
export class Engine implements AsyncDisposable {
  readonly #log: Logger;
  readonly #opts: EngineOptions;
  readonly #magic: MagicConn;
  readonly #device: Device;
  readonly #pipeline: PacketPipeline;
  readonly #stack: NodeStack;
  readonly #nodePublic: NodePublic;
  readonly #pinger: IpPinger;
  readonly #filter = new StatefulFilter();
  readonly #dns: MagicDnsResolver;
  readonly #quad100: Quad100Service;
  readonly #quad100Tcp: Quad100TcpServer;
  #config: EngineConfig = EMPTY_ENGINE_CONFIG;
  #routed = new RoutedPrefixes([]);
  readonly #routedEcho: RoutedEcho;
  #selfAddrs = new Set<string>();
  readonly #peersByIp = new Map<string, PeerConfig>();
  #live = false;
  #closed = false;
  readonly #netcheck: PeriodicNetcheck | null = null;
  #netcheckClient: NetcheckClient | null = null;
  #netInfo: NetInfoJson = {};

  /** @param opts keys, logger, hooks and the stack's options */
  constructor(opts: EngineOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#nodePublic = publicOf(opts.nodeKey);
    this.#pinger = new IpPinger({ clock: opts.clock });
    this.#magic = new MagicConn({
      privateKey: opts.nodeKey,
      discoKey: opts.discoKey,
      log: opts.log.child("magicsock"),
      onHomeDerp: (id) => {
        opts.onHomeDerp?.(id);
        this.#setNetInfo({ ...this.#netInfo, PreferredDERP: id });
        void this.#watchHome();
      },
      derpDial: opts.derpDial,
      derpConnect: opts.derpConnect,
      clock: opts.clock,
      listenPort: opts.listenPort,
      onEndpoints: opts.onEndpoints,
      // A peer that learnt of us after dropping our first initiation: try again now.
      onPeerAnswered: (nodeKey) => this.#device.handshakeIfWaiting(nodeKey),
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
      stack: { clock: opts.clock, ...opts.stack },
    });
    const stack = this.#stack.stack;
    this.#routedEcho = new RoutedEcho({
      routed: (b, off, len) => this.#routed.contains(b, off, len),
      reply: (packet) => this.#pipeline.outboundPacket(packet),
    });
    this.#pipeline = new PacketPipeline({
      send: (buf, off, len) => this.#device.send(buf, off, len),
      sendCopy: (packet) => this.#device.sendPacket(packet),
      // Echo to a routed destination is answered only if the host reaches it (tailscaled's
      // userPing); everything else for the stack.
      stackInput: (packet, info) => {
        if (!this.#routedEcho.take(packet, info)) stack.inputParsed(packet, info);
      },
      pinger: this.#pinger,
      responder: new Responder(),
    });
    // Default deny until the first reconfig says which addresses are ours, as tailscaled.
    this.#pipeline.setFilter(this.#filter);
    const hostResolvers = opts.hostResolvers ?? readHostResolvers();
    this.#dns = new MagicDnsResolver({
      upstream: new NodeUpstream({
        stack: this.#stack,
        viaTailnet: (ip) => this.#peersByIp.has(ip),
      }),
      hostResolvers,
      log: opts.log.child("dns"),
      clock: opts.clock,
    });
    this.#quad100Tcp = new Quad100TcpServer({
      resolver: () => this.#dns,
      clock: opts.clock,
      // Our own stack asking (the proxies, dial()) gets the answer back directly; a peer
      // through WireGuard.
      output: (packet) => {
        const info = newIpInfo();
        if (!inspectIp(packet, 0, packet.length, info)) return;
        const dst = formatIpAddrAt(packet, info.dstOff, info.addrLen);
        if (this.#selfAddrs.has(dst)) this.#stack.stack.inputParsed(packet, info);
        else this.#pipeline.outboundPacket(packet);
      },
    });
    this.#quad100 = new Quad100Service(() => this.#dns, this.#quad100Tcp);
    this.#pipeline.setQuad100(this.#quad100);
    this.#device.start();
    if (opts.netcheck ?? (opts.listenPort !== undefined && opts.listenPort !== null)) {
      this.#netcheck = this.#startNetcheck();
    }
  }

  /**
   * netcheck over magicsock's UDP socket (or, without one, a sender that sends nothing, so
   * the report says no UDP and measures DERP over HTTPS); its answers come back through
   * magicsock's STUN demultiplexing.
   */
  #startNetcheck(): PeriodicNetcheck {
    const opts = this.#opts;
    const transport = this.#magic.stunTransport ?? { ipv6: false, send: () => false };
    const client = new NetcheckClient({
      transport,
      clock: opts.clock,
      log: opts.log.child("netcheck"),
      osHasIpv6,
      interfaces: interfaceFamilies,
      lastDerpActivity: (regionId) => this.#magic.lastDerpActivity(regionId),
      httpsLatency: (region, signal) =>
        measureHttpsLatency(region, { ...opts.derpDial, clock: opts.clock, signal }),
    });
    this.#netcheckClient = client;
    this.#magic.setStunReceiver((data, ip, port) => client.receiveStun(data, ip, port));
    return new PeriodicNetcheck({
      client,
      clock: opts.clock,
      log: opts.log.child("netcheck"),
      derpMap: () => this.#magic.derpMap,
      onReport: (r) => this.#onNetcheckReport(r),
    });
  }

  /** The home region follows netcheck's preferred one; control hears what changed. */
  #onNetcheckReport(r: NetcheckReport): void {
    if (this.#closed) return;
    if (r.preferredDerp !== 0) this.#magic.setHomeRegion(r.preferredDerp);
    this.#setNetInfo(netInfoFromReport(r, this.#magic.homeRegion));
  }

  #setNetInfo(ni: NetInfoJson): void {
    const basic = (n: NetInfoJson) => JSON.stringify({ ...n, DERPLatency: undefined });
    const changed = basic(ni) !== basic(this.#netInfo);
    this.#netInfo = ni;
    if (changed) this.#opts.onNetInfo?.({ ...ni });
  }

  /** The last netcheck report, or null before the first finished. */
  get netcheckReport(): NetcheckReport | null {
    return this.#netcheckClient?.last ?? null;
  }

  /** netcheck's counters (reports, STUN requests, answers, bad answers), or null without it. */
  get netcheckStats(): NetcheckStats | null {
    return this.#netcheckClient === null ? null : { ...this.#netcheckClient.stats };
  }

  /** What netcheck found, as sent to control in Hostinfo.NetInfo. */
  get netInfo(): NetInfoJson {
    return { ...this.#netInfo };
  }

  /** MagicDNS: the resolver behind 100.100.100.100, the proxies and `dial()`. */
  get dns(): MagicDnsResolver {
    return this.#dns;
  }

  /** Our disco public key (sent to control in MapRequests). */
  get discoPublic(): DiscoPublic {
    return this.#magic.discoPublic;
  }

  /** Our node public key. */
  get nodePublic(): NodePublic {
    return this.#nodePublic;
  }

  /** Our UDP port for direct paths, 0 without a socket. */
  get listenPort(): number {
    return this.#magic.listenPort;
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

  /** The packet filter in the pipeline's slot (rules, shields-up, its counters). */
  get filter(): StatefulFilter {
    return this.#filter;
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
   * each peer's home region; the packet filter's rules and shields-up (live: flows we opened
   * keep passing); MagicDNS's names and routes; and the prefixes we relay for peers (the stack
   * takes inbound connections to them, the forwarder dials them from the host).
   * @param cfg the config, from `ipn/engine_config.ts`
   */
  reconfig(cfg: EngineConfig): void {
    if (this.#closed) return;
    // As tailscaled's "parsePacketFilter: ..." log: the bad entries were skipped.
    if (cfg.filterError !== "" && cfg.filterError !== this.#config.filterError) {
      this.#log.warn(`packet filter: ${cfg.filterError}`);
    }
    const prevPeers = new Set(this.#config.peers);
    this.#config = cfg;
    const addrs = cfg.addresses.map((a) => a.split("/")[0]);
    this.#selfAddrs = new Set(addrs);
    this.#stack.stack.setAddresses(cfg.addresses);
    // Being a subnet router or exit node: packets to these reach the stack once the filter
    // slot passed them (the packet filter decides who may use the routes, as in tailscaled).
    const routed = new RoutedPrefixes(cfg.routes);
    this.#routed = routed;
    this.#stack.stack.setRouted(routed.empty ? null : routed.contains);
    this.#pipeline.setLocalAddresses(addrs.map((a) => parseIpAddr(a)));
    this.#filter.configure(filterConfig(cfg));
    // A peer config object seen in the last reconfig is that peer unchanged (engineConfig
    // keeps them for unchanged netmap nodes): only the others are (re)applied, so a one-peer
    // change among thousands costs one peer's work.
    const nextPeers = new Set(cfg.peers);
    const byIp = this.#peersByIp;
    for (const peer of prevPeers) {
      if (nextPeers.has(peer)) continue;
      for (const a of peer.addresses) {
        const ip = a.split("/")[0];
        if (byIp.get(ip) === peer) byIp.delete(ip);
      }
    }
    const changed = cfg.peers.filter((peer) => !prevPeers.has(peer));
    for (const peer of changed) {
      for (const a of peer.addresses) byIp.set(a.split("/")[0], peer);
    }
    this.#dns.setConfig(cfg.dns);
    // Paths first: WireGuard's peers point at the path layer's endpoints.
    const removed = this.#magic.reconfig(cfg.derpMap, cfg.peers);
    if (this.#magic.derpMap !== null) this.#netcheck?.start();
    for (const ep of removed) this.#device.removePeer(ep.nodeKey);
    for (const peer of changed) {
      const ep = this.#magic.endpoint(peer.nodeKey);
      try {
        this.#device.setPeer({ publicKey: ep.nodeKey, allowedIps: peer.allowedIps, endpoint: ep });
      } catch (err) {
        this.#log.warn(`peer ${peer.name}: not configured:`, err);
      }
    }
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
   * The peer a packet to `ip` goes to: its own Tailscale address, else the longest of the
   * peers' AllowedIPs that holds it (an accepted subnet route, the chosen exit node's default
   * routes), as Go's `PeerForIP`. The proxies dial through the stack exactly when this is set.
   * @param ip an address literal
   * @returns the peer, or null when the tailnet does not route `ip`
   */
  peerForDestination(ip: string): PeerConfig | null {
    return this.#peersByIp.get(ip) ?? peerForDestination(this.#config.peers, ip)?.peer ?? null;
  }

  /**
   * Status of one peer's data plane.
   * @param nodeKey the peer's node key
   * @returns WireGuard state and the current path
   */
  peerStatus(nodeKey: NodePublic): EnginePeerStatus {
    const ep = this.#magic.endpoint(nodeKey);
    const path = this.#magic.pathTo(ep);
    return {
      wg: this.#device.peer(ep.nodeKey),
      relay: path ? path.regionCode : "",
      curAddr: this.#magic.directAddr(ep) ?? "",
    };
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
      routedEcho: { ...this.#routedEcho.stats },
      stack: structuredClone(this.#stack.stack.stats),
      forwarder: this.#stack.forwarder === null ? null : { ...this.#stack.forwarder.stats },
      outbound: structuredClone(this.#pipeline.outboundStats),
      filter: structuredClone(this.#filter.stats),
      dns: {
        ...structuredClone(this.#dns.stats),
        quad100: { ...this.#quad100.stats, tcpAnswered: this.#quad100Tcp.answered },
      },
    };
  }

  /**
   * Sends a disco ping to the peer that owns `ip` (over its trusted direct path, else over
   * DERP and every candidate path at once) and waits for the first pong.
   * @param ip the peer's Tailscale IP
   * @param timeoutMs how long to wait
   * @returns the result, with `Err` set on failure
   */
  async pingDisco(ip: string, timeoutMs = PING_TIMEOUT_MS): Promise<PingResult> {
    const peer = this.peerByIp(ip);
    const base = { IP: ip, NodeIP: ip, NodeName: peer?.name ?? "" };
    if (peer === null) return { ...base, Err: `no peer with IP ${ip} in the netmap` };
    if (peer.discoKey === null) return { ...base, Err: `peer ${base.NodeName} has no disco key` };
    const r = await this.#magic.pingDisco(peer.nodeKey, timeoutMs);
    if (!r.ok) return { ...base, Err: r.err };
    if (r.path.via === "udp") {
      return { ...base, LatencySeconds: r.rttMs / 1000, Endpoint: r.path.addr };
    }
    const regionId = r.path.regionId;
    const code = this.#magic.derpMap?.Regions[String(regionId)]?.RegionCode ?? String(regionId);
    return {
      ...base,
      LatencySeconds: r.rttMs / 1000,
      DERPRegionID: regionId,
      DERPRegionCode: code,
    };
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
      const ep = this.#magic.endpoint(peer.nodeKey);
      const direct = this.#magic.directAddr(ep);
      const path = direct === null ? this.#magic.pathTo(ep) : null;
      return {
        ...base,
        LatencySeconds: rttMs / 1000,
        ...(direct !== null ? { Endpoint: direct } : {}),
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
    this.#netcheck?.close();
    this.#pinger.close();
    this.#dns.close();
    this.#quad100Tcp.close();
    await this.#routedEcho.close();
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
}

/** The packet filter's settings from an engine config (bad addresses are skipped). */
function filterConfig(cfg: EngineConfig): FilterConfig {
  const addrs = (texts: readonly string[]) =>
    texts.flatMap((a) => {
      try {
        return [parseIpAddr(a.split("/")[0])];
      } catch {
        return [];
      }
    });
  return {
    rules: cfg.filter,
    // The destinations a peer may reach: our own addresses (as host prefixes) and the routes
    // we advertise and relay, as Go's updateFilterLocked builds localNets. (Go also takes the
    // host's LAN prefixes out of an advertised default route; not done here.)
    local: [
      ...addrs(cfg.addresses).map((addr) => ({ addr, bits: addr.length * 8 })),
      ...cfg.routes.flatMap((r) => {
        try {
          return [parseIpPrefix(r)];
        } catch {
          return [];
        }
      }),
    ],
    shieldsUp: cfg.shieldsUp,
    error: cfg.filterError,
    capHolders: Object.fromEntries(
      Object.entries(cfg.filterCapHolders).map(([cap, holders]) => [cap, addrs(holders)]),
    ),
  };
}

/** The host's resolvers from /etc/resolv.conf, read once; none when it cannot be read. */
function readHostResolvers(): () => readonly string[] {
  let list: readonly string[] = [];
  try {
    list = parseResolvConf(Deno.readTextFileSync("/etc/resolv.conf"));
  } catch {
    // No resolv.conf (or no permission): names outside the tailnet get SERVFAIL.
  }
  return () => list;
}
