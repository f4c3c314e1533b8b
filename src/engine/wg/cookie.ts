/**
 * MAC1, MAC2 and cookie replies: {@linkcode CookieChecker} is the responder side (checks
 * MACs, makes cookie replies, rotates its secret every two minutes), {@linkcode CookieGenerator}
 * the initiator side (adds MACs, keeps the cookie from a reply).
 *
 * - `mac1 = MAC(HASH("mac1----" || receiver static), msg up to mac1)`
 * - `mac2 = MAC(cookie, msg up to mac2)` while a cookie younger than 120 s is held, else zero
 * - `cookie = MAC(secret, source address bytes)`, sent sealed with XChaCha20-Poly1305 under
 *   `HASH("cookie--" || responder static)` with the message's mac1 as associated data
 * @module
 */
import { blake2sHash, blake2sMac } from "../crypto/blake2s.ts";
import { xaeadOpen, xaeadSeal } from "../crypto/aead.ts";
import { keysEqual } from "../key/keys.ts";
import { COOKIE_REFRESH_TIME_MS } from "./constants.ts";
import {
  COOKIE_NONCE_AT,
  COOKIE_NONCE_LEN,
  COOKIE_RECEIVER_AT,
  COOKIE_REPLY_LEN,
  COOKIE_SEALED_AT,
  MAC_LEN,
  MSG_COOKIE_REPLY,
  writeU32le,
} from "./messages.ts";

const enc = new TextEncoder();
/** The MAC1 key label. */
export const LABEL_MAC1: Uint8Array = enc.encode("mac1----");
/** The cookie key label. */
export const LABEL_COOKIE: Uint8Array = enc.encode("cookie--");

/**
 * The MAC1 key for messages sent to the holder of `publicKey`.
 * @param publicKey the receiver's static public key
 * @returns 32 bytes
 */
export function mac1Key(publicKey: Uint8Array): Uint8Array {
  return blake2sHash(LABEL_MAC1, publicKey);
}

/**
 * The key that seals cookie replies from the holder of `publicKey`.
 * @param publicKey the responder's static public key
 * @returns 32 bytes
 */
export function cookieKey(publicKey: Uint8Array): Uint8Array {
  return blake2sHash(LABEL_COOKIE, publicKey);
}

/** The responder side: checks MACs on handshake messages sent to us; makes cookie replies. */
export class CookieChecker {
  readonly #mac1Key: Uint8Array;
  readonly #encryptionKey: Uint8Array;
  readonly #secret = new Uint8Array(32);
  #secretSetAt = -Infinity;
  readonly #random: (out: Uint8Array) => void;

  /**
   * @param publicKey our static public key
   * @param random fills a buffer with random bytes
   */
  constructor(publicKey: Uint8Array, random: (out: Uint8Array) => void) {
    this.#mac1Key = mac1Key(publicKey);
    this.#encryptionKey = cookieKey(publicKey);
    this.#random = random;
  }

