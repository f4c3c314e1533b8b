/**
 * The path layer (magicsock): WireGuard's {@linkcode Bind} for a node, and the owner of disco.
 * WireGuard sends to an {@linkcode Endpoint}; this layer picks the path: the peer's best
 * direct UDP path while disco pongs keep it trusted, else the DERP region the peer is homed in
 * (our own home region when control did not say). Nothing above knows which path a packet
 * takes, and the WireGuard session does not notice a switch.
 *
 * One UDP socket ({@linkcode UdpSocket}) carries WireGuard, disco and STUN, told apart as
 * magicsock does: STUN by its magic cookie, disco by its "TS💬" magic, the rest WireGuard
 * (mapped to its peer by source `ip:port`). STUN requests to the DERP map's STUN servers
 * discover our address as others see it; with the interface addresses they are our endpoints,
 * handed to control through `onEndpoints`.
 *
 * Disco, as tailscaled does it (`wgengine/magicsock/endpoint.go`): when WireGuard sends to a
 * peer with no trusted direct path, every candidate gets a ping over UDP and the peer a
 * CallMeMaybe with our endpoints over DERP (at most every {@linkcode DISCO_PING_INTERVAL_MS});
 * a pong makes its path the best one if {@linkcode betterAddr} says so, trusted for
 * {@linkcode TRUST_UDP_ADDR_MS}; heartbeats every {@linkcode HEARTBEAT_INTERVAL_MS} keep an
 * active peer's path trusted. Pings from peers are answered with a pong naming where they came
 * from, and their source becomes a candidate. All timing runs on the options' Clock.
 * @module
 */
import { type Clock, SYSTEM_CLOCK, type TimerId } from "../base/clock.ts";
import type { Logger } from "../base/logger.ts";
import type { DerpMap } from "../control/types.ts";
import type { DerpMessage } from "../derp/client.ts";
import { DerpRegions, type RegionConnector, type RegionStatus } from "../derp/regions.ts";
import type { DialOptions } from "../derp/dial.ts";
import { PingTimeoutError, PingTracker } from "../disco/ping_tracker.ts";
import { DiscoSealer } from "../disco/seal.ts";
import type { StunTransport } from "../netcheck/mod.ts";
import {
  type DiscoPrivate,
  type DiscoPublic,
  type NodePrivate,
  type NodePublic,
  publicOf,
} from "../key/keys.ts";
import { type DiscoEndpoint, isDiscoPacket } from "../wire/disco_messages.ts";
import { formatIpAddr, parseIpAddr } from "../wire/ip_addr.ts";
import { isStun, parseStunResponse, stunRequest, stunTxid } from "../wire/stun.ts";
import { betterAddr } from "./better_addr.ts";
import {
  CALL_ME_MAYBE_MIN_MS,
  DERP_MAGIC_IP,
  DISCO_PING_INTERVAL_MS,
  ENDPOINT_LOCAL,
  ENDPOINT_STUN,
  FIRST_CONTACT_PROBE_MS,
  FIRST_CONTACT_PROBES,
  HEARTBEAT_INTERVAL_MS,
  MAX_CANDIDATES,
  PING_TIMEOUT_MS,
  RECEIVE_QUEUE_LIMIT,
  SESSION_ACTIVE_TIMEOUT_MS,
  STUN_INTERVAL_MS,
  TRUST_UDP_ADDR_MS,
  UPGRADE_INTERVAL_MS,
} from "./constants.ts";
import { candidate, Endpoint, parseCandidates, type PathCandidate } from "./endpoint.ts";
import { bytesKey, PeerMap } from "./peer_map.ts";
import { localEndpoints, type UdpDatagram, UdpSocket, unmap } from "./udp.ts";

/** Takes a STUN datagram that is no answer of magicsock's; true when it was its own. */
export type StunReceiver = (data: Uint8Array, ip: Uint8Array, port: number) => boolean;

/** One received datagram for WireGuard (the shape of wg's `BindReceived`). */
export interface MagicReceived {
  /** The datagram. */
  readonly data: Uint8Array;
  /** The peer it came from. */
  readonly endpoint: Endpoint;
}

/** A peer as the path layer needs it. */
export interface PathPeer {
  /** The peer's node key. */
  nodeKey: NodePublic;
  /** The peer's disco key, or null (no disco with it). */
  discoKey: DiscoPublic | null;
  /** Home DERP region, 0 when unknown. */
  homeDerp: number;
  /** Its `ip:port` endpoints from control (candidate direct paths). */
  endpoints: readonly string[];
}

/** The path a disco pong came back on. */
export type PongPath = { via: "derp"; regionId: number } | { via: "udp"; addr: string };

/** The outcome of {@linkcode MagicConn.pingDisco}. */
export type DiscoPingResult =
  | { ok: true; rttMs: number; path: PongPath }
  | { ok: false; err: string };

/** One of our endpoints as a MapRequest carries it. */
export interface LocalEndpoint {
  /** `ip:port`. */
  addr: string;
  /** tailcfg.EndpointType: 1 local interface, 2 STUN. */
  type: number;
}

