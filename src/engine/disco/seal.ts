/**
 * Sealing and opening disco packets: the outer layout of `wire/disco_messages.ts` with a NaCl
 * box between our disco key and the peer's. Shared keys are precomputed once per peer disco
 * key and cached in the {@linkcode DiscoSealer}, which belongs to one node.
 * @module
 */
import { boxOpenPrecomputed, boxPrecompute, boxSealPrecomputed } from "../crypto/nacl_box.ts";
import { type DiscoPrivate, type DiscoPublic, publicOf, toHex } from "../key/keys.ts";
import {
  DISCO_BOX_AT,
  DISCO_MAGIC,
  DISCO_NONCE_AT,
  DISCO_SENDER_AT,
  type DiscoMessage,
  discoMessageLen,
  emitDiscoMessage,
  isDiscoPacket,
  parseDiscoMessage,
} from "../wire/disco_messages.ts";

/** An opened disco packet. */
export interface OpenedDisco {
  /** The sender's disco public key. */
  sender: DiscoPublic;
  /** The message. */
  message: DiscoMessage;
}

// Bounds the shared-key cache; a netmap larger than this only costs recomputation.
const MAX_CACHED_KEYS = 4096;

/** Seals and opens disco packets for one disco private key. */
export class DiscoSealer {
  readonly #private: DiscoPrivate;
  /** Our disco public key. */
  readonly publicKey: DiscoPublic;
  readonly #shared = new Map<string, Uint8Array>();
  readonly #random: (out: Uint8Array) => void;

  /**
   * @param privateKey our disco private key
   * @param random fills a nonce with random bytes; default `crypto.getRandomValues`
   */
  constructor(
    privateKey: DiscoPrivate,
    random: (out: Uint8Array) => void = (o) => crypto.getRandomValues(o),
  ) {
    this.#private = privateKey;
    this.publicKey = publicOf(privateKey);
    this.#random = random;
  }

  /**
   * Seals `message` to `peer`.
   * @param peer the peer's disco public key
   * @param message the inner message
   * @returns the whole disco packet
   */
  seal(peer: DiscoPublic, message: DiscoMessage): Uint8Array {
    const inner = new Uint8Array(discoMessageLen(message));
    emitDiscoMessage(message, inner, 0);
    const nonce = new Uint8Array(DISCO_BOX_AT - DISCO_NONCE_AT);
    this.#random(nonce);
    const box = boxSealPrecomputed(this.#sharedKey(peer), nonce, inner);
    const out = new Uint8Array(DISCO_BOX_AT + box.length);
    out.set(DISCO_MAGIC, 0);
    out.set(this.publicKey, DISCO_SENDER_AT);
    out.set(nonce, DISCO_NONCE_AT);
    out.set(box, DISCO_BOX_AT);
    return out;
  }

  /**
   * Opens a disco packet; null when it is not disco, does not authenticate, or does not parse
   * (callers drop silently, as Go does).
   * @param packet a datagram or DERP packet
   * @returns the sender and message, or null
   */
  open(packet: Uint8Array): OpenedDisco | null {
    if (!isDiscoPacket(packet) || packet.length < DISCO_BOX_AT) return null;
    const sender = packet.slice(DISCO_SENDER_AT, DISCO_NONCE_AT) as DiscoPublic;
    const nonce = packet.subarray(DISCO_NONCE_AT, DISCO_BOX_AT);
    let inner: Uint8Array | null;
    try {
      inner = boxOpenPrecomputed(this.#sharedKey(sender), nonce, packet.subarray(DISCO_BOX_AT));
    } catch {
      return null; // a low-order sender key
    }
    if (inner === null) return null;
    try {
      return { sender, message: parseDiscoMessage(inner) };
    } catch {
      return null;
    }
  }

  #sharedKey(peer: DiscoPublic): Uint8Array {
    const id = toHex(peer);
    let key = this.#shared.get(id);
    if (key === undefined) {
      key = boxPrecompute(this.#private, peer);
      if (this.#shared.size >= MAX_CACHED_KEYS) this.#shared.clear();
      this.#shared.set(id, key);
    }
    return key;
  }
}
