/**
 * DERP connections by region, as magicsock keeps them (`wgengine/magicsock/derp.go`): the home
 * region is always connected and told `NotePreferred(true)`; other regions are opened when a
 * packet must go there and closed after {@linkcode NON_HOME_IDLE_MS} without sends. A dropped
 * connection is reopened after an exponential backoff with jitter (capped at
 * {@linkcode RECONNECT_MAX_MS}) while it is still wanted. Packets sent while a region is
 * (re)connecting wait in a short queue. Every timer belongs to the instance and is cleared by
 * {@linkcode DerpRegions.close}.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import type { DerpMap, DerpRegion } from "../wire/derp_map.ts";
import type { NodePrivate, NodePublic } from "../key/keys.ts";
import { DerpClient, type DerpClientOptions, type DerpMessage } from "./client.ts";
import { type Clock, SYSTEM_CLOCK, type TimerId } from "../base/clock.ts";
import {
  IDLE_CHECK_INTERVAL_MS,
  NON_HOME_IDLE_MS,
  PENDING_PACKETS_PER_REGION,
  RECONNECT_BASE_MS,
  RECONNECT_MAX_MS,
} from "./constants.ts";
import { type DialOptions, dialRegion } from "./dial.ts";
import { DerpError } from "./errors.ts";
import type { DerpStream } from "./stream.ts";

/** An opened stream to a region, before the DERP handshake. */
export interface RegionStream {
  stream: DerpStream;
  /** Bytes read past the HTTP upgrade response. */
  initialBytes?: Uint8Array;
  /** The server key, when known before the handshake (fast start). */
  serverKey?: NodePublic;
}

/** Opens a stream to a region; the default is {@linkcode dialRegion}. */
export type RegionConnector = (region: DerpRegion, signal: AbortSignal) => Promise<RegionStream>;

/** Options for {@linkcode DerpRegions}. */
export interface DerpRegionsOptions {
  /** Our node private key. */
  privateKey: NodePrivate;
  /** The DERP map from control. */
  derpMap: DerpMap;
  /** Home region ID; 0 or absent for none yet. */
  homeRegion?: number;
  /** Receives every message from every region (packets, peer gone, …). */
  onMessage?: (regionId: number, msg: DerpMessage) => void;
  /** Opens streams; default: {@linkcode dialRegion} with {@linkcode DerpRegionsOptions.dial}. */
  connect?: RegionConnector;
  /** Options for the default connector (`useHttp` is the TS_DEBUG_USE_DERP_HTTP knob). */
  dial?: Omit<DialOptions, "signal">;
  /** Options passed to each {@linkcode DerpClient}. */
  client?: Omit<DerpClientOptions, "privateKey" | "clock" | "log" | "signal" | "initialBytes">;
  /** Clock for backoff, idle checks and the clients' watchdogs. Default: system. */
  clock?: Clock;
  /** Uniform random in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /** Logger. */
  log?: Logger;
  /** Non-home idle limit. Default {@linkcode NON_HOME_IDLE_MS}. */
  idleTimeoutMs?: number;
  /** First backoff. Default {@linkcode RECONNECT_BASE_MS}. */
  reconnectBaseMs?: number;
  /** Backoff cap. Default {@linkcode RECONNECT_MAX_MS}. */
  reconnectMaxMs?: number;
}

/** A region connection's state. */
export type RegionState = "connecting" | "connected" | "backoff" | "idle";

/** What {@linkcode DerpRegions.status} reports per region. */
export interface RegionStatus {
  regionId: number;
  home: boolean;
  state: RegionState;
  /** Failed attempts since the last successful connect. */
  failures: number;
  /** When the next attempt starts (clock ms), in state "backoff". */
  retryAt: number | null;
  lastError: string | null;
  /** Successful connects so far. */
  connects: number;
}

/** Counters across regions. */
export interface DerpRegionsStats {
  connects: number;
  /** Connections lost while wanted (not our own close or idle close). */
  disconnects: number;
  idleCloses: number;
  drops: {
    /** Send to a region the map does not have. */
    noRegion: number;
    /** Send while the region's queue was full. */
    queueFull: number;
    /** Send whose write failed. */
    sendFailed: number;
  };
}

