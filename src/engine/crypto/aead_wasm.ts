/**
 * ChaCha20-Poly1305 (RFC 8439) without associated data, in WebAssembly: WireGuard's transport
 * path seals and opens every packet through it. A call costs a copy in, a copy out and the
 * cipher at compiled speed, where node:crypto under Deno spends about 5 µs per call on a
 * Transform stream and Buffer wrappers before the first byte (`bench/crypto_bench.ts`).
 *
 * The module is built by `scripts/gen_aead_wasm.ts`; each {@linkcode WasmAead} owns its own
 * instance and memory, so nodes in one process share nothing. The key and key stream are wiped
 * from that memory after every call.
 * @module
 */
import { AEAD_TAG_LEN } from "./aead.ts";
import { AEAD_WASM_BASE64 } from "./_aead_wasm_bytes.ts";

/** Where the 32-byte key goes in the module's memory (`scripts/gen_aead_wasm.ts` builds to it). */
export const WASM_AEAD_KEY_AT = 0;
/** Where the 12-byte nonce goes. */
export const WASM_AEAD_NONCE_AT = 32;
/** Where `open()` leaves the tag it computed. */
export const WASM_AEAD_TAG_AT = 48;
/** Where the message goes; below it, the module's scratch. */
export const WASM_AEAD_DATA_AT = 512;
/** The module's memory, in 64 KiB pages. */
export const WASM_AEAD_PAGES = 2;
/** The longest message one call takes; longer ones are refused (callers fall back). */
export const WASM_AEAD_MAX = WASM_AEAD_PAGES * 65536 - WASM_AEAD_DATA_AT - AEAD_TAG_LEN;
const KEY_AT = WASM_AEAD_KEY_AT;
const NONCE_AT = WASM_AEAD_NONCE_AT;
const DATA_AT = WASM_AEAD_DATA_AT;

const newBytes = (len: number): Uint8Array => new Uint8Array(len);

interface AeadExports {
  memory: WebAssembly.Memory;
  seal(len: number): void;
  open(len: number): number;
}

/** One instance of the WebAssembly AEAD. Not safe to share between threads. */
export class WasmAead {
  readonly #mem: Uint8Array;
  readonly #exports: AeadExports;

  constructor() {
    const bytes = Uint8Array.from(atob(AEAD_WASM_BASE64), (c) => c.charCodeAt(0));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    this.#exports = instance.exports as unknown as AeadExports;
    this.#mem = new Uint8Array(this.#exports.memory.buffer);
  }

  /**
   * Encrypts `buf[off .. off+len]` in place and writes the 16-byte tag after it.
   * @param key 32 bytes
   * @param nonce 12 bytes
   * @param buf holds the plaintext, with room for the tag behind it
   * @param off where the plaintext starts
   * @param len its length
   * @returns false (and nothing written) when `len` exceeds {@linkcode WASM_AEAD_MAX}
   */
  sealInPlace(
    key: Uint8Array,
    nonce: Uint8Array,
    buf: Uint8Array,
    off: number,
    len: number,
  ): boolean {
    if (len > WASM_AEAD_MAX) return false;
    const mem = this.#mem;
    mem.set(key, KEY_AT);
    mem.set(nonce, NONCE_AT);
    mem.set(buf.subarray(off, off + len), DATA_AT);
    this.#exports.seal(len);
    buf.set(mem.subarray(DATA_AT, DATA_AT + len + AEAD_TAG_LEN), off);
    return true;
  }

  /**
   * Checks the tag at the end of `sealed` and decrypts.
   * @param key 32 bytes
   * @param nonce 12 bytes
   * @param sealed ciphertext followed by the tag
   * @param alloc where the plaintext goes: a zeroed array of the length asked for, which the
   *   caller keeps (a fresh one by default)
   * @returns the plaintext, in an array from `alloc`; null when the tag does not verify;
   *   undefined when the message is longer than {@linkcode WASM_AEAD_MAX} (not tried)
   */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    alloc: (len: number) => Uint8Array = newBytes,
  ): Uint8Array | null | undefined {
    const len = sealed.length - AEAD_TAG_LEN;
    if (len < 0) return null;
    if (len > WASM_AEAD_MAX) return undefined;
    const mem = this.#mem;
    mem.set(key, KEY_AT);
    mem.set(nonce, NONCE_AT);
    mem.set(sealed, DATA_AT);
    if (this.#exports.open(len) === 0) return null;
    const plain = alloc(len);
    plain.set(mem.subarray(DATA_AT, DATA_AT + len));
    return plain;
  }
}