/** Options for {@linkcode MagicConn}. */
export interface MagicConnOptions {
  /** Our node private key: the DERP identity. */
  privateKey: NodePrivate;
  /** This process's disco private key. */
  discoKey: DiscoPrivate;
  /** Logger. */
  log: Logger;
  /** Called when our home DERP region changes (to tell control in Hostinfo.NetInfo). */
  onHomeDerp?: (regionId: number) => void;
  /** DERP dial options (`useHttp` is the TS_DEBUG_USE_DERP_HTTP knob). */
  derpDial?: Omit<DialOptions, "signal">;
  /** Opens region streams; tests replace it. */
  derpConnect?: RegionConnector;
  /** Time source for DERP, disco pings, heartbeats and STUN; default the system clock. */
  clock?: Clock;
  /**
   * The UDP port for direct paths (0: any); null or absent: no UDP socket, DERP only.
   * The daemon asks for 41641 as tailscaled does.
   */
  listenPort?: number | null;
  /** Called when our endpoints change (to tell control in the MapRequest). */
  onEndpoints?: (endpoints: LocalEndpoint[]) => void;
  /**
   * Called when a peer answers a disco ping over UDP after answering none (its first pong, or
   * the first after {@linkcode SESSION_ACTIVE_TIMEOUT_MS} without one): it knows our keys
   * now, so a WireGuard handshake it dropped before can be sent again at once.
   */
  onPeerAnswered?: (nodeKey: NodePublic) => void;
}

/** Counters of the path layer. */
export interface MagicConnStats {
  /** Datagrams handed to DERP. */
  sentDerp: number;
  /** Datagrams received over DERP for WireGuard. */
  receivedDerp: number;
  /** Disco packets received over DERP. */
  discoDerp: number;
  /** Datagrams sent over direct UDP paths (WireGuard). */
  sentUdp: number;
  /** WireGuard datagrams received over UDP from a peer's path. */
  receivedUdp: number;
  /** Disco packets received over UDP. */
  discoUdp: number;
  /** Disco pings sent over UDP. */
  pingsSent: number;
  /** Pongs that confirmed a direct path. */
  pongsUdp: number;
  /** Times a peer's best direct path changed (to a path, or back to DERP). */
  pathSwitches: number;
  /** STUN requests sent and answers accepted. */
  stunSent: number;
  stunAnswers: number;
  drops: {
    /** No DERP map or no region to send through. */
    noPath: number;
    /** The receive queue was full. */
    queueFull: number;
    /** DERP refused the send (not connected, queue full). */
    derpSend: number;
    /** A UDP datagram from an address that is no peer's path. */
    udpUnknownSource: number;
    /** A disco packet that did not open, or came from no peer's disco key. */
    discoBad: number;
    /** A STUN datagram that was no answer to a request of ours, or came from elsewhere. */
    stunBad: number;
    /** A disco ping whose txid this peer already sent: a replay. */
    discoReplayed: number;
    /** A pong that opened but answers no ping in flight, or came from no address we pinged. */
    pongUnexpected: number;
    /** A candidate path refused: the peer already has {@linkcode MAX_CANDIDATES}. */
    candidatesFull: number;
    /** A call-me-maybe within {@linkcode CALL_ME_MAYBE_MIN_MS} of the peer's last one. */
    callMeMaybeFlood: number;
  };
}

/** The path layer of one node. */
export class MagicConn {
  readonly stats: MagicConnStats = {
    sentDerp: 0,
    receivedDerp: 0,
    discoDerp: 0,
    sentUdp: 0,
    receivedUdp: 0,
    discoUdp: 0,
    pingsSent: 0,
    pongsUdp: 0,
    pathSwitches: 0,
    stunSent: 0,
    stunAnswers: 0,
    drops: {
      noPath: 0,
      queueFull: 0,
      derpSend: 0,
      udpUnknownSource: 0,
      discoBad: 0,
      stunBad: 0,
      discoReplayed: 0,
      pongUnexpected: 0,
      candidatesFull: 0,
      callMeMaybeFlood: 0,
    },
  };
  readonly #opts: MagicConnOptions;
  readonly #peers = new PeerMap();
  /** The peers of the last reconfig (their config objects, to see which changed). */
  #lastPeers = new Set<PathPeer>();
  readonly #disco: DiscoSealer;
  readonly #discoPings: PingTracker<PongPath>;
  readonly #clock: Clock;
  readonly #udp: UdpSocket | null;
  #closing: Promise<void> | null = null;
  /** Pings we sent, by txid: to whom and when (pongs are matched by txid, path by source). */
  /** Pings in flight by txid: the peer, when, and the addresses it went to over UDP. */
  readonly #sentPings = new Map<string, { ep: Endpoint; at: number; to: PathCandidate[] }>();
  /** STUN requests in flight, by txid: when sent. */
  /** STUN requests in flight by txid: the server's `ip:port`, which must answer. */
  readonly #stunPending = new Map<string, string>();
  /** Addresses STUN servers saw us at: the last complete round's, plus new ones since. */
  #stunAddrs: string[] = [];
  /** Addresses answered in the current round (they replace the list when the next starts). */
  #stunRound: string[] = [];
  #lastStunAt: number | null = null;
  #endpoints: LocalEndpoint[] = [];
  #tick: TimerId | null = null;
  /** Never-answering peers still owed early pings (FIRST_CONTACT_PROBES), with how many. */
  readonly #firstContact = new Map<Endpoint, number>();
  /** Peers that had their early pings: each gets them once per conn. */
  readonly #firstContactDone = new WeakSet<Endpoint>();
  #firstContactTimer: TimerId | null = null;
  readonly #queue: MagicReceived[] = [];
  #waiter: ((r: MagicReceived | null) => void) | null = null;
  #regions: DerpRegions | null = null;
  #derpMap: DerpMap | null = null;
  #home = 0;
  #nodePublicKey: NodePublic | null = null;
  #closed = false;
  #stunReceiver: StunReceiver | null = null;
  /** When each region last sent us a frame (monotonic ms), for netcheck's home hysteresis. */
  readonly #derpHeardAt = new Map<number, number>();

