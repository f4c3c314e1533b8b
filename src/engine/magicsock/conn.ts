/**
 * The path layer (the seed of magicsock): WireGuard's {@linkcode Bind} for a node, and the
 * owner of disco. WireGuard sends to an {@linkcode Endpoint}; this layer picks the path. Today
 * that is the DERP region the peer is homed in (our own home region when control did not
 * say); direct UDP paths found by disco come later behind the same interface (the endpoint
 * already holds the candidates), so nothing above knows which path a packet takes.
 *
 * Peers live in a {@linkcode PeerMap} (by node key, disco key and `ip:port`). Packets from DERP
 * are demultiplexed: disco packets are opened with our disco key here (pings answered with a
 * pong naming the DERP path, pongs matched to our {@linkcode MagicConn.pingDisco}), everything
 * else goes to WireGuard through {@linkcode MagicConn.receive}.
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../base/clock.ts";
import type { Logger } from "../base/logger.ts";
import type { DerpMap } from "../control/types.ts";
import type { DerpMessage } from "../derp/client.ts";
import { DerpRegions, type RegionConnector, type RegionStatus } from "../derp/regions.ts";
import type { DialOptions } from "../derp/dial.ts";
import { PingTimeoutError, PingTracker } from "../disco/ping_tracker.ts";
import { DiscoSealer } from "../disco/seal.ts";
import {
  type DiscoPrivate,
  type DiscoPublic,
  type NodePrivate,
  type NodePublic,
  publicOf,
} from "../key/keys.ts";
import { isDiscoPacket } from "../wire/disco_messages.ts";
import { DERP_MAGIC_IP, RECEIVE_QUEUE_LIMIT } from "./constants.ts";
import { Endpoint, parseCandidates } from "./endpoint.ts";
import { PeerMap } from "./peer_map.ts";

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

/** The outcome of {@linkcode MagicConn.pingDisco}. */
export type DiscoPingResult =
  | { ok: true; rttMs: number; regionId: number }
  | { ok: false; err: string };

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
  /** Time source for DERP and disco pings; default the system clock. */
  clock?: Clock;
}

/** Counters of the path layer. */
export interface MagicConnStats {
  /** Datagrams handed to DERP. */
  sentDerp: number;
  /** Datagrams received over DERP for WireGuard. */
  receivedDerp: number;
  /** Disco packets received over DERP. */
  discoDerp: number;
  drops: {
    /** No DERP map or no region to send through. */
    noPath: number;
    /** The receive queue was full. */
    queueFull: number;
    /** DERP refused the send (not connected, queue full). */
    derpSend: number;
  };
}

/** The path layer of one node. */
export class MagicConn {
  readonly stats: MagicConnStats = {
    sentDerp: 0,
    receivedDerp: 0,
    discoDerp: 0,
    drops: { noPath: 0, queueFull: 0, derpSend: 0 },
  };
  readonly #opts: MagicConnOptions;
  readonly #peers = new PeerMap();
  readonly #disco: DiscoSealer;
  readonly #discoPings: PingTracker<{ regionId: number }>;
  readonly #queue: MagicReceived[] = [];
  #waiter: ((r: MagicReceived | null) => void) | null = null;
  #regions: DerpRegions | null = null;
  #derpMap: DerpMap | null = null;
  #home = 0;
  #nodePublicKey: NodePublic | null = null;
  #closed = false;

  /** @param opts keys, logger and hooks */
  constructor(opts: MagicConnOptions) {
    this.#opts = opts;
    this.#disco = new DiscoSealer(opts.discoKey);
    this.#discoPings = new PingTracker({ clock: opts.clock });
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
    const removed = this.#peers.replace(peers.map((p) => ({
      nodeKey: p.nodeKey,
      discoKey: p.discoKey,
      homeDerp: p.homeDerp,
      candidates: parseCandidates(p.endpoints),
    })));
    this.#applyDerpMap(derpMap);
    return removed;
  }

  #applyDerpMap(derpMap: DerpMap | null): void {
    if (derpMap === null) return;
    this.#derpMap = derpMap;
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
   * Sends a WireGuard datagram to a peer (Bind.send). Never throws; failures are counted.
   * @param datagram bytes
   * @param to the peer: one of this conn's endpoints
   */
  send(datagram: Uint8Array, to: { readonly addrBytes: Uint8Array }): void {
    if (!(to instanceof Endpoint)) {
      this.stats.drops.noPath++; // not an endpoint of ours: a caller's bug, counted
      return;
    }
    this.#sendDerp(to, datagram);
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
    if (path === null) return { ok: false, err: "no DERP path to the peer (no DERP map yet?)" };
    const txid = crypto.getRandomValues(new Uint8Array(12));
    const answer = this.#discoPings.wait(txid, timeoutMs);
    const packet = this.#disco.seal(ep.discoKey, {
      type: "ping",
      txid,
      nodeKey: this.#nodePublic(),
      padding: 0,
    });
    this.#sendDerp(ep, packet, path.regionId);
    try {
      const { value, rttMs } = await answer;
      ep.lastPongAt = (this.#opts.clock ?? SYSTEM_CLOCK).now();
      return { ok: true, rttMs, regionId: value.regionId };
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

  /** Like {@linkcode MagicConn.close}, resolving when DERP connections are closed. */
  async closeAsync(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#discoPings.close();
    this.#waiter?.(null);
    this.#waiter = null;
    this.#queue.length = 0;
    await this.#regions?.close();
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
    if (msg.type !== "recv-packet" || this.#closed) return;
    if (isDiscoPacket(msg.packet)) {
      this.stats.discoDerp++;
      this.#onDisco(msg.packet, msg.src, regionId);
      return;
    }
    this.stats.receivedDerp++;
    const item: MagicReceived = { data: msg.packet, endpoint: this.endpoint(msg.src) };
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
    if (opened === null) return;
    // An unknown disco key is dropped silently, as Go does.
    if (this.#peers.byDiscoKey(opened.sender) === undefined) return;
    const m = opened.message;
    if (m.type === "ping") {
      const pong = this.#disco.seal(opened.sender, {
        type: "pong",
        txid: m.txid,
        src: { ip: DERP_MAGIC_IP, port: regionId },
      });
      this.#sendDerp(this.endpoint(srcNodeKey), pong, regionId);
    } else if (m.type === "pong") {
      this.#discoPings.answer(m.txid, { regionId });
    }
    // CallMeMaybe: no direct paths yet, so nothing to ping.
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
