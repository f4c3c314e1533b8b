/**
 * The path layer (the seed of magicsock): WireGuard's {@linkcode Bind} for a node. WireGuard
 * sends to a {@linkcode PeerEndpoint}; this layer picks the path. Today that is the DERP region
 * the peer is homed in (our own home region when control did not say); direct UDP paths found
 * by disco come later behind the same interface, so nothing above knows which path a packet
 * takes.
 *
 * Packets from DERP are demultiplexed: disco packets go to `onDisco`, everything else to
 * WireGuard through {@linkcode MagicConn.receive}.
 * @module
 */
import type { Clock } from "../base/clock.ts";
import type { Logger } from "../base/logger.ts";
import type { DerpMap } from "../control/types.ts";
import type { DerpMessage } from "../derp/client.ts";
import { DerpRegions, type RegionConnector, type RegionStatus } from "../derp/regions.ts";
import type { DialOptions } from "../derp/dial.ts";
import { type NodePrivate, type NodePublic, toHex } from "../key/keys.ts";
import { isDiscoPacket } from "../wire/disco_messages.ts";
import { RECEIVE_QUEUE_LIMIT } from "./constants.ts";
import { PeerEndpoint } from "./peer_endpoint.ts";

/** One received datagram for WireGuard (the shape of wg's `BindReceived`). */
export interface MagicReceived {
  /** The datagram. */
  readonly data: Uint8Array;
  /** The peer it came from. */
  readonly endpoint: PeerEndpoint;
}

/** A disco packet that arrived over DERP, still sealed. */
export interface DerpDisco {
  /** The sealed disco packet. */
  packet: Uint8Array;
  /** The DERP source: the sender's node key. */
  srcNodeKey: NodePublic;
  /** The region it came through. */
  regionId: number;
}

/** A peer as the path layer needs it. */
export interface PathPeer {
  /** The peer's node key. */
  nodeKey: NodePublic;
  /** Home DERP region, 0 when unknown. */
  homeDerp: number;
}

/** Options for {@linkcode MagicConn}. */
export interface MagicConnOptions {
  /** Our node private key: the DERP identity. */
  privateKey: NodePrivate;
  /** Logger. */
  log: Logger;
  /** Receives disco packets that came over DERP. */
  onDisco?: (d: DerpDisco) => void;
  /** Called when our home DERP region changes (to tell control in Hostinfo.NetInfo). */
  onHomeDerp?: (regionId: number) => void;
  /** DERP dial options (`useHttp` is the TS_DEBUG_USE_DERP_HTTP knob). */
  derpDial?: Omit<DialOptions, "signal">;
  /** Opens region streams; tests replace it. */
  derpConnect?: RegionConnector;
  /** Time source for DERP; default the system clock. */
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
  readonly #endpoints = new Map<string, PeerEndpoint>();
  readonly #peerHome = new Map<string, number>();
  readonly #queue: MagicReceived[] = [];
  #waiter: ((r: MagicReceived | null) => void) | null = null;
  #regions: DerpRegions | null = null;
  #derpMap: DerpMap | null = null;
  #home = 0;
  #closed = false;

  /** @param opts keys, logger and hooks */
  constructor(opts: MagicConnOptions) {
    this.#opts = opts;
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
   * Applies the netmap's DERP map and peers. The first map starts the home region connection.
   * @param derpMap the DERP map, or null to keep the current one
   * @param peers every peer, with its home region
   */
  setNetmap(derpMap: DerpMap | null, peers: readonly PathPeer[]): void {
    if (this.#closed) return;
    this.#peerHome.clear();
    for (const p of peers) this.#peerHome.set(this.endpoint(p.nodeKey).id, p.homeDerp);
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
   * The endpoint object for a peer (one per node key, reused).
   * @param nodeKey the peer's node key
   * @returns its endpoint
   */
  endpoint(nodeKey: NodePublic): PeerEndpoint {
    return this.#endpointForKey(nodeKey);
  }

  /**
   * Which path a packet to this peer takes now, for `ping` and status: `DERP(code)` text parts.
   * @param ep the peer
   * @returns region ID and code, or null when there is no path
   */
  pathTo(ep: PeerEndpoint): { regionId: number; regionCode: string } | null {
    const regionId = this.#regionFor(ep);
    if (regionId === 0 || this.#derpMap === null) return null;
    const region = this.#derpMap.Regions[String(regionId)];
    return { regionId, regionCode: region?.RegionCode ?? String(regionId) };
  }

  /**
   * Sends a WireGuard datagram to a peer (Bind.send). Never throws; failures are counted.
   * @param datagram bytes
   * @param to the peer
   */
  send(datagram: Uint8Array, to: { readonly addrBytes: Uint8Array }): void {
    const ep = to instanceof PeerEndpoint ? to : this.#endpointForKey(to.addrBytes as NodePublic);
    this.#sendDerp(ep, datagram);
  }

  /**
   * Sends a sealed disco packet to a peer over DERP.
   * @param nodeKey the peer's node key
   * @param packet the sealed disco packet
   * @param regionId the region to use; default the peer's home (or ours)
   * @returns whether it was handed to DERP
   */
  sendDiscoDerp(nodeKey: NodePublic, packet: Uint8Array, regionId?: number): boolean {
    return this.#sendDerp(this.#endpointForKey(nodeKey), packet, regionId);
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
    this.#waiter?.(null);
    this.#waiter = null;
    this.#queue.length = 0;
    await this.#regions?.close();
  }

  #endpointForKey(key: NodePublic): PeerEndpoint {
    const id = toHex(key);
    let ep = this.#endpoints.get(id);
    if (ep === undefined) {
      ep = new PeerEndpoint(key.slice() as NodePublic);
      this.#endpoints.set(id, ep);
    }
    return ep;
  }

  #regionFor(ep: PeerEndpoint): number {
    const peerHome = this.#peerHome.get(ep.id) ?? 0;
    if (peerHome !== 0 && this.#derpMap?.Regions[String(peerHome)] !== undefined) return peerHome;
    return this.#home;
  }

  #sendDerp(ep: PeerEndpoint, datagram: Uint8Array, regionId?: number): boolean {
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
      this.#opts.onDisco?.({ packet: msg.packet, srcNodeKey: msg.src, regionId });
      return;
    }
    this.stats.receivedDerp++;
    const item: MagicReceived = { data: msg.packet, endpoint: this.#endpointForKey(msg.src) };
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
