/**
 * BLAKE2s-256 and the HMAC/HKDF constructions over it that Noise uses (WireGuard and ts2021).
 * @module
 */
import { blake2s, hmac } from "./_deps.ts";

/** BLAKE2s output length used throughout. */
export const BLAKE2S_LEN = 32;

/**
 * BLAKE2s-256 of the concatenation of `parts`.
 * @param parts byte strings hashed in order
 * @returns 32-byte digest
 */
export function blake2sHash(...parts: Uint8Array[]): Uint8Array {
  const h = blake2s.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Keyed BLAKE2s (the MAC construction of WireGuard's mac1/mac2), output `outLen` bytes.
 * @param key 0..32 bytes; an empty key means unkeyed BLAKE2s with an `outLen`-byte digest
 * @param outLen digest length, 16 for WireGuard MACs
 * @param parts message parts
 * @returns the MAC
 */
export function blake2sMac(key: Uint8Array, outLen: number, ...parts: Uint8Array[]): Uint8Array {
  const h = blake2s.create({ key: key.length > 0 ? key : undefined, dkLen: outLen });
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256), as Noise's HKDF uses it.
 * @param key HMAC key
 * @param data message
 * @returns 32-byte tag
 */
export function hmacBlake2s(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(blake2s, key, data);
}

/**
 * Noise's HKDF(chainingKey, input) with BLAKE2s, returning `n` (1 to 3) 32-byte outputs.
 * @param chainingKey 32-byte chaining key
 * @param input input key material (may be empty)
 * @param n how many outputs
 * @returns the outputs in order
 */
export function hkdfBlake2s(
  chainingKey: Uint8Array,
  input: Uint8Array,
  n: 1 | 2 | 3,
): Uint8Array[] {
  const prk = hmacBlake2s(chainingKey, input);
  const out: Uint8Array[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  for (let i = 1; i <= n; i++) {
    const msg = new Uint8Array(prev.length + 1);
    msg.set(prev);
    msg[prev.length] = i;
    prev = hmacBlake2s(prk, msg);
    out.push(prev);
  }
  return out;
}
