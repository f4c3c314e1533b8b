/**
 * The WireGuard device: our static key, the peers configured by public key and allowed IPs,
 * the index table, the cookie checker and the drop counters. Outbound IP packets come in
 * through {@linkcode Device.send}; datagrams from the {@linkcode Bind} go through
 * {@linkcode Device.receiveDatagram}; decrypted IP packets go up through `onPacket`.
 *
 * @example Two devices over a bind (see `device_test.ts` for the memory bind)
 * ```ts ignore
 * const a = new Device({ privateKey: keyA, bind: bindA, onPacket: (p) => got.push(p) });
 * a.setPeer({ publicKey: pubB, allowedIps: ["10.0.0.2/32"], endpoint: bindA.peerEndpoint });
 * a.start();
 * a.sendPacket(ipv4PacketTo10_0_0_2);
 * ```
 * @module
 */
import { Logger } from "../base/logger.ts";
import { toHex } from "../key/keys.ts";
import { x25519Public } from "../crypto/x25519.ts";
import { WasmAead } from "../crypto/aead_wasm.ts";
import { ByteSlab } from "../base/slab.ts";
import { AllowedIps, parsePrefix } from "./allowed_ips.ts";
import type { Bind, BindEndpoint } from "./bind.ts";
import { type Clock, SYSTEM_CLOCK } from "../base/clock.ts";
import {
  DEFAULT_MTU,
  MAX_PEERS,
  UNDER_LOAD_AFTER_TIME_MS,
  UNDER_LOAD_HANDSHAKES_PER_SECOND,
  WG_TIMINGS,
  type WgTimings,
} from "./constants.ts";
import { CookieChecker } from "./cookie.ts";
import type { LocalStatic } from "./handshake.ts";
import { IndexTable } from "./index_table.ts";
import type { Keypair } from "./keypair.ts";
import { TAG_LEN, TRANSPORT_HEADER_LEN } from "./messages.ts";
import { Peer, zeroAndFlushAll } from "./peer.ts";
import { RateLimiter } from "./ratelimiter.ts";
import { receiveDatagram } from "./receive.ts";
import {
  routeAndStage,
  sendHandshakeInitiation,
  sendKeepalive,
  sendStagedPackets,
} from "./send.ts";
import { type DropCounters, newDropCounters, type PeerStats } from "./stats.ts";
import { PeerTimers } from "./timers.ts";
import type { WgCore } from "./_core.ts";

/** Options for {@linkcode Device}. */
export interface DeviceOptions {
  /** Our static (node) private key, 32 bytes. */
  privateKey: Uint8Array;
  /** Where datagrams go and come from. */
  bind: Bind;
  /** Receives each decrypted IP packet that passed the allowed-IPs check. */
  onPacket?: (packet: Uint8Array, peerPublicKey: Uint8Array) => void;
  /** Time source; default the system clock. */
  clock?: Clock;
  /** Random bytes; default `crypto.getRandomValues`. */
  random?: (out: Uint8Array) => void;
  /** Logger (handshake events at debug); default a silent-at-info stderr logger. */
  log?: Logger;
  /** Tunnel MTU for padding; default 1280. */
  mtu?: number;
  /**
   * Test knob: replace some protocol timings (for example a short `rekeyAfterTimeMs`).
   * Production leaves this unset.
   */
  timings?: Partial<WgTimings>;
  /**
   * Test knob: decides whether the device is under load (MAC2 required). Default: more than
   * {@linkcode UNDER_LOAD_HANDSHAKES_PER_SECOND} handshake messages in a second.
   */
  underLoad?: (now: number) => boolean;
  /** Whether authenticated packets move a peer's endpoint to their source. Default true. */
  roaming?: boolean;
  /**
   * Called when an initiation authenticates a static key that is not configured (Tailscale
   * configures peers lazily and finds them by this "crypto routing"). Return the peer's
   * configuration to add it and answer the initiation, or null to drop it.
   */
  onUnknownPeer?: (publicKey: Uint8Array) => PeerConfig | null;
}

