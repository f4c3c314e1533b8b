/**
 * The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake of WireGuard: one {@linkcode Handshake}
 * per peer moves through five states (zeroed, initiation created or consumed, response created
 * or consumed), and the functions here build and consume the two messages. MACs are added and
 * checked by `cookie.ts`; indices come from the caller.
 *
 * Failures return null or false: handshake messages come off the network and are dropped
 * and counted, never thrown.
 * @module
 */
import { aeadOpen, aeadSeal } from "../crypto/aead.ts";
import { blake2sHash, hkdfBlake2s } from "../crypto/blake2s.ts";
import { x25519GeneratePrivate, x25519Public, x25519Shared } from "../crypto/x25519.ts";
import { keysEqual } from "../key/keys.ts";
import { HANDSHAKE_INITIATION_RATE_MS } from "./constants.ts";
import {
  INIT_EPHEMERAL_AT,
  INIT_SENDER_AT,
  INIT_STATIC_AT,
  INIT_STATIC_LEN,
  INIT_TIMESTAMP_AT,
  INIT_TIMESTAMP_LEN,
  INITIATION_LEN,
  MSG_INITIATION,
  MSG_RESPONSE,
  readU32le,
  RESP_EMPTY_AT,
  RESP_EPHEMERAL_AT,
  RESP_RECEIVER_AT,
  RESP_SENDER_AT,
  RESPONSE_LEN,
  TAG_LEN,
  writeU32le,
} from "./messages.ts";
import { emitTai64n, TAI64N_LEN, tai64nAfter } from "./tai64n.ts";

const enc = new TextEncoder();
/** The Noise construction name. */
export const CONSTRUCTION = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/** WireGuard's Noise prologue ("identifier"). */
export const IDENTIFIER = "WireGuard v1 zx2c4 Jason@zx2c4.com";
/** C0 = HASH(construction). */
export const INITIAL_CHAIN_KEY: Uint8Array = blake2sHash(enc.encode(CONSTRUCTION));
/** H0 = HASH(C0 || identifier). */
export const INITIAL_HASH: Uint8Array = blake2sHash(INITIAL_CHAIN_KEY, enc.encode(IDENTIFIER));

const ZERO_NONCE = new Uint8Array(12);
const EMPTY = new Uint8Array(0);

/** Handshake states, as wireguard-go names them. */
export const HandshakeState = {
  zeroed: 0,
  initiationCreated: 1,
  initiationConsumed: 2,
  responseCreated: 3,
  responseConsumed: 4,
} as const;
/** One of {@linkcode HandshakeState}. */
export type HandshakeStateValue = (typeof HandshakeState)[keyof typeof HandshakeState];

/** Our static key pair. */
export interface LocalStatic {
  /** 32-byte private key. */
  readonly privateKey: Uint8Array;
  /** Its public key. */
  readonly publicKey: Uint8Array;
}

// Noise's EncryptAndHash: seals `plaintext` under `key` (nonce 0) with the running hash as
// associated data, writes it into `msg` at `at`, and returns the hash mixed with it.
function encryptAndHash(
  key: Uint8Array,
  plaintext: Uint8Array,
  hash: Uint8Array,
  msg: Uint8Array,
  at: number,
): Uint8Array {
  const sealed = aeadSeal(key, ZERO_NONCE, plaintext, hash);
  msg.set(sealed, at);
  return blake2sHash(hash, sealed);
}

// What creating an initiation or a response leaves in `hs`: the transcript after the message,
// the ephemeral key and index we sent, and the new state.
function recordCreated(
  hs: Handshake,
  state: HandshakeStateValue,
  hash: Uint8Array,
  chainKey: Uint8Array,
  ephemeral: Uint8Array,
  localIndex: number,
): void {
  hs.hash = hash;
  hs.chainKey = chainKey;
  hs.localEphemeral = ephemeral;
  hs.localIndex = localIndex;
  hs.state = state;
}

function dh(priv: Uint8Array, pub: Uint8Array): Uint8Array | null {
  try {
    return x25519Shared(priv, pub);
  } catch {
    return null;
  }
}