  /** @param opts keys, logger and hooks */
  constructor(opts: MagicConnOptions) {
    this.#opts = opts;
    this.#disco = new DiscoSealer(opts.discoKey);
    this.#discoPings = new PingTracker({ clock: opts.clock });
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    const port = opts.listenPort ?? null;
    this.#udp = port === null ? null : UdpSocket.open(port, opts.log.child("udp"));
    if (this.#udp !== null) {
      const udp = this.#udp;
      opts.log.info(`UDP port ${udp.port}${udp.ipv6 ? " (IPv4 and IPv6)" : " (IPv4)"}`);
      void udp.run((d) => this.#onUdp(d));
      queueMicrotask(() => this.#updateEndpoints());
      this.#scheduleTick();
    }
  }

  /** Our UDP port, or 0 without a socket. */
  get listenPort(): number {
    return this.#udp?.port ?? 0;
  }

  /** Our endpoints as last reported. */
  get endpoints(): readonly LocalEndpoint[] {
    return this.#endpoints;
  }

  /**
   * The UDP socket as netcheck's STUN transport (netcheck then measures the mappings peers
   * see), or null without a socket. Answers come back through {@linkcode setStunReceiver}.
   */
  get stunTransport(): StunTransport | null {
    const udp = this.#udp;
    if (udp === null) return null;
    return {
      ipv6: udp.ipv6,
      send: (ip, port, packet) => {
        if (this.#closed || (ip.length === 16 && !udp.ipv6)) return false;
        udp.send(ip, port, packet);
        return true;
      },
    };
  }

  /**
   * Hands STUN datagrams that answer none of this conn's endpoint probes to `receiver`
   * (netcheck's client); those it refuses are counted as bad.
   * @param receiver returns true when the datagram was its answer; null to stop
   */
  setStunReceiver(receiver: StunReceiver | null): void {
    this.#stunReceiver = receiver;
  }

  /**
   * When a DERP region last sent us any frame (Go's `GetDERPRegionReceivedTime`).
   * @param regionId the region
   * @returns monotonic ms, or null when never
   */
  lastDerpActivity(regionId: number): number | null {
    return this.#derpHeardAt.get(regionId) ?? null;
  }

  /**
   * Moves the home DERP region (netcheck's preferred region). Ignored for a region the DERP
   * map does not have or before a map arrived.
   * @param regionId the region
   */
  setHomeRegion(regionId: number): void {
    const regions = this.#regions;
    if (this.#closed || regions === null || regionId === this.#home) return;
    if (this.#derpMap?.Regions[String(regionId)] === undefined) return;
    this.#home = regionId;
    regions.setHome(regionId);
    this.#opts.log.info(`home DERP region ${regionId} (netcheck)`);
    this.#opts.onHomeDerp?.(regionId);
  }

  /** Our disco public key. */
  get discoPublic(): DiscoPublic {
    return this.#disco.publicKey;
  }

  /** Our home DERP region, 0 before a DERP map arrived. */
  get homeRegion(): number {
    return this.#home;
  }

  /** The DERP map in use, or null. */
  get derpMap(): DerpMap | null {
    return this.#derpMap;
  }

  /**
   * Applies the DERP map and the peers. The first map starts the home region connection.
   * Endpoints of peers that stay are updated in place (WireGuard holds them).
   * @param derpMap the DERP map, or null to keep the current one
   * @param peers every peer, with its keys, home region and endpoints
   * @returns the endpoints of peers no longer there (for WireGuard to forget)
   */
  reconfig(derpMap: DerpMap | null, peers: readonly PathPeer[]): Endpoint[] {
    if (this.#closed) return [];
    // Only peers whose config object is new are touched: a one-peer change among 10,000
    // costs one peer's work, as tailscaled's PeersChanged handling.
    const last = this.#lastPeers;
    const next = new Set(peers);
    const changed = [];
    const changedKeys = new Set<string>();
    for (const p of peers) {
      if (last.has(p)) continue;
      changed.push({
        nodeKey: p.nodeKey,
        discoKey: p.discoKey,
        homeDerp: p.homeDerp,
        candidates: parseCandidates(p.endpoints),
      });
      changedKeys.add(bytesKey(p.nodeKey));
    }
    const gone: NodePublic[] = [];
    for (const p of last) {
      if (!next.has(p) && !changedKeys.has(bytesKey(p.nodeKey))) gone.push(p.nodeKey);
    }
    this.#lastPeers = next;
    const removed = this.#peers.update(changed, gone);
    this.#applyDerpMap(derpMap);
    return removed;
  }

  #applyDerpMap(derpMap: DerpMap | null): void {
    if (derpMap === null) return;
    this.#derpMap = derpMap;
    if (this.#lastStunAt === null) this.#sendStun();
    if (this.#regions === null) {
      this.#regions = new DerpRegions({
        privateKey: this.#opts.privateKey,
        derpMap,
        onMessage: (regionId, msg) => this.#onDerp(regionId, msg),
        dial: this.#opts.derpDial,
        connect: this.#opts.derpConnect,
        clock: this.#opts.clock,
        log: this.#opts.log.child("derp"),
      });
    } else {
      this.#regions.setDerpMap(derpMap);
    }
    const home = chooseHomeRegion(derpMap, this.#home);
    if (home !== this.#home) {
      this.#home = home;
      this.#regions.setHome(home);
      this.#opts.log.info(`home DERP region ${home}`);
      this.#opts.onHomeDerp?.(home);
    }
  }

  /**
   * The endpoint of a peer: the one in the peer map (the same object across reconfigs), or
   * a fresh one for a key that is not a peer (WireGuard then drops what comes from it).
   * @param nodeKey the peer's node key
   * @returns its endpoint
   */
  endpoint(nodeKey: NodePublic): Endpoint {
    return this.#peers.byNodeKey(nodeKey) ?? new Endpoint(nodeKey.slice() as NodePublic);
  }

  /**
   * Which path a packet to this peer takes now, for `ping` and status: `DERP(code)` text parts.
   * @param ep the peer
   * @returns region ID and code, or null when there is no path
   */
  pathTo(ep: Endpoint): { regionId: number; regionCode: string } | null {
    const regionId = this.#regionFor(ep);
    if (regionId === 0 || this.#derpMap === null) return null;
    const region = this.#derpMap.Regions[String(regionId)];
    return { regionId, regionCode: region?.RegionCode ?? String(regionId) };
  }

  /**
   * The direct path a packet to this peer takes now, or null (DERP).
   * @param ep the peer
   * @returns `ip:port` text, or null
   */
  directAddr(ep: Endpoint): string | null {
    return this.#trusted(ep) ? ep.bestAddr?.text ?? null : null;
  }

  /**
   * Sends a WireGuard datagram to a peer (Bind.send): over its best direct path while trusted,
   * else over DERP (and to an untrusted best path too), starting disco when due. Never throws;
   * failures are counted.
   * @param datagram bytes
   * @param to the peer: one of this conn's endpoints
   */
  send(datagram: Uint8Array, to: { readonly addrBytes: Uint8Array }): void {
    if (!(to instanceof Endpoint)) {
      this.stats.drops.noPath++; // not an endpoint of ours: a caller's bug, counted
      return;
    }
    if (this.#closed) return;
    const now = this.#clock.now();
    to.lastSendAt = now;
    const udp = this.#udp;
    const best = to.bestAddr;
    if (udp !== null && best !== null) {
      udp.send(best.ip, best.port, datagram);
      this.stats.sentUdp++;
      if (now < to.trustBestAddrUntil) return;
    }
    this.#sendDerp(to, datagram);
    if (udp !== null && to.discoKey !== null && this.#fullPingDue(to, now)) this.#pingAll(to);
    if (udp !== null && to.lastPongAt === null && !this.#firstContactDone.has(to)) {
      this.#firstContactDone.add(to);
      this.#firstContact.set(to, FIRST_CONTACT_PROBES);
      this.#armFirstContact();
    }
  }

  #armFirstContact(): void {
    if (this.#firstContactTimer !== null || this.#closed) return;
    this.#firstContactTimer = this.#clock.setTimeout(() => {
      this.#firstContactTimer = null;
      for (const [ep, left] of this.#firstContact) {
        const gone = this.#peers.byNodeKey(ep.nodeKey) !== ep;
        if (gone || ep.lastPongAt !== null || left <= 0) {
          this.#firstContact.delete(ep);
          continue;
        }
        this.#firstContact.set(ep, left - 1);
        this.#pingAll(ep);
      }
      if (this.#firstContact.size > 0) this.#armFirstContact();
    }, FIRST_CONTACT_PROBE_MS);
  }

  /**
   * Sends a disco ping to a peer over DERP and waits for its pong.
   * @param nodeKey the peer's node key
   * @param timeoutMs how long to wait
   * @returns the round trip and the region the pong came through, or why it failed
   */
  async pingDisco(nodeKey: NodePublic, timeoutMs: number): Promise<DiscoPingResult> {
    const ep = this.#peers.byNodeKey(nodeKey);
    if (ep === undefined) return { ok: false, err: "not a peer" };
    if (ep.discoKey === null) return { ok: false, err: "no disco key" };
    const path = this.pathTo(ep);
    const udp = this.#udp;
    if (path === null && (udp === null || ep.candidates.length === 0)) {
      return { ok: false, err: "no DERP path to the peer (no DERP map yet?)" };
    }
    // A CLI ping is activity, as tailscaled's pingCLI (noteTxActivityExtTriggerLocked): the
    // heartbeats start, and the first sends every candidate a ping and the peer a CallMeMaybe,
    // so a peer whose NAT only opens for its own packets (a hard NAT) punches towards us too.
    ep.lastSendAt = this.#clock.now();
    const txid = crypto.getRandomValues(new Uint8Array(12));
    const answer = this.#discoPings.wait(txid, timeoutMs);
    const packet = this.#disco.seal(ep.discoKey, {
      type: "ping",
      txid,
      nodeKey: this.#nodePublic(),
      padding: 0,
    });
    // As tailscaled's CLI ping: the trusted direct path alone, else DERP and every candidate
    // at once with one txid; the first pong tells the path.
    const direct = this.#trusted(ep) ? ep.bestAddr : null;
    if (udp !== null) {
      const to = direct !== null ? [direct] : [...ep.candidates];
      this.#sentPings.set(bytesKey(txid), { ep, at: this.#clock.now(), to });
    }
    if (udp !== null && direct !== null) {
      this.#sendPingUdp(udp, direct, packet);
    } else {
      if (path !== null) this.#sendDerp(ep, packet, path.regionId);
      if (udp !== null) { for (const c of ep.candidates) this.#sendPingUdp(udp, c, packet); }
    }
    try {
      const { value, rttMs } = await answer;
      ep.lastPongAt = this.#clock.now();
      return { ok: true, rttMs, path: value };
    } catch (err) {
      return { ok: false, err: err instanceof PingTimeoutError ? "timeout" : String(err) };
    }
  }

  /** The next datagram for WireGuard, or null once closed (Bind.receive). */
  receive(): Promise<MagicReceived | null> {
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** DERP region states, for status. */
  derpStatus(): RegionStatus[] {
    return this.#regions?.status() ?? [];
  }

  /**
   * DERP counters: across regions, and per connected region's client (frames, packets,
   * bytes, drops by reason).
   * @returns a JSON-ready snapshot
   */
  derpStats(): Record<string, unknown> {
    const regions = this.#regions;
    if (regions === null) return {};
    const clients: Record<string, unknown> = {};
    for (const r of regions.status()) {
      const c = regions.client(r.regionId);
      if (c !== null) clients[String(r.regionId)] = structuredClone(c.stats);
    }
    return { regions: structuredClone(regions.stats), clients };
  }

  /**
   * Waits until the home region is connected.
   * @param signal aborts the wait
   */
  async waitHomeConnected(signal?: AbortSignal): Promise<void> {
    if (this.#regions === null || this.#home === 0) throw new Error("no DERP map yet");
    await this.#regions.waitConnected(this.#home, signal);
  }

  /** Stops DERP and wakes a pending receive with null (Bind.close). Safe to call twice. */
  close(): void {
    void this.closeAsync();
  }

  /**
   * Like {@linkcode MagicConn.close}, resolving when DERP connections are closed and the UDP
   * port is free. Every call, the first included (often the WireGuard bind's close), shares
   * that one wait.
   */
  closeAsync(): Promise<void> {
    return this.#closing ??= this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#discoPings.close();
    if (this.#tick !== null) this.#clock.clearTimeout(this.#tick);
    this.#tick = null;
    if (this.#firstContactTimer !== null) this.#clock.clearTimeout(this.#firstContactTimer);
    this.#firstContactTimer = null;
    this.#firstContact.clear();
    const udpClosed = this.#udp?.close();
    this.#waiter?.(null);
    this.#waiter = null;
    this.#queue.length = 0;
    await this.#regions?.close();
    await udpClosed;
  }

  #regionFor(ep: Endpoint): number {
    const peerHome = ep.homeDerp;
    if (peerHome !== 0 && this.#derpMap?.Regions[String(peerHome)] !== undefined) return peerHome;
    return this.#home;
  }

  #nodePublic(): NodePublic {
    return this.#nodePublicKey ??= publicOf(this.#opts.privateKey);
  }

  #sendDerp(ep: Endpoint, datagram: Uint8Array, regionId?: number): boolean {
    if (this.#closed) return false;
    const region = regionId ?? this.#regionFor(ep);
    if (this.#regions === null || region === 0) {
      this.stats.drops.noPath++;
      return false;
    }
    if (!this.#regions.send(region, ep.nodeKey, datagram)) {
      this.stats.drops.derpSend++;
      return false;
    }
    this.stats.sentDerp++;
    return true;
  }

  #onDerp(regionId: number, msg: DerpMessage): void {
    this.#derpHeardAt.set(regionId, this.#clock.now());
    if (msg.type !== "recv-packet" || this.#closed) return;
    if (isDiscoPacket(msg.packet)) {
      this.stats.discoDerp++;
      this.#onDisco(msg.packet, msg.src, regionId);
      return;
    }
    this.stats.receivedDerp++;
    this.#enqueue({ data: msg.packet, endpoint: this.endpoint(msg.src) });
  }

  #enqueue(item: MagicReceived): void {
    if (this.#waiter !== null) {
      const w = this.#waiter;
      this.#waiter = null;
      w(item);
      return;
    }
    if (this.#queue.length >= RECEIVE_QUEUE_LIMIT) {
      this.stats.drops.queueFull++;
      return;
    }
    this.#queue.push(item);
  }

  #onDisco(packet: Uint8Array, srcNodeKey: NodePublic, regionId: number): void {
    const opened = this.#disco.open(packet);
    // An unknown disco key is dropped (counted), as Go does.
    const ep = opened === null ? undefined : this.#peers.byDiscoKey(opened.sender);
    if (opened === null || ep === undefined) {
      this.stats.drops.discoBad++;
      return;
    }
    const m = opened.message;
    if (m.type === "ping") {
      const pong = this.#disco.seal(opened.sender, {
        type: "pong",
        txid: m.txid,
        src: { ip: DERP_MAGIC_IP, port: regionId },
      });
      this.#sendDerp(this.endpoint(srcNodeKey), pong, regionId);
    } else if (m.type === "pong") {
      this.#discoPings.answer(m.txid, { via: "derp", regionId });
    } else if (m.type === "call-me-maybe" && this.#udp !== null) {
      // A peer sends one per heartbeat at most (Go: every few seconds); more is a flood.
      const now = this.#clock.now();
      if (ep.lastCallMeMaybeAt !== null && now - ep.lastCallMeMaybeAt < CALL_ME_MAYBE_MIN_MS) {
        this.stats.drops.callMeMaybeFlood++;
        return;
      }
      ep.lastCallMeMaybeAt = now;
      // The peer has sent to these from its side, so its firewall expects us: ping them now.
      for (const e of m.endpoints) {
        const c = candidateOf(e);
        if (c !== null) this.#addCandidate(ep, c);
      }
      if (ep.lastFullPingAt === null || now - ep.lastFullPingAt >= 1000) this.#pingAll(ep, false);
    }
  }

  #onUdp(d: UdpDatagram): void {
    if (this.#closed) return;
    if (isStun(d.data)) {
      this.#onStun(d);
      return;
    }
    if (isDiscoPacket(d.data)) {
      this.stats.discoUdp++;
      this.#onDiscoUdp(d);
      return;
    }
    const ep = this.#peers.byAddrPort(d.ip, d.port);
    if (ep === undefined) {
      this.stats.drops.udpUnknownSource++;
      return;
    }
    this.stats.receivedUdp++;
    this.#enqueue({ data: d.data, endpoint: ep });
  }

  #onDiscoUdp(d: UdpDatagram): void {
    const opened = this.#disco.open(d.data);
    const ep = opened === null ? undefined : this.#peers.byDiscoKey(opened.sender);
    if (opened === null || ep === undefined) {
      this.stats.drops.discoBad++;
      return;
    }
    const m = opened.message;
    const udp = this.#udp;
    if (udp === null) return;
    if (m.type === "ping") {
      // A sealed ping cannot be forged, but a captured one can be sent again: once is enough.
      if (!ep.notePingTxid(bytesKey(m.txid))) {
        this.stats.drops.discoReplayed++;
        return;
      }
      // Its source is a path to the peer: learn it, answer naming it.
      const c = this.#addCandidate(ep, candidate(d.ip, d.port));
      const pong = this.#disco.seal(opened.sender, {
        type: "pong",
        txid: m.txid,
        src: { ip: formatIpAddr(d.ip), port: d.port },
      });
      udp.send(d.ip, d.port, pong);
      // A peer that pings us wants a path; ping that address back unless we just did.
      const now = this.#clock.now();
      if (
        c !== null && !this.#trusted(ep) && (c.lastPingAt === null || now - c.lastPingAt >= 1000)
      ) {
        this.#pingOne(udp, ep, c);
      }
    } else if (m.type === "pong") {
      this.#onPongUdp(ep, d, m.txid);
    }
    // CallMeMaybe is only honoured over DERP, as Go does.
  }

  #onPongUdp(ep: Endpoint, d: UdpDatagram, txid: Uint8Array): void {
    const key = bytesKey(txid);
    const sent = this.#sentPings.get(key);
    if (sent === undefined || sent.ep !== ep) {
      this.stats.drops.pongUnexpected++; // late, replayed, or for another peer
      return;
    }
    // The path proved is the address we pinged (as Go's handlePongConnLocked), so a pong sent
    // again from elsewhere cannot steer traffic there. One txid to several addresses (our CLI
    // ping) is told apart by the source.
    const src = candidate(d.ip, d.port).text;
    const pinged = sent.to.find((t) => t.text === src) ??
      (sent.to.length === 1 ? sent.to[0] : null);
    if (pinged === null) {
      this.stats.drops.pongUnexpected++;
      return;
    }
    this.#sentPings.delete(key);
    const now = this.#clock.now();
    const latencyMs = now - sent.at;
    const c = this.#addCandidate(ep, pinged);
    if (c === null) return;
    c.lastPongAt = now;
    c.latencyMs = latencyMs;
    const wasSilent = ep.lastPongAt === null || now - ep.lastPongAt > SESSION_ACTIVE_TIMEOUT_MS;
    ep.lastPongAt = now;
    this.stats.pongsUdp++;
    const best = ep.bestAddr;
    const untrusted = now >= ep.trustBestAddrUntil;
    if (best === c) {
      ep.trustBestAddrUntil = now + TRUST_UDP_ADDR_MS;
    } else if (
      untrusted ||
      betterAddr(
        { ip: c.ip, port: c.port, latencyMs },
        best === null ? null : {
          ip: best.ip,
          port: best.port,
          latencyMs: best.latencyMs ?? 0,
        },
      )
    ) {
      ep.bestAddr = c;
      ep.trustBestAddrUntil = now + TRUST_UDP_ADDR_MS;
      this.stats.pathSwitches++;
      this.#opts.log.info(`${ep}: direct path ${c.text} (${latencyMs.toFixed(1)} ms)`);
    }
    this.#discoPings.answer(txid, { via: "udp", addr: c.text });
    if (wasSilent) this.#opts.onPeerAnswered?.(ep.nodeKey);
  }

  #onStun(d: UdpDatagram): void {
    const txid = stunTxid(d.data);
    const key = bytesKey(txid);
    const asked = this.#stunPending.get(key);
    if (asked === undefined) {
      // Not one of our endpoint probes: perhaps netcheck's, which shares this socket.
      if (this.#stunReceiver?.(d.data, d.ip, d.port) !== true) this.stats.drops.stunBad++;
      return;
    }
    if (asked !== candidate(d.ip, d.port).text) {
      this.stats.drops.stunBad++; // our txid, but not from the server we asked
      return;
    }
    let addr: string;
    try {
      const r = parseStunResponse(d.data, txid);
      addr = candidate(r.ip, r.port).text;
    } catch {
      this.stats.drops.stunBad++;
      return;
    }
    this.#stunPending.delete(key);
    this.stats.stunAnswers++;
    if (!this.#stunRound.includes(addr)) this.#stunRound.push(addr);
    if (!this.#stunAddrs.includes(addr)) {
      this.#stunAddrs = [...this.#stunAddrs, addr];
      this.#updateEndpoints();
    }
  }

  /** Sends a STUN binding request to the first STUN server of every region. */
  #sendStun(): void {
    const udp = this.#udp;
    const map = this.#derpMap;
    if (udp === null || map === null) return;
    this.#lastStunAt = this.#clock.now();
    this.#stunPending.clear();
    // A mapping no server reported in the last round is gone (a NAT rebinding, a new network).
    if (this.#stunRound.length > 0) {
      const changed = this.#stunRound.join() !== this.#stunAddrs.join();
      this.#stunAddrs = this.#stunRound;
      if (changed) this.#updateEndpoints();
    }
    this.#stunRound = [];
    for (const region of Object.values(map.Regions)) {
      for (const node of region.Nodes) {
        const port = node.STUNPort ?? 3478;
        if (port < 0) continue;
        const hosts = [node.IPv4, node.IPv6, node.HostName].filter((h) =>
          h !== undefined && h !== "" && h !== "none"
        );
        let sent = false;
        for (const h of hosts) {
          let ip: Uint8Array;
          try {
            ip = parseIpAddr(h as string);
          } catch {
            continue; // a DNS name: not resolved here yet
          }
          if (ip.length === 16 && !udp.ipv6) continue;
          const txid = crypto.getRandomValues(new Uint8Array(12));
          this.#stunPending.set(bytesKey(txid), candidate(ip, port).text);
          udp.send(ip, port, stunRequest(txid));
          this.stats.stunSent++;
          sent = true;
        }
        if (sent) break;
      }
    }
  }

  #updateEndpoints(): void {
    const udp = this.#udp;
    if (udp === null || this.#closed) return;
    const list: LocalEndpoint[] = [];
    const seen = new Set<string>();
    for (const addr of this.#stunAddrs) {
      if (!seen.has(addr)) list.push({ addr, type: ENDPOINT_STUN });
      seen.add(addr);
    }
    for (const addr of localEndpoints(udp.port, udp.ipv6)) {
      if (!seen.has(addr)) list.push({ addr, type: ENDPOINT_LOCAL });
      seen.add(addr);
    }
    if (JSON.stringify(list) === JSON.stringify(this.#endpoints)) return;
    this.#endpoints = list;
    this.#opts.log.info(`endpoints: ${list.map((e) => e.addr).join(" ") || "(none)"}`);
    this.#opts.onEndpoints?.(list.map((e) => ({ ...e })));
  }

  #scheduleTick(): void {
    if (this.#closed) return;
    this.#tick = this.#clock.setTimeout(() => {
      this.#tick = null;
      this.#onTick();
      this.#scheduleTick();
    }, HEARTBEAT_INTERVAL_MS);
  }

  /** Heartbeats for active peers, re-probing, STUN refresh, forgetting stale pings. */
  #onTick(): void {
    const udp = this.#udp;
    if (udp === null || this.#closed) return;
    const now = this.#clock.now();
    for (const [k, p] of this.#sentPings) {
      if (now - p.at > PING_TIMEOUT_MS) this.#sentPings.delete(k);
    }
    if (this.#lastStunAt === null || now - this.#lastStunAt >= STUN_INTERVAL_MS) {
      this.#sendStun();
    }
    for (const ep of this.#peers) {
      if (ep.discoKey === null) continue;
      if (ep.bestAddr !== null && now >= ep.trustBestAddrUntil + HEARTBEAT_INTERVAL_MS) {
        // Unconfirmed for a heartbeat past its trust: back to DERP until a pong.
        this.#opts.log.info(`${ep}: direct path ${ep.bestAddr.text} lost; DERP`);
        ep.bestAddr = null;
        this.stats.pathSwitches++;
      }
      const active = ep.lastSendAt !== null && now - ep.lastSendAt < SESSION_ACTIVE_TIMEOUT_MS;
      if (!active) continue;
      if (this.#fullPingDue(ep, now)) {
        this.#pingAll(ep);
      } else if (ep.bestAddr !== null) {
        this.#pingOne(udp, ep, ep.bestAddr);
      }
    }
  }

  /**
   * Adds a candidate path learnt from the peer (a ping's source, a call-me-maybe), unless it
   * already has {@linkcode MAX_CANDIDATES}: a flood cannot grow the peer map or our pings.
   * @returns the candidate (the known one when already listed), or null when refused
   */
  #addCandidate(ep: Endpoint, c: PathCandidate): PathCandidate | null {
    const known = ep.candidates.find((k) => k.text === c.text);
    if (known !== undefined) return known;
    if (ep.candidates.length >= MAX_CANDIDATES) {
      this.stats.drops.candidatesFull++;
      return null;
    }
    return this.#peers.addCandidate(ep, c);
  }