/**
 * The backoff before attempt `failures + 1`: base·2^(failures−1), capped, then scaled by a
 * jitter factor in [0.5, 1).
 * @param failures failed attempts so far (≥ 1)
 * @param baseMs first delay
 * @param maxMs cap
 * @param random uniform [0, 1)
 * @returns milliseconds to wait
 */
export function backoffDelay(
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(raw * (0.5 + random() / 2));
}

interface Pending {
  dst: NodePublic;
  packet: Uint8Array;
}

class RegionConn {
  state: RegionState = "idle";
  client: DerpClient | null = null;
  pending: Pending[] = [];
  lastWriteAt: number;
  failures = 0;
  connects = 0;
  retryAt: number | null = null;
  lastError: string | null = null;
  restartHintMs: number | null = null;
  loop: Promise<void> | null = null;
  abort = new AbortController();
  wakeTimer: TimerId | null = null;
  wake: (() => void) | null = null;
  stopped = false;
  /** Set when the idle check closed the connection on purpose. */
  idleClosed = false;
  /** Callers inside waitConnected(); they keep the region wanted. */
  waiters = 0;

  constructor(readonly regionId: number, now: number) {
    this.lastWriteAt = now;
  }
}

/**
 * Connections to DERP regions for one node.
 *
 * @example Construct, send, close (a real map comes from control)
 * ```ts
 * import { DerpRegions } from "./regions.ts";
 * import { generatePrivate } from "../key/keys.ts";
 * const regions = new DerpRegions({ privateKey: generatePrivate("node"), derpMap: { Regions: {} } });
 * const queued = regions.send(900, generatePrivate("node") as never, new Uint8Array(1));
 * if (queued) throw new Error("region 900 is not in the map");
 * await regions.close();
 * ```
 */
export class DerpRegions {
  /** Counters. */
  readonly stats: DerpRegionsStats = {
    connects: 0,
    disconnects: 0,
    idleCloses: 0,
    drops: { noRegion: 0, queueFull: 0, sendFailed: 0 },
  };

  readonly #opts: DerpRegionsOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #connect: RegionConnector;
  #derpMap: DerpMap;
  #home: number;
  #conns = new Map<number, RegionConn>();
  #idleTimer: TimerId | null = null;
  #closed = false;