/** The handshake state we keep for one peer. */
export class Handshake {
  /** Where the handshake is. */
  state: HandshakeStateValue = HandshakeState.zeroed;
  /** Noise h. */
  hash: Uint8Array = new Uint8Array(32);
  /** Noise ck. */
  chainKey: Uint8Array = new Uint8Array(32);
  /** Our ephemeral private key for the exchange in progress. */
  localEphemeral: Uint8Array = new Uint8Array(32);
  /** The peer's ephemeral public key. */
  remoteEphemeral: Uint8Array = new Uint8Array(32);
  /** Our index for the exchange in progress (0 when none). */
  localIndex = 0;
  /** The peer's index. */
  remoteIndex = 0;
  /** The peer's static public key. */
  readonly remoteStatic: Uint8Array;
  /** Our static private key (for the static-static DH, computed on first use). */
  readonly #localPrivate: Uint8Array;
  #staticStatic: Uint8Array | null | undefined = undefined;
  /** The pre-shared key Q; Tailscale uses 32 zero bytes. */
  presharedKey: Uint8Array = new Uint8Array(32);
  /** Greatest TAI64N timestamp accepted from the peer. */
  readonly lastTimestamp: Uint8Array = new Uint8Array(TAI64N_LEN);
  /** Monotonic ms when we last consumed an initiation from the peer. */
  lastInitiationConsumedAt = -Infinity;
  /** Monotonic ms when we last sent an initiation (or response) to the peer. */
  lastSentHandshakeAt = -Infinity;

  /**
   * @param local our static key pair
   * @param remoteStatic the peer's static public key
   */
  constructor(local: LocalStatic, remoteStatic: Uint8Array) {
    this.remoteStatic = remoteStatic.slice();
    this.#localPrivate = local.privateKey;
  }
  /**
   * DH(our static, their static), or null for a low-order key (no handshake possible).
   * Computed at the first handshake, not when the peer is configured: a netmap of 10,000
   * peers would otherwise cost 10,000 X25519 operations before the first packet.
   */
  get precomputedStaticStatic(): Uint8Array | null {
    if (this.#staticStatic === undefined) {
      this.#staticStatic = dh(this.#localPrivate, this.remoteStatic);
    }
    return this.#staticStatic;
  }

  /** Forgets the secrets of an exchange in progress (the caller frees `localIndex`). */
  zero(): void {
    this.state = HandshakeState.zeroed;
    this.hash.fill(0);
    this.chainKey.fill(0);
    this.localEphemeral.fill(0);
    this.localIndex = 0;
  }
}

/**
 * Builds an initiation to `hs`'s peer (MAC fields left zero), moving it to initiation-created.
 * @param local our static keys
 * @param hs the peer's handshake
 * @param localIndex our fresh sender index
 * @param wallMs wall-clock ms for the TAI64N timestamp
 * @param ephemeral our ephemeral private key (fresh random by default)
 * @returns the 148-byte message, or null when the peer's key is unusable
 */
export function createInitiation(
  local: LocalStatic,
  hs: Handshake,
  localIndex: number,
  wallMs: number,
  ephemeral: Uint8Array = x25519GeneratePrivate(),
): Uint8Array | null {
  if (hs.precomputedStaticStatic === null) return null;
  const msg = new Uint8Array(INITIATION_LEN);
  writeU32le(msg, 0, MSG_INITIATION);
  writeU32le(msg, INIT_SENDER_AT, localIndex);
  const ePub = x25519Public(ephemeral);
  msg.set(ePub, INIT_EPHEMERAL_AT);

  let hash = blake2sHash(INITIAL_HASH, hs.remoteStatic);
  let chainKey = hkdfBlake2s(INITIAL_CHAIN_KEY, ePub, 1)[0];
  hash = blake2sHash(hash, ePub);
  const es = dh(ephemeral, hs.remoteStatic);
  if (es === null) return null;
  let key: Uint8Array;
  [chainKey, key] = hkdfBlake2s(chainKey, es, 2);
  hash = encryptAndHash(key, local.publicKey, hash, msg, INIT_STATIC_AT);
  [chainKey, key] = hkdfBlake2s(chainKey, hs.precomputedStaticStatic, 2);
  const ts = new Uint8Array(TAI64N_LEN);
  emitTai64n(wallMs, ts);
  hash = encryptAndHash(key, ts, hash, msg, INIT_TIMESTAMP_AT);

  recordCreated(hs, HandshakeState.initiationCreated, hash, chainKey, ephemeral, localIndex);
  return msg;
}

