/**
 * One Engine per node: it builds the data-plane layers and hands each its dependencies. The
 * path layer ({@linkcode MagicConn}, DERP today) is WireGuard's bind; WireGuard's decrypted
 * packets come back here and go to the packet handler (ICMP/TSMP answers now, the TCP/UDP
 * stack later); disco packets over DERP are opened with our disco key and answered.
 *
 * The engine knows nothing of control or IPN: the backend gives it each new netmap.
 * @module
 */
import type { Logger } from "./base/logger.ts";
import type { NetmapNode, NetworkMap } from "./control/types.ts";
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
  publicFromText,
  publicOf,
  publicToText,
  toHex,
} from "./key/keys.ts";
import { type DerpDisco, MagicConn, type MagicConnStats } from "./magicsock/conn.ts";
import { PING_TIMEOUT_MS } from "./ping/constants.ts";
import { IpPinger } from "./ping/pinger.ts";
import { Responder } from "./ping/responder.ts";
import { Device, type PeerStatus, type WgTimings } from "./wg/mod.ts";
import { formatIpAddrAt, parseIpAddr } from "./wire/ip_addr.ts";

/** The IP of DERP paths in disco pongs and ping results: Go's `tailcfg.DerpMagicIP`. */
export const DERP_MAGIC_IP = "127.3.3.40";

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

/** Takes the decrypted inbound IP packets the engine does not answer itself (the stack). */
export interface PacketHandler {
  /**
   * @param packet a decrypted IP packet from a peer
   * @param peer the peer's node key
   */
  inbound(packet: Uint8Array, peer: NodePublic): void;
}

/** Inbound packets by what became of them. */
export interface InboundStats {
  /** Echo requests and TSMP pings answered. */
  answered: number;
  /** Replies to our own pings. */
  pingReplies: number;
  /** TSMP messages consumed. */
  tsmpConsumed: number;
  /** Handed to the packet handler. */
  passed: number;
  /** No handler for them (no stack yet). */
  dropped: number;
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
  readonly #disco: DiscoSealer;
  readonly #nodePublic: NodePublic;
  readonly #discoPings = new PingTracker<{ regionId: number }>();
  readonly #responder = new Responder();
  readonly #pinger = new IpPinger();
  /** Counters of inbound packets. */
  readonly inbound: InboundStats = {
    answered: 0,
    pingReplies: 0,
    tsmpConsumed: 0,
    passed: 0,
    dropped: 0,
  };
  #handler: PacketHandler | null = null;
  #selfAddrs = new Set<string>();
  #netmap: NetworkMap | null = null;
  #peersByDisco = new Map<string, NetmapNode>();
  #peersByIp = new Map<string, NetmapNode>();
  #wgPeers = new Set<string>();
  #live = false;
  #closed = false;