  /**
   * Whether mac1 of a handshake message is right.
   * @param msg the whole message (initiation or response)
   * @returns true when it verifies
   */
  checkMac1(msg: Uint8Array): boolean {
    const m1 = msg.length - 2 * MAC_LEN;
    const want = blake2sMac(this.#mac1Key, MAC_LEN, msg.subarray(0, m1));
    return keysEqual(want, msg.subarray(m1, m1 + MAC_LEN));
  }

  /**
   * Whether mac2 is right for the cookie we would give `src` now. False once our secret is
   * older than two minutes (it is replaced when the next cookie reply is made).
   * @param msg the whole message
   * @param src the sender's address bytes
   * @param now monotonic ms
   * @returns true when it verifies
   */
  checkMac2(msg: Uint8Array, src: Uint8Array, now: number): boolean {
    if (now - this.#secretSetAt > COOKIE_REFRESH_TIME_MS) return false;
    const cookie = blake2sMac(this.#secret, MAC_LEN, src);
    const m2 = msg.length - MAC_LEN;
    const want = blake2sMac(cookie, MAC_LEN, msg.subarray(0, m2));
    return keysEqual(want, msg.subarray(m2));
  }

  /**
   * Makes the cookie reply to a message from `src`, rotating the secret when it is older than
   * two minutes.
   * @param msg the message being answered (its mac1 is the associated data)
   * @param receiver the sender index of that message
   * @param src the sender's address bytes
   * @param now monotonic ms
   * @returns a 64-byte cookie reply
   */
  createReply(msg: Uint8Array, receiver: number, src: Uint8Array, now: number): Uint8Array {
    if (now - this.#secretSetAt > COOKIE_REFRESH_TIME_MS) {
      this.#random(this.#secret);
      this.#secretSetAt = now;
    }
    const cookie = blake2sMac(this.#secret, MAC_LEN, src);
    const m1 = msg.length - 2 * MAC_LEN;
    const out = new Uint8Array(COOKIE_REPLY_LEN);
    writeU32le(out, 0, MSG_COOKIE_REPLY);
    writeU32le(out, COOKIE_RECEIVER_AT, receiver);
    const nonce = out.subarray(COOKIE_NONCE_AT, COOKIE_NONCE_AT + COOKIE_NONCE_LEN);
    this.#random(nonce);
    out.set(
      xaeadSeal(this.#encryptionKey, nonce, cookie, msg.subarray(m1, m1 + MAC_LEN)),
      COOKIE_SEALED_AT,
    );
    return out;
  }
}

/** The initiator side, one per peer: adds MACs to what we send that peer; keeps its cookie. */
export class CookieGenerator {
  // The peer's keys are derived at its first handshake, not when it is configured: most of
  // a large netmap's peers are never talked to.
  readonly #publicKey: Uint8Array;
  #mac1KeyBytes: Uint8Array | null = null;
  #encryptionKeyBytes: Uint8Array | null = null;
  readonly #cookie = new Uint8Array(MAC_LEN);
  #cookieSetAt = -Infinity;
  readonly #lastMac1 = new Uint8Array(MAC_LEN);
  #hasLastMac1 = false;

  /** @param publicKey the peer's static public key (kept, not copied) */
  constructor(publicKey: Uint8Array) {
    this.#publicKey = publicKey;
  }

  get #mac1Key(): Uint8Array {
    return this.#mac1KeyBytes ??= mac1Key(this.#publicKey);
  }

  get #encryptionKey(): Uint8Array {
    return this.#encryptionKeyBytes ??= cookieKey(this.#publicKey);
  }

  /** Whether a cookie younger than two minutes is held. */
  hasCookie(now: number): boolean {
    return now - this.#cookieSetAt <= COOKIE_REFRESH_TIME_MS;
  }

  /**
   * Fills in mac1, and mac2 when a fresh cookie is held (else leaves mac2 zero).
   * @param msg the whole message, MAC fields last
   * @param now monotonic ms
   */
  addMacs(msg: Uint8Array, now: number): void {
    const m1 = msg.length - 2 * MAC_LEN;
    const m2 = m1 + MAC_LEN;
    const mac1 = blake2sMac(this.#mac1Key, MAC_LEN, msg.subarray(0, m1));
    msg.set(mac1, m1);
    this.#lastMac1.set(mac1);
    this.#hasLastMac1 = true;
    if (!this.hasCookie(now)) {
      msg.fill(0, m2);
      return;
    }
    msg.set(blake2sMac(this.#cookie, MAC_LEN, msg.subarray(0, m2)), m2);
  }

  /**
   * Takes the cookie out of a reply to the last message we MACed.
   * @param reply a 64-byte cookie reply
   * @param now monotonic ms
   * @returns true when it opened
   */
  consumeReply(reply: Uint8Array, now: number): boolean {
    if (!this.#hasLastMac1) return false;
    const cookie = xaeadOpen(
      this.#encryptionKey,
      reply.subarray(COOKIE_NONCE_AT, COOKIE_NONCE_AT + COOKIE_NONCE_LEN),
      reply.subarray(COOKIE_SEALED_AT, COOKIE_REPLY_LEN),
      this.#lastMac1,
    );
    if (cookie === null || cookie.length !== MAC_LEN) return false;
    this.#cookie.set(cookie);
    this.#cookieSetAt = now;
    return true;
  }
}