/**
 * Consumes an initiation sent to us (MACs already checked): decrypts the sender's static key,
 * finds its handshake with `findPeer`, rejects a timestamp not newer than the last one or an
 * initiation less than 20 ms after the previous, and moves the handshake to
 * initiation-consumed.
 * @param local our static keys
 * @param msg the 148-byte initiation
 * @param findPeer the handshake of the peer with this static key, or null if unknown
 * @param now monotonic ms
 * @returns the peer's handshake, or null when the message is not acceptable
 */
export function consumeInitiation<T extends { handshake: Handshake }>(
  local: LocalStatic,
  msg: Uint8Array,
  findPeer: (staticKey: Uint8Array) => T | null,
  now: number,
): T | null {
  if (msg.length !== INITIATION_LEN || readU32le(msg, 0) !== MSG_INITIATION) return null;
  const ePub = msg.subarray(INIT_EPHEMERAL_AT, INIT_EPHEMERAL_AT + 32);
  let hash = blake2sHash(INITIAL_HASH, local.publicKey);
  hash = blake2sHash(hash, ePub);
  let chainKey = hkdfBlake2s(INITIAL_CHAIN_KEY, ePub, 1)[0];
  const es = dh(local.privateKey, ePub);
  if (es === null) return null;
  let key: Uint8Array;
  [chainKey, key] = hkdfBlake2s(chainKey, es, 2);
  const encStatic = msg.subarray(INIT_STATIC_AT, INIT_STATIC_AT + INIT_STATIC_LEN);
  const peerStatic = aeadOpen(key, ZERO_NONCE, encStatic, hash);
  if (peerStatic === null) return null;
  hash = blake2sHash(hash, encStatic);
  const peer = findPeer(peerStatic);
  if (peer === null) return null;
  const hs = peer.handshake;
  if (hs.precomputedStaticStatic === null) return null;
  [chainKey, key] = hkdfBlake2s(chainKey, hs.precomputedStaticStatic, 2);
  const encTs = msg.subarray(INIT_TIMESTAMP_AT, INIT_TIMESTAMP_AT + INIT_TIMESTAMP_LEN);
  const ts = aeadOpen(key, ZERO_NONCE, encTs, hash);
  if (ts === null) return null;
  hash = blake2sHash(hash, encTs);
  if (!tai64nAfter(ts, hs.lastTimestamp)) return null; // replayed initiation
  if (now - hs.lastInitiationConsumedAt <= HANDSHAKE_INITIATION_RATE_MS) return null; // flood

  hs.hash = hash;
  hs.chainKey = chainKey;
  hs.remoteIndex = readU32le(msg, INIT_SENDER_AT);
  hs.remoteEphemeral = ePub.slice();
  hs.lastTimestamp.set(ts);
  hs.lastInitiationConsumedAt = now;
  hs.state = HandshakeState.initiationConsumed;
  return peer;
}

/**
 * Builds the response to a consumed initiation (MAC fields left zero), moving the handshake
 * to response-created.
 * @param hs the peer's handshake, in initiation-consumed
 * @param localIndex our fresh sender index
 * @param ephemeral our ephemeral private key (fresh random by default)
 * @returns the 92-byte message, or null in the wrong state or for a bad ephemeral key
 */
