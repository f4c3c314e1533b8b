/**
 * NaCl `crypto_box` (X25519, HSalsa20, XSalsa20-Poly1305) as golang.org/x/crypto/nacl/box does
 * it; Tailscale uses it for DERP client info and disco messages. Sealed output is tag || body.
 * @module
 */
import { hsalsa, xsalsa20poly1305 } from "./_deps.ts";
import { x25519Shared } from "./x25519.ts";

/** Length of a box nonce. */
export const BOX_NONCE_LEN = 24;
/** Bytes a sealed box adds to its plaintext. */
export const BOX_OVERHEAD = 16;

// "expand 32-byte k" as four little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

function toWords(b: Uint8Array): Uint32Array {
  const w = new Uint32Array(b.length / 4);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < w.length; i++) w[i] = v.getUint32(i * 4, true);
  return w;
}

function fromWords(w: Uint32Array): Uint8Array {
  const b = new Uint8Array(w.length * 4);
  const v = new DataView(b.buffer);
  for (let i = 0; i < w.length; i++) v.setUint32(i * 4, w[i], true);
  return b;
}

/**
 * The precomputed box key of `box.Precompute`: HSalsa20 of the X25519 shared secret.
 * @param privateKey ours
 * @param publicKey theirs
 * @returns 32-byte symmetric key
 */
export function boxPrecompute(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const shared = x25519Shared(privateKey, publicKey);
  const out = new Uint32Array(8);
  hsalsa(SIGMA, toWords(shared), new Uint32Array(4), out);
  return fromWords(out);
}

/**
 * Seals with a precomputed key (`box.SealAfterPrecomputation`).
 * @param key from {@linkcode boxPrecompute}
 * @param nonce 24 bytes
 * @param plaintext data
 * @returns tag || ciphertext
 */
export function boxSealPrecomputed(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  return xsalsa20poly1305(key, nonce).encrypt(plaintext);
}

/**
 * Opens with a precomputed key; null when the tag does not verify.
 * @param key from {@linkcode boxPrecompute}
 * @param nonce 24 bytes
 * @param sealed tag || ciphertext
 * @returns plaintext or null
 */
export function boxOpenPrecomputed(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
): Uint8Array | null {
  if (sealed.length < BOX_OVERHEAD) return null;
  try {
    return xsalsa20poly1305(key, nonce).decrypt(sealed);
  } catch {
    return null;
  }
}

/**
 * `box.Seal`: seals `plaintext` from our private key to their public key.
 * @param plaintext data
 * @param nonce 24 bytes
 * @param theirPublic recipient's public key
 * @param ourPrivate sender's private key
 * @returns tag || ciphertext
 */
export function boxSeal(
  plaintext: Uint8Array,
  nonce: Uint8Array,
  theirPublic: Uint8Array,
  ourPrivate: Uint8Array,
): Uint8Array {
  return boxSealPrecomputed(boxPrecompute(ourPrivate, theirPublic), nonce, plaintext);
}

/**
 * `box.Open`: opens a box sealed to us; null when it does not verify.
 * @param sealed tag || ciphertext
 * @param nonce 24 bytes
 * @param theirPublic sender's public key
 * @param ourPrivate our private key
 * @returns plaintext or null
 */
export function boxOpen(
  sealed: Uint8Array,
  nonce: Uint8Array,
  theirPublic: Uint8Array,
  ourPrivate: Uint8Array,
): Uint8Array | null {
  return boxOpenPrecomputed(boxPrecompute(ourPrivate, theirPublic), nonce, sealed);
}