/** A peer's configuration; fields left out keep their current value on update. */
export interface PeerConfig {
  /** The peer's static public key. */
  publicKey: Uint8Array;
  /** Prefixes the peer may use as source and receives for (replaces the old set). */
  allowedIps?: readonly string[];
  /** Where to send, or null for none yet. */
  endpoint?: BindEndpoint | null;
  /** Persistent keepalive interval in seconds, 0 for off. */
  persistentKeepaliveSec?: number;
}

/** What {@linkcode Device.peer} reports. */
export interface PeerStatus {
  /** The peer's public key. */
  readonly publicKey: Uint8Array;
  /** Its endpoint. */
  readonly endpoint: BindEndpoint | null;
  /** Its allowed IPs in text form. */
  readonly allowedIps: readonly string[];
  /** A copy of its counters. */
  readonly stats: PeerStats;
  /** Whether a current keypair exists. */
  readonly hasSession: boolean;
  /** Packets waiting for a session. */
  readonly staged: number;
}

function defaultRandom(out: Uint8Array): void {
  crypto.getRandomValues(out);
}

/** A WireGuard device. */
export class Device {
  readonly #core: WgCore;
  readonly #peers = new Map<string, Peer>();
  readonly #onPacket: (packet: Uint8Array, peerPublicKey: Uint8Array) => void;
  readonly #underLoadFn: ((now: number) => boolean) | undefined;
  readonly #onUnknownPeer: ((publicKey: Uint8Array) => PeerConfig | null) | undefined;
  #loadWindowStart = -Infinity;
  #loadCount = 0;
  #underLoadUntil = -Infinity;
  #closed = false;
  #loop: Promise<void> | null = null;