  /** @param opts key, map, home region and hooks */
  constructor(opts: DerpRegionsOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#random = opts.random ?? Math.random;
    this.#derpMap = opts.derpMap;
    this.#home = opts.homeRegion ?? 0;
    this.#connect = opts.connect ?? (async (region, signal) => {
      const c = await dialRegion(region, {
        clock: this.#clock,
        ...opts.dial,
        log: opts.log,
        signal,
      });
      return {
        stream: c.stream,
        initialBytes: c.initialBytes,
        serverKey: c.serverKey ?? undefined,
      };
    });
    if (this.#home !== 0) this.#ensure(this.#home);
    this.#armIdleCheck();
  }

  /** The home region ID, 0 when none. */
  get homeRegion(): number {
    return this.#home;
  }

  /**
   * Replaces the DERP map; connections to regions it no longer has are closed.
   * @param map the new map
   */
  setDerpMap(map: DerpMap): void {
    this.#derpMap = map;
    for (const id of [...this.#conns.keys()]) {
      if (this.#region(id) === null) void this.#stop(id);
    }
    if (this.#home !== 0 && this.#region(this.#home) !== null) this.#ensure(this.#home);
  }

  /**
   * Makes `regionId` home: it is connected and kept, and told NotePreferred(true); the old home
   * is told NotePreferred(false) and becomes an ordinary region (closed when idle).
   * @param regionId the new home, 0 for none
   */
  setHome(regionId: number): void {
    if (this.#closed || regionId === this.#home) return;
    const old = this.#conns.get(this.#home);
    this.#home = regionId;
    if (old?.client) {
      old.lastWriteAt = this.#clock.now();
      old.client.notePreferred(false).catch(() => {});
    }
    if (regionId === 0) return;
    const rc = this.#ensure(regionId);
    rc?.client?.notePreferred(true).catch(() => {});
  }

  /**
   * Sends a packet to `dst` via region `regionId`, opening the connection if needed. Returns
   * false when the packet was dropped (unknown region, full queue, closed).
   * @param regionId the region the peer is reachable through
   * @param dst the peer's node key
   * @param packet the packet (WireGuard or disco), up to 64 KiB
   * @returns true when written or queued
   */
  send(regionId: number, dst: NodePublic, packet: Uint8Array): boolean {
    if (this.#closed) return false;
    const rc = this.#ensure(regionId);
    if (rc === null) {
      this.stats.drops.noRegion++;
      return false;
    }
    rc.lastWriteAt = this.#clock.now();
    if (
      rc.state === "connected" && rc.client !== null && !rc.idleClosed && rc.pending.length === 0
    ) {
      rc.client.send(dst, packet).catch(() => this.stats.drops.sendFailed++);
      return true;
    }
    if (rc.pending.length >= PENDING_PACKETS_PER_REGION) {
      this.stats.drops.queueFull++;
      return false;
    }
    rc.pending.push({ dst, packet: packet.slice() });
    return true;
  }

  /**
   * Resolves once `regionId` is connected (opening it if needed); rejects on close or abort.
   * @param regionId the region
   * @param signal aborts the wait
   */
  async waitConnected(regionId: number, signal?: AbortSignal): Promise<void> {
    const rc = this.#ensure(regionId);
    if (rc === null) throw new DerpError("derp-dial", `DERP region ${regionId} is not in the map`);
    rc.waiters++;
    try {
      while (!this.#closed && !rc.stopped) {
        signal?.throwIfAborted();
        if (rc.state === "connected") return;
        if (rc.loop === null) this.#ensure(regionId);
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      rc.waiters--;
    }
    throw new DerpError("derp-closed", "DERP regions closed");
  }

  /** @returns one entry per region with a connection or an attempt under way */
  status(): RegionStatus[] {
    return [...this.#conns.values()].map((rc) => ({
      regionId: rc.regionId,
      home: rc.regionId === this.#home,
      state: rc.state,
      failures: rc.failures,
      retryAt: rc.retryAt,
      lastError: rc.lastError,
      connects: rc.connects,
    }));
  }

  /** The connected client of a region, or null (for stats and tests). */
  client(regionId: number): DerpClient | null {
    const rc = this.#conns.get(regionId);
    return rc?.state === "connected" ? rc.client : null;
  }

  /** Closes every connection and clears every timer. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#idleTimer !== null) {
      this.#clock.clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    await Promise.all([...this.#conns.keys()].map((id) => this.#stop(id)));
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #region(id: number): DerpRegion | null {
    const r = this.#derpMap.Regions?.[String(id)];
    return r && Array.isArray(r.Nodes) && r.Nodes.length > 0 ? r : null;
  }

  #ensure(id: number): RegionConn | null {
    if (this.#closed || this.#region(id) === null) return null;
    let rc = this.#conns.get(id);
    if (rc === undefined) {
      rc = new RegionConn(id, this.#clock.now());
      this.#conns.set(id, rc);
    }
    if (rc.loop === null) {
      const conn = rc;
      conn.loop = this.#run(conn).finally(() => {
        conn.loop = null;
        if (this.#conns.get(conn.regionId) !== conn) return;
        // A send may have queued a packet while the loop was ending: start over for it.
        if (this.#wanted(conn)) this.#ensure(conn.regionId);
        else if (!conn.stopped) this.#conns.delete(conn.regionId);
      });
    }
    return rc;
  }

  #wanted(rc: RegionConn): boolean {
    if (this.#closed || rc.stopped || this.#region(rc.regionId) === null) return false;
    return rc.regionId === this.#home || rc.pending.length > 0 || rc.waiters > 0;
  }

  async #run(rc: RegionConn): Promise<void> {
    const log = this.#opts.log?.child(`derp-${rc.regionId}`);
    for (;;) {
      if (rc.stopped || this.#closed) return;
      const region = this.#region(rc.regionId);
      if (region === null) return;
      rc.state = "connecting";
      rc.retryAt = null;
      let client: DerpClient;
      try {
        const s = await this.#connect(region, rc.abort.signal);
        client = await DerpClient.connect(s.stream, {
          ...this.#opts.client,
          privateKey: this.#opts.privateKey,
          initialBytes: s.initialBytes,
          serverKey: s.serverKey,
          clock: this.#clock,
          log,
          signal: rc.abort.signal,
        });
      } catch (err) {
        if (rc.stopped || this.#closed) return;
        rc.failures++;
        rc.lastError = (err as Error).message;
        log?.info(`connect failed (attempt ${rc.failures}): ${rc.lastError}`);
        if (!this.#wanted(rc)) {
          rc.state = "idle";
          return;
        }
        if (err instanceof DerpError && !err.retryable && rc.failures > 3) {
          // A refused certificate will not fix itself quickly: keep trying, but slowly.
          await this.#sleep(rc, this.#opts.reconnectMaxMs ?? RECONNECT_MAX_MS);
        } else {
          await this.#sleep(rc, this.#delay(rc));
        }
        continue;
      }
      if (rc.stopped || this.#closed) {
        await client.close();
        return;
      }
      rc.client = client;
      rc.state = "connected";
      rc.failures = 0;
      rc.lastError = null;
      rc.connects++;
      this.stats.connects++;
      log?.debug(`connected (connect #${rc.connects})`);
      try {
        if (rc.regionId === this.#home) await client.notePreferred(true);
        while (rc.pending.length > 0) {
          const p = rc.pending.shift()!;
          await client.send(p.dst, p.packet);
        }
      } catch {
        // The read loop below sees the failure too.
      }
      await this.#readLoop(rc, client);
      rc.client = null;
      await client.close();
      if (rc.stopped || this.#closed) return;
      if (rc.idleClosed) {
        rc.idleClosed = false;
        rc.state = "idle";
        return;
      }
      this.stats.disconnects++;
      if (!this.#wanted(rc)) {
        rc.state = "idle";
        return;
      }
      rc.failures++;
      await this.#sleep(rc, this.#delay(rc));
    }
  }

  #delay(rc: RegionConn): number {
    if (rc.restartHintMs !== null) {
      const hint = rc.restartHintMs;
      rc.restartHintMs = null;
      return hint;
    }
    return backoffDelay(
      rc.failures,
      this.#opts.reconnectBaseMs ?? RECONNECT_BASE_MS,
      this.#opts.reconnectMaxMs ?? RECONNECT_MAX_MS,
      this.#random,
    );
  }

  async #readLoop(rc: RegionConn, client: DerpClient): Promise<void> {
    for (;;) {
      let m: DerpMessage;
      try {
        m = await client.recv();
      } catch (err) {
        if (!rc.stopped && !rc.idleClosed) rc.lastError = (err as Error).message;
        return;
      }
      if (m.type === "restarting") rc.restartHintMs = m.reconnectInMs;
      try {
        this.#opts.onMessage?.(rc.regionId, m);
      } catch (err) {
        this.#opts.log?.warn(`onMessage threw: ${(err as Error).message}`);
      }
    }
  }

  #sleep(rc: RegionConn, ms: number): Promise<void> {
    rc.state = "backoff";
    rc.retryAt = this.#clock.now() + ms;
    return new Promise((resolve) => {
      rc.wake = () => {
        if (rc.wakeTimer !== null) this.#clock.clearTimeout(rc.wakeTimer);
        rc.wakeTimer = null;
        rc.wake = null;
        resolve();
      };
      rc.wakeTimer = this.#clock.setTimeout(() => rc.wake?.(), ms);
    });
  }

  async #stop(id: number): Promise<void> {
    const rc = this.#conns.get(id);
    if (rc === undefined) return;
    rc.stopped = true;
    rc.pending = [];
    rc.abort.abort();
    rc.wake?.();
    await rc.client?.close();
    await rc.loop;
    this.#conns.delete(id);
  }

  #armIdleCheck(): void {
    if (this.#closed) return;
    this.#idleTimer = this.#clock.setTimeout(() => {
      this.#idleTimer = null;
      this.#closeIdle();
      this.#armIdleCheck();
    }, IDLE_CHECK_INTERVAL_MS);
  }

  #closeIdle(): void {
    const now = this.#clock.now();
    const limit = this.#opts.idleTimeoutMs ?? NON_HOME_IDLE_MS;
    for (const rc of this.#conns.values()) {
      if (rc.regionId === this.#home || rc.state !== "connected" || rc.client === null) continue;
      if (now - rc.lastWriteAt < limit) continue;
      this.#opts.log?.debug(`closing idle region ${rc.regionId}`);
      this.stats.idleCloses++;
      rc.idleClosed = true;
      void rc.client.close();
    }
  }
}