export function createResponse(
  hs: Handshake,
  localIndex: number,
  ephemeral: Uint8Array = x25519GeneratePrivate(),
): Uint8Array | null {
  if (hs.state !== HandshakeState.initiationConsumed) return null;
  const msg = new Uint8Array(RESPONSE_LEN);
  writeU32le(msg, 0, MSG_RESPONSE);
  writeU32le(msg, RESP_SENDER_AT, localIndex);
  writeU32le(msg, RESP_RECEIVER_AT, hs.remoteIndex);
  const ePub = x25519Public(ephemeral);
  msg.set(ePub, RESP_EPHEMERAL_AT);
  let hash = blake2sHash(hs.hash, ePub);
  let chainKey = hkdfBlake2s(hs.chainKey, ePub, 1)[0];
  const ee = dh(ephemeral, hs.remoteEphemeral);
  const se = dh(ephemeral, hs.remoteStatic);
  if (ee === null || se === null) return null;
  chainKey = hkdfBlake2s(chainKey, ee, 1)[0];
  chainKey = hkdfBlake2s(chainKey, se, 1)[0];
  const [ck, tau, key] = hkdfBlake2s(chainKey, hs.presharedKey, 3);
  hash = blake2sHash(hash, tau);
  hash = encryptAndHash(key, EMPTY, hash, msg, RESP_EMPTY_AT);

  recordCreated(hs, HandshakeState.responseCreated, hash, ck, ephemeral, localIndex);
  return msg;
}

/**
 * Consumes a response to our initiation (MACs checked, `hs` found by the receiver index),
 * moving the handshake to response-consumed.
 * @param local our static keys
 * @param msg the 92-byte response
 * @param hs the handshake the receiver index named
 * @returns true when it authenticated
 */
export function consumeResponse(local: LocalStatic, msg: Uint8Array, hs: Handshake): boolean {
  if (msg.length !== RESPONSE_LEN || readU32le(msg, 0) !== MSG_RESPONSE) return false;
  if (hs.state !== HandshakeState.initiationCreated) return false;
  if (readU32le(msg, RESP_RECEIVER_AT) !== hs.localIndex) return false;
  const ePub = msg.subarray(RESP_EPHEMERAL_AT, RESP_EPHEMERAL_AT + 32);
  let hash = blake2sHash(hs.hash, ePub);
  let chainKey = hkdfBlake2s(hs.chainKey, ePub, 1)[0];
  const ee = dh(hs.localEphemeral, ePub);
  const se = dh(local.privateKey, ePub);
  if (ee === null || se === null) return false;
  chainKey = hkdfBlake2s(chainKey, ee, 1)[0];
  chainKey = hkdfBlake2s(chainKey, se, 1)[0];
  const [ck, tau, key] = hkdfBlake2s(chainKey, hs.presharedKey, 3);
  hash = blake2sHash(hash, tau);
  const empty = msg.subarray(RESP_EMPTY_AT, RESP_EMPTY_AT + TAG_LEN);
  if (aeadOpen(key, ZERO_NONCE, empty, hash) === null) return false;
  hash = blake2sHash(hash, empty);

  hs.hash = hash;
  hs.chainKey = ck;
  hs.remoteIndex = readU32le(msg, RESP_SENDER_AT);
  hs.state = HandshakeState.responseConsumed;
  return true;
}

/** Transport keys out of a finished handshake. */
export interface TransportKeys {
  /** Key we seal with. */
  readonly send: Uint8Array;
  /** Key we open with. */
  readonly recv: Uint8Array;
  /** Whether we were the initiator. */
  readonly isInitiator: boolean;
  /** Our index. */
  readonly localIndex: number;
  /** Their index. */
  readonly remoteIndex: number;
}

/**
 * Derives the transport keys (initiator: `(send, recv) = KDF2(ck, ε)`, responder swapped) and
 * zeroes the handshake.
 * @param hs a handshake in response-created or response-consumed
 * @returns the keys, or null in any other state
 */
export function deriveTransportKeys(hs: Handshake): TransportKeys | null {
  let isInitiator: boolean;
  if (hs.state === HandshakeState.responseConsumed) isInitiator = true;
  else if (hs.state === HandshakeState.responseCreated) isInitiator = false;
  else return null;
  const [t0, t1] = hkdfBlake2s(hs.chainKey, EMPTY, 2);
  const out: TransportKeys = {
    send: isInitiator ? t0 : t1,
    recv: isInitiator ? t1 : t0,
    isInitiator,
    localIndex: hs.localIndex,
    remoteIndex: hs.remoteIndex,
  };
  hs.zero();
  return out;
}

/**
 * Whether two static keys are the same (constant time).
 * @param a 32 bytes
 * @param b 32 bytes
 * @returns true when equal
 */
export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return keysEqual(a, b);
}