  /** @param opts keys, bind and knobs */
  constructor(opts: DeviceOptions) {
    const privateKey = opts.privateKey.slice();
    const local: LocalStatic = { privateKey, publicKey: x25519Public(privateKey) };
    const random = opts.random ?? defaultRandom;
    this.#onPacket = opts.onPacket ?? (() => {});
    this.#underLoadFn = opts.underLoad;
    this.#onUnknownPeer = opts.onUnknownPeer;
    const peers = this.#peers;
    const slab = new ByteSlab();
    this.#core = {
      local,
      clock: opts.clock ?? SYSTEM_CLOCK,
      bind: opts.bind,
      timings: Object.freeze({ ...WG_TIMINGS, ...opts.timings }),
      mtu: opts.mtu ?? DEFAULT_MTU,
      random,
      indexTable: new IndexTable<Peer, Keypair>(random),
      allowedIps: new AllowedIps<Peer>(),
      cookieChecker: new CookieChecker(local.publicKey, random),
      rateLimiter: new RateLimiter(),
      drops: newDropCounters(),
      nonce: new Uint8Array(12),
      aead: new WasmAead(),
      takeBytes: (len) => slab.take(len),
      roaming: opts.roaming ?? true,
      log: opts.log ?? new Logger().child("wg"),
      peerByKey: (k) => peers.get(toHex(k)) ?? this.#lazyPeer(k),
      underLoad: (now) => this.#underLoad(now),
      deliver: (packet, peer) => {
        try {
          this.#onPacket(packet, peer.publicKey);
        } catch (err) {
          // A throwing handler must not end the receive loop; say so once, then count.
          if (this.#core.drops.handlerError++ === 0) {
            this.#core.log.warn("onPacket handler threw; further errors only counted:", err);
          }
        }
      },
    };
  }

  /** Our static public key. */
  get publicKey(): Uint8Array {
    return this.#core.local.publicKey;
  }

  /** Drop counters by reason (live object; read, do not write). */
  get drops(): Readonly<DropCounters> {
    return this.#core.drops;
  }

  /** The timings in force. */
  get timings(): WgTimings {
    return this.#core.timings;
  }

  #lazyPeer(publicKey: Uint8Array): Peer | null {
    const cfg = this.#onUnknownPeer?.(publicKey.slice()) ?? null;
    if (cfg === null || toHex(cfg.publicKey) !== toHex(publicKey)) return null;
    try {
      this.setPeer(cfg);
    } catch {
      return null; // bad configuration from the hook: drop the initiation
    }
    return this.#peers.get(toHex(publicKey)) ?? null;
  }

  #underLoad(now: number): boolean {
    if (now - this.#loadWindowStart >= 1000) {
      this.#loadWindowStart = now;
      this.#loadCount = 0;
    }
    if (++this.#loadCount > UNDER_LOAD_HANDSHAKES_PER_SECOND) {
      this.#underLoadUntil = now + UNDER_LOAD_AFTER_TIME_MS;
    }
    if (this.#underLoadFn) return this.#underLoadFn(now);
    return now < this.#underLoadUntil;
  }

  /**
   * Adds a peer, or updates one in place: its keypairs, handshake and timers survive, so a
   * live session is not dropped. Throws `RangeError` for a bad prefix or too many peers.
   * @param cfg the peer's configuration
   */
  setPeer(cfg: PeerConfig): void {
    if (this.#closed) throw new RangeError("Cannot set peer: device is closed");
    const prefixes = cfg.allowedIps?.map((p) => {
      try {
        return parsePrefix(p);
      } catch (err) {
        throw new RangeError(`Cannot set peer: bad allowed IP ${p}`, { cause: err });
      }
    });
    const hex = toHex(cfg.publicKey);
    let peer = this.#peers.get(hex);
    if (peer === undefined) {
      if (this.#peers.size >= MAX_PEERS) throw new RangeError("Cannot set peer: too many peers");
      peer = this.#newPeer(cfg.publicKey, hex);
    }
    if (cfg.endpoint !== undefined) peer.endpoint = cfg.endpoint;
    if (prefixes !== undefined) {
      this.#core.allowedIps.removePeer(peer);
      for (const p of prefixes) this.#core.allowedIps.insert(p, peer);
    }
    const before = peer.persistentKeepaliveMs;
    // Off and still off touches nothing, so a peer never talked to gets no timers made.
    if (
      cfg.persistentKeepaliveSec !== undefined &&
      (before !== 0 || cfg.persistentKeepaliveSec !== 0)
    ) {
      peer.timers.persistentKeepaliveMs = cfg.persistentKeepaliveSec * 1000;
      // As wireguard-go's UAPI: turning it on sends a keepalive right away.
      if (before === 0 && cfg.persistentKeepaliveSec > 0 && peer.endpoint !== null) {
        sendKeepalive(this.#core, peer);
      }
    }
  }

  /** Makes a peer's timers at its first use: one function for every peer, not one each. */
  readonly #makeTimers = (p: Peer): PeerTimers => {
    const core = this.#core;
    return new PeerTimers(core.clock, core.timings, core.random, {
      sendInitiation: (isRetry) => sendHandshakeInitiation(core, p, isRetry),
      sendKeepalive: () => sendKeepalive(core, p),
      flushStaged: () => {
        p.staged = [];
      },
      zeroAll: () => zeroAndFlushAll(core.indexTable, p),
    });
  };

  #newPeer(publicKey: Uint8Array, hex: string): Peer {
    const core = this.#core;
    const peer = new Peer(core.local, publicKey, hex, this.#makeTimers);
    this.#peers.set(hex, peer);
    return peer;
  }

  /**
   * Removes a peer: stops its timers and erases its keys.
   * @param publicKey the peer's key
   * @returns whether it existed
   */
  removePeer(publicKey: Uint8Array): boolean {
    const hex = toHex(publicKey);
    const peer = this.#peers.get(hex);
    if (peer === undefined) return false;
    peer.stopTimers();
    zeroAndFlushAll(this.#core.indexTable, peer);
    this.#core.allowedIps.removePeer(peer);
    this.#peers.delete(hex);
    return true;
  }

  /**
   * A peer's status and counters.
   * @param publicKey the peer's key
   * @returns its status, or null if not configured
   */
  peer(publicKey: Uint8Array): PeerStatus | null {
    const peer = this.#peers.get(toHex(publicKey));
    return peer === undefined ? null : this.#status(peer);
  }

  /** @returns the status of every peer */
  peers(): PeerStatus[] {
    return [...this.#peers.values()].map((p) => this.#status(p));
  }

  #status(peer: Peer): PeerStatus {
    return {
      publicKey: peer.publicKey,
      endpoint: peer.endpoint,
      allowedIps: this.#core.allowedIps.prefixesOf(peer),
      stats: { ...peer.stats },
      hasSession: peer.keypairs.current !== null && !peer.keypairs.current.zeroed,
      staged: peer.staged.length,
    };
  }

  /**
   * Sends the IP packet at `buf[off .. off+len]` to the peer whose allowed IPs hold its
   * destination. `buf` must have 16 free bytes before `off`; with 16 + padding bytes free
   * after the packet it is sealed in place, else copied once. The device owns `buf` after
   * the call.
   * @param buf buffer holding the packet
   * @param off where the packet starts (at least 16)
   * @param len packet length
   * @returns false when dropped (no route, malformed, closed); true when sent or staged
   */
  send(buf: Uint8Array, off: number, len: number): boolean {
    if (this.#closed) return false;
    const peer = routeAndStage(this.#core, buf, off, len);
    if (peer === null) return false;
    sendStagedPackets(this.#core, peer);
    return true;
  }

  /**
   * Copies `packet` into a buffer with head and tail room, then {@linkcode Device.send}s it.
   * @param packet an IPv4 or IPv6 packet
   * @returns as {@linkcode Device.send}
   */
  sendPacket(packet: Uint8Array): boolean {
    const buf = new Uint8Array(TRANSPORT_HEADER_LEN + packet.length + 16 + TAG_LEN);
    buf.set(packet, TRANSPORT_HEADER_LEN);
    return this.send(buf, TRANSPORT_HEADER_LEN, packet.length);
  }

  /**
   * Starts a handshake with a peer now (normally the first outbound packet does this).
   * @param publicKey the peer's key
   * @returns false when the peer is unknown
   */
  initiateHandshake(publicKey: Uint8Array): boolean {
    const peer = this.#peers.get(toHex(publicKey));
    if (peer === undefined || this.#closed) return false;
    sendHandshakeInitiation(this.#core, peer, false);
    return true;
  }

  /**
   * The peer has just shown it can answer us (magicsock's first disco pong from it): if
   * packets wait for a session and our last initiation went unanswered, sends another now
   * instead of at the retransmit timer (REKEY_TIMEOUT, 5 s). A peer that learnt of us from
   * control only after our first initiation reached it dropped that one; this is the next.
   * @param publicKey the peer's key
   * @returns whether an initiation went out
   */
  handshakeIfWaiting(publicKey: Uint8Array): boolean {
    const peer = this.#peers.get(toHex(publicKey));
    if (peer === undefined || this.#closed) return false;
    if (peer.staged.length === 0 || peer.keypairs.current !== null) return false;
    const hs = peer.handshake;
    // Only an initiation of ours still waiting for its answer: not when none went out, and
    // not in the middle of the peer's own handshake with us.
    if (hs.localIndex === 0 || !peer.timers.retransmitHandshake.pending) return false;
    hs.lastSentHandshakeAt = -Infinity;
    sendHandshakeInitiation(this.#core, peer, true);
    return true;
  }

  /**
   * Processes one datagram (the receive loop calls this; tests may too).
   * @param data the datagram
   * @param from its source
   */
  receiveDatagram(data: Uint8Array, from: BindEndpoint): void {
    if (this.#closed) return;
    receiveDatagram(this.#core, data, from);
  }

  /** Starts the receive loop over the bind. Call once. */
  start(): void {
    if (this.#loop !== null || this.#closed) return;
    const bind = this.#core.bind;
    this.#loop = (async () => {
      for (;;) {
        const r = await bind.receive();
        if (r === null || this.#closed) return;
        receiveDatagram(this.#core, r.data, r.endpoint);
      }
    })();
  }

  /** Stops timers, erases keys, closes the bind and waits for the loop. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const peer of this.#peers.values()) {
        peer.stopTimers();
        zeroAndFlushAll(this.#core.indexTable, peer);
      }
      this.#core.bind.close();
    }
    await this.#loop;
  }

  /** Same as {@linkcode Device.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
