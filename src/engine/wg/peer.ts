/**
 * One configured peer: its static key, endpoint, handshake, keypair slots, cookie generator,
 * timers, staged packets and counters; and the session bookkeeping that moves keypairs
 * between the previous, current and next slots.
 * @module
 */
import type { BindEndpoint } from "./bind.ts";
import { CookieGenerator } from "./cookie.ts";
import { Handshake, type LocalStatic } from "./handshake.ts";
import type { IndexTable } from "./index_table.ts";
import { Keypair, Keypairs } from "./keypair.ts";
import { newPeerStats, type PeerStats } from "./stats.ts";
import type { PeerTimers } from "./timers.ts";
import type { TransportKeys } from "./handshake.ts";

/** An outbound packet waiting for a session: the IP packet is `buf[off .. off+len]`. */
export interface StagedPacket {
  /** Buffer with at least 16 bytes before `off`. */
  readonly buf: Uint8Array;
  /** Where the IP packet starts. */
  readonly off: number;
  /** IP packet length (0 for a keepalive). */
  readonly len: number;
}

/** A peer of the device. */
export class Peer {
  /** The peer's static (node) public key. */
  readonly publicKey: Uint8Array;
  /** Its hex form, the key of the device's peer map. */
  readonly keyHex: string;
  /** Keypair slots. */
  readonly keypairs: Keypairs = new Keypairs();
  // Made at the first handshake: in a netmap of 10,000 peers most are never talked to, and
  // these hold nine small buffers each.
  readonly #local: LocalStatic;
  #handshake: Handshake | null = null;
  #cookieGenerator: CookieGenerator | null = null;
  // Also made at first use (a handshake, a packet, a persistent keepalive): five timers and
  // their closures are ~1.2 KB a peer, 12 MiB of heap among 10,000 peers never talked to.
  readonly #makeTimers: (peer: Peer) => PeerTimers;
  #timers: PeerTimers | null = null;
  #timersStopped = false;
  /** Where to send; updated from authenticated packets when roaming is on. */
  endpoint: BindEndpoint | null = null;
  /** Packets waiting for a session. */
  staged: StagedPacket[] = [];
  /** Counters. */
  readonly stats: PeerStats = newPeerStats();

  /**
   * @param local our static keys
   * @param publicKey the peer's static public key
   * @param keyHex its hex form
   * @param makeTimers makes its timers at first use (one function the device shares)
   */
  constructor(
    local: LocalStatic,
    publicKey: Uint8Array,
    keyHex: string,
    makeTimers: (peer: Peer) => PeerTimers,
  ) {
    this.publicKey = publicKey.slice();
    this.keyHex = keyHex;
    this.#local = local;
    this.#makeTimers = makeTimers;
  }

  /** Its timers, made at first use; those of a stopped peer are made stopped. */
  get timers(): PeerTimers {
    if (this.#timers === null) {
      this.#timers = this.#makeTimers(this);
      if (this.#timersStopped) this.#timers.stop();
    }
    return this.#timers;
  }

  /** Its persistent keepalive interval in ms (0, off, without making the timers). */
  get persistentKeepaliveMs(): number {
    return this.#timers?.persistentKeepaliveMs ?? 0;
  }

  /** Stops its timers for good (the peer is going away), without making them. */
  stopTimers(): void {
    this.#timersStopped = true;
    this.#timers?.stop();
  }

  /** Handshake state. */
  get handshake(): Handshake {
    return this.#handshake ??= new Handshake(this.#local, this.publicKey);
  }

  /** Whether a handshake was ever started or answered (its state exists). */
  get hasHandshake(): boolean {
    return this.#handshake !== null;
  }

  /** Adds MACs to what we send it; holds its cookie. */
  get cookieGenerator(): CookieGenerator {
    return this.#cookieGenerator ??= new CookieGenerator(this.publicKey);
  }
}

/**
 * Forgets a keypair: removes its index and erases its keys.
 * @param table the device's index table
 * @param kp the keypair, or null
 */
export function deleteKeypair(table: IndexTable<Peer, Keypair>, kp: Keypair | null): void {
  if (kp === null) return;
  table.delete(kp.localIndex);
  kp.zero();
}

/**
 * Installs the keypair of a finished handshake. The initiator starts sending with it at
 * once (the old current becomes previous); the responder parks it in `next` until the
 * initiator's first packet confirms it, and drops the previous keypair.
 * @param table the device's index table
 * @param peer the peer
 * @param keys from `deriveTransportKeys`
 * @param now monotonic ms
 * @returns the new keypair
 */
export function beginSymmetricSession(
  table: IndexTable<Peer, Keypair>,
  peer: Peer,
  keys: TransportKeys,
  now: number,
): Keypair {
  const kp = new Keypair(
    keys.send,
    keys.recv,
    now,
    keys.isInitiator,
    keys.localIndex,
    keys.remoteIndex,
  );
  keys.send.fill(0);
  keys.recv.fill(0);
  table.swapIndexForKeypair(keys.localIndex, kp);
  const slots = peer.keypairs;
  const { previous, next, current } = slots;
  if (kp.isInitiator) {
    if (next !== null) {
      slots.next = null;
      slots.previous = next;
      deleteKeypair(table, current);
    } else {
      slots.previous = current;
    }
    deleteKeypair(table, previous);
    slots.current = kp;
  } else {
    slots.next = kp;
    deleteKeypair(table, next);
    slots.previous = null;
    deleteKeypair(table, previous);
  }
  return kp;
}

/**
 * Call after a packet authenticated with `kp`: if it is the `next` keypair, promote it to
 * current (key confirmation for the responder).
 * @param table the device's index table
 * @param peer the peer
 * @param kp the keypair the packet opened with
 * @returns true when `kp` was just promoted
 */
export function receivedWithKeypair(
  table: IndexTable<Peer, Keypair>,
  peer: Peer,
  kp: Keypair,
): boolean {
  const slots = peer.keypairs;
  if (slots.next !== kp) return false;
  deleteKeypair(table, slots.previous);
  slots.previous = slots.current;
  slots.current = kp;
  slots.next = null;
  return true;
}

/**
 * Erases every keypair and the handshake in progress, and drops staged packets.
 * @param table the device's index table
 * @param peer the peer
 */
export function zeroAndFlushAll(table: IndexTable<Peer, Keypair>, peer: Peer): void {
  const slots = peer.keypairs;
  deleteKeypair(table, slots.previous);
  deleteKeypair(table, slots.current);
  deleteKeypair(table, slots.next);
  slots.previous = slots.current = slots.next = null;
  if (peer.hasHandshake) {
    if (peer.handshake.localIndex !== 0) table.delete(peer.handshake.localIndex);
    peer.handshake.zero();
  }
  peer.staged = [];
}
