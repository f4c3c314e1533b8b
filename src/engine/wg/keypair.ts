/**
 * One session's transport keys, counters and replay filter, and the three slots a peer keeps
 * them in: previous (still accepted for packets in flight), current (used to send), next (a
 * responder's new keypair, unused until the initiator proves it has it).
 * @module
 */
import { aeadOpen, aeadSeal } from "../crypto/aead.ts";
import type { WasmAead } from "../crypto/aead_wasm.ts";
import { TRANSPORT_HEADER_LEN } from "./messages.ts";
import { ReplayFilter } from "./replay.ts";

/** Transport keys of one handshake. */
export class Keypair {
  /** Monotonic ms when it was derived. */
  readonly createdAt: number;
  /** Whether we initiated the handshake that made it (only the initiator rekeys on time). */
  readonly isInitiator: boolean;
  /** Our receiver index for it. */
  readonly localIndex: number;
  /** The peer's receiver index for it (goes into our transport headers). */
  readonly remoteIndex: number;
  /** Next send counter. */
  sendNonce = 0;
  /** Receive-side replay filter. */
  readonly replay = new ReplayFilter();
  // Raw key bytes (own copies), not KeyObjects: node:crypto exports a KeyObject's secret
  // again on every createCipheriv call (op_node_export_secret_key in the profile), and
  // bytes are cheaper per packet (bench/crypto_bench.ts, "Keypair" group).
  #send: Uint8Array | null;
  #recv: Uint8Array | null;

  /**
   * @param sendKey 32-byte sending key (copied, the caller should zero its copy)
   * @param recvKey 32-byte receiving key
   * @param createdAt monotonic ms
   * @param isInitiator whether we initiated
   * @param localIndex our index
   * @param remoteIndex theirs
   */
  constructor(
    sendKey: Uint8Array,
    recvKey: Uint8Array,
    createdAt: number,
    isInitiator: boolean,
    localIndex: number,
    remoteIndex: number,
  ) {
    this.#send = sendKey.slice();
    this.#recv = recvKey.slice();
    this.createdAt = createdAt;
    this.isInitiator = isInitiator;
    this.localIndex = localIndex;
    this.remoteIndex = remoteIndex;
  }

  /** Whether the keys were dropped by {@linkcode Keypair.zero}. */
  get zeroed(): boolean {
    return this.#send === null;
  }

  /** Forgets the keys; seal and open fail afterwards. */
  zero(): void {
    this.#send?.fill(0);
    this.#recv?.fill(0);
    this.#send = null;
    this.#recv = null;
  }

  /**
   * Encrypts `buf[off .. off+len]` in place and writes the tag after it.
   * @param aead the device's WebAssembly AEAD (node:crypto for a message too long for it)
   * @param nonce 12-byte scratch nonce already holding the counter
   * @param buf buffer with `off + len + 16` bytes at least
   * @param off start of the plaintext
   * @param len plaintext length (already padded)
   * @returns false when the keypair was zeroed
   */
  sealInPlace(
    aead: WasmAead,
    nonce: Uint8Array,
    buf: Uint8Array,
    off: number,
    len: number,
  ): boolean {
    const key = this.#send;
    if (key === null) return false;
    if (aead.sealInPlace(key, nonce, buf, off, len)) return true;
    buf.set(aeadSeal(key, nonce, buf.subarray(off, off + len)), off);
    return true;
  }

  /**
   * Opens the content of a transport message.
   * @param aead the device's WebAssembly AEAD (node:crypto for a message too long for it)
   * @param nonce 12-byte scratch nonce already holding the counter
   * @param msg the whole transport message
   * @param alloc where the plaintext goes (see {@linkcode WasmAead.open})
   * @returns the padded plaintext, or null when authentication fails
   */
  open(
    aead: WasmAead,
    nonce: Uint8Array,
    msg: Uint8Array,
    alloc?: (len: number) => Uint8Array,
  ): Uint8Array | null {
    const key = this.#recv;
    if (key === null) return null;
    const opened = aead.open(key, nonce, msg.subarray(TRANSPORT_HEADER_LEN), alloc);
    if (opened !== undefined) return opened;
    return aeadOpen(key, nonce, msg.subarray(TRANSPORT_HEADER_LEN));
  }
}

/** A peer's keypair slots. */
export class Keypairs {
  /** The keypair before current, kept so packets sealed with it still open. */
  previous: Keypair | null = null;
  /** The keypair we send with. */
  current: Keypair | null = null;
  /** A responder's fresh keypair, promoted on the first packet received with it. */
  next: Keypair | null = null;
}
