/**
 * What the send and receive paths need from the device, as one interface, so `send.ts` and
 * `receive.ts` do not import `device.ts`.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import type { AllowedIps } from "./allowed_ips.ts";
import type { Bind } from "./bind.ts";
import type { Clock } from "../base/clock.ts";
import type { WasmAead } from "../crypto/aead_wasm.ts";
import type { WgTimings } from "./constants.ts";
import type { CookieChecker } from "./cookie.ts";
import type { LocalStatic } from "./handshake.ts";
import type { IndexTable } from "./index_table.ts";
import type { Keypair } from "./keypair.ts";
import type { Peer } from "./peer.ts";
import type { RateLimiter } from "./ratelimiter.ts";
import type { DropCounters } from "./stats.ts";

/** The device as its send and receive paths see it. */
export interface WgCore {
  /** Our static keys. */
  readonly local: LocalStatic;
  /** Time and timers. */
  readonly clock: Clock;
  /** Where datagrams go. */
  readonly bind: Bind;
  /** The timings in force. */
  readonly timings: WgTimings;
  /** Tunnel MTU (padding never goes beyond it). */
  readonly mtu: number;
  /** Random bytes. */
  readonly random: (out: Uint8Array) => void;
  /** Receiver indices. */
  readonly indexTable: IndexTable<Peer, Keypair>;
  /** Prefix → peer. */
  readonly allowedIps: AllowedIps<Peer>;
  /** MAC1/MAC2 checks and cookie replies. */
  readonly cookieChecker: CookieChecker;
  /** Per-source handshake limit applied under load. */
  readonly rateLimiter: RateLimiter;
  /** Drop counters. */
  readonly drops: DropCounters;
  /** 12-byte nonce scratch (bytes 0..3 stay zero). */
  readonly nonce: Uint8Array;
  /** The transport path's ChaCha20-Poly1305 (this device's own WebAssembly instance). */
  readonly aead: WasmAead;
  /** Gives each opened packet its buffer (from the device's `ByteSlab`). */
  readonly takeBytes: (len: number) => Uint8Array;
  /** Whether authenticated packets move a peer's endpoint to their source. */
  readonly roaming: boolean;
  /** Logger for handshake events (never per packet). */
  readonly log: Logger;
  /** The peer with this static key, or null. */
  peerByKey(publicKey: Uint8Array): Peer | null;
  /** Counts a handshake message toward load and says whether we are under load. */
  underLoad(now: number): boolean;
  /** Hands a decrypted, checked IP packet up. */
  deliver(packet: Uint8Array, peer: Peer): void;
}