  /** @param opts keys, logger and hooks */
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
    });
    this.#device = new Device({
      privateKey: opts.nodeKey,
      bind: this.#magic,
      log: opts.log.child("wg"),
      onPacket: (packet, peerKey) => this.#onInbound(packet, peerKey as NodePublic),
      timings: opts.wgTimings,
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

  /** The netmap in force, or null. */
  get netmap(): NetworkMap | null {
    return this.#netmap;
  }

  /** The WireGuard device (for the packet layer above, which sends through it). */
  get device(): Device {
    return this.#device;
  }

  /** Path-layer counters. */
  get pathStats(): MagicConnStats {
    return this.#magic.stats;
  }

  /** Installs the handler for decrypted inbound packets. @param handler the handler */
  setPacketHandler(handler: PacketHandler): void {
    this.#handler = handler;
  }

  /**
   * Applies a new netmap: DERP map and home region, WireGuard peers (updated in place, so live
   * sessions survive), disco keys.
   * @param nm the netmap
   */
  setNetmap(nm: NetworkMap): void {
    if (this.#closed) return;
    this.#netmap = nm;
    this.#selfAddrs = new Set(nm.self.addresses.map((a) => a.split("/")[0]));
    const byDisco = new Map<string, NetmapNode>();
    const byIp = new Map<string, NetmapNode>();
    const wanted = new Set<string>();
    for (const peer of nm.peers) {
      if (peer.discoKey) {
        try {
          byDisco.set(toHex(publicFromText("disco", peer.discoKey)), peer);
        } catch {
          this.#log.debug(`peer ${peer.name}: bad disco key`);
        }
      }
      for (const a of peer.addresses) byIp.set(a.split("/")[0], peer);
      const ep = this.#magic.endpointFor(peer.key);
      if (ep === null) continue;
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
    this.#magic.setNetmap(nm.derpMap, nm.peers.map((p) => ({ key: p.key, homeDerp: p.homeDerp })));
  }

  /**
   * The peer owning a Tailscale IP.
   * @param ip address text
   * @returns the peer or null
   */
  peerByIp(ip: string): NetmapNode | null {
    return this.#peersByIp.get(ip) ?? null;
  }

  /**
   * Status of one peer's data plane.
   * @param peer the netmap peer
   * @returns WireGuard state and the current path
   */
  peerStatus(peer: NetmapNode): EnginePeerStatus {
    const ep = this.#magic.endpointFor(peer.key);
    if (ep === null) return { wg: null, relay: "" };
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
      inbound: { ...this.inbound },
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
    const base = { IP: ip, NodeIP: ip, NodeName: peer ? shortName(peer) : "" };
    if (peer === null) return { ...base, Err: `no peer with IP ${ip} in the netmap` };
    if (!peer.discoKey) return { ...base, Err: `peer ${base.NodeName} has no disco key` };
    let discoKey: DiscoPublic;
    let nodeKey: NodePublic;
    try {
      discoKey = publicFromText("disco", peer.discoKey);
      nodeKey = publicFromText("node", peer.key);
    } catch {
      return { ...base, Err: `peer ${base.NodeName} has malformed keys` };
    }
    const ep = this.#magic.endpointFor(peer.key);
    const path = ep ? this.#magic.pathTo(ep) : null;
    if (path === null) return { ...base, Err: "no DERP path to the peer (no DERP map yet?)" };
    const txid = crypto.getRandomValues(new Uint8Array(12));
    const answer = this.#discoPings.wait(txid, timeoutMs);
    const packet = this.#disco.seal(discoKey, {
      type: "ping",
      txid,
      nodeKey: this.#nodePublic,
      padding: 0,
    });
    this.#magic.sendDiscoDerp(nodeKey, packet, path.regionId);
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
    const base = { IP: ip, NodeIP: ip, NodeName: peer ? shortName(peer) : "" };
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
    this.#device.sendPacket(packet);
    try {
      const { value, rttMs } = await answer;
      const ep = this.#magic.endpointFor(peer.key);
      const path = ep ? this.#magic.pathTo(ep) : null;
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

  /** Stops DERP, WireGuard and every pending ping. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#discoPings.close();
    this.#pinger.close();
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

  #onInbound(packet: Uint8Array, peer: NodePublic): void {
    if (this.#pinger.observe(packet)) {
      this.inbound.pingReplies++;
      return;
    }
    const r = this.#responder.handle(
      packet,
      (b, off, len) => this.#selfAddrs.has(formatIpAddrAt(b, off, len)),
    );
    if (r.kind === "reply") {
      this.inbound.answered++;
      this.#device.sendPacket(r.packet);
      return;
    }
    if (r.kind === "consumed") {
      this.inbound.tsmpConsumed++;
      return;
    }
    if (this.#handler === null) {
      this.inbound.dropped++;
      return;
    }
    this.inbound.passed++;
    this.#handler.inbound(packet, peer);
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

function shortName(n: NetmapNode): string {
  return n.name.split(".")[0] || n.hostname;
}