  #trusted(ep: Endpoint): boolean {
    return ep.bestAddr !== null && this.#clock.now() < ep.trustBestAddrUntil;
  }

  /** Whether every candidate should be pinged: no trusted path, or time to look for better. */
  #fullPingDue(ep: Endpoint, now: number): boolean {
    if (ep.lastFullPingAt !== null && now - ep.lastFullPingAt < DISCO_PING_INTERVAL_MS) {
      return false;
    }
    if (!this.#trusted(ep)) return true;
    return ep.lastFullPingAt === null || now - ep.lastFullPingAt >= UPGRADE_INTERVAL_MS;
  }

  /**
   * Pings every candidate over UDP and, unless told not to, sends the peer a CallMeMaybe with
   * our endpoints over DERP so that it pings us back (and opens its firewall to us).
   */
  #pingAll(ep: Endpoint, callMeMaybe = true): void {
    const udp = this.#udp;
    if (udp === null || ep.discoKey === null) return;
    ep.lastFullPingAt = this.#clock.now();
    for (const c of ep.candidates) this.#pingOne(udp, ep, c);
    if (callMeMaybe && this.#endpoints.length > 0) {
      const endpoints: DiscoEndpoint[] = [];
      for (const e of this.#endpoints) {
        const c = parseCandidates([e.addr])[0];
        if (c !== undefined) endpoints.push({ ip: formatIpAddr(c.ip), port: c.port });
      }
      this.#sendDerp(ep, this.#disco.seal(ep.discoKey, { type: "call-me-maybe", endpoints }));
    }
  }

  #pingOne(udp: UdpSocket, ep: Endpoint, c: PathCandidate): void {
    if (ep.discoKey === null) return;
    const txid = crypto.getRandomValues(new Uint8Array(12));
    this.#sentPings.set(bytesKey(txid), { ep, at: this.#clock.now(), to: [c] });
    const packet = this.#disco.seal(ep.discoKey, {
      type: "ping",
      txid,
      nodeKey: this.#nodePublic(),
      padding: 0,
    });
    this.#sendPingUdp(udp, c, packet);
  }

  #sendPingUdp(udp: UdpSocket, c: PathCandidate, packet: Uint8Array): void {
    c.lastPingAt = this.#clock.now();
    udp.send(c.ip, c.port, packet);
    this.stats.pingsSent++;
  }
}

function candidateOf(e: DiscoEndpoint): PathCandidate | null {
  try {
    const ip = parseIpAddr(e.ip);
    if (e.port <= 0 || e.port > 65535) return null;
    return candidate(unmap(ip), e.port);
  } catch {
    return null;
  }
}
/**
 * Picks the home region: keep the current one while the map still has it, otherwise the
 * lowest-numbered region that has nodes and is not marked Avoid. (netcheck will replace this
 * with the lowest-latency region.)
 * @param map the DERP map
 * @param current the current home, 0 for none
 * @returns a region ID, or 0 when the map has none usable
 */
export function chooseHomeRegion(map: DerpMap, current: number): number {
  const usable = Object.values(map.Regions)
    .filter((r) => r.Nodes.some((n) => !n.STUNOnly) && !r.Avoid)
    .map((r) => r.RegionID)
    .sort((a, b) => a - b);
  if (current !== 0 && usable.includes(current)) return current;
  return usable[0] ?? 0;
}
