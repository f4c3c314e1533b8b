/**
 * X25519 key agreement (RFC 7748) with @noble/curves. Private keys are clamped by the
 * scalar multiplication itself, as Go's curve25519 does, so any 32 random bytes are a key.
 * @module
 */
import { x25519 } from "./_deps.ts";

/** Length of X25519 public and private keys, and of shared secrets. */
export const X25519_KEY_LEN = 32;

/**
 * Generates a new random private key.
 * @returns 32 random bytes
 */
export function x25519GeneratePrivate(): Uint8Array {
  return x25519.utils.randomSecretKey();
}

/**
 * Derives the public key of a private key.
 * @param privateKey 32 bytes
 * @returns 32-byte public key
 */
export function x25519Public(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(privateKey);
}

/**
 * Computes the shared secret of our private key and their public key.
 * Throws `RangeError` when the result is all zeros (a low-order public key).
 * @param privateKey ours, 32 bytes
 * @param publicKey theirs, 32 bytes
 * @returns 32-byte shared secret
 */
export function x25519Shared(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    return x25519.getSharedSecret(privateKey, publicKey);
  } catch (err) {
    throw new RangeError(`X25519 failed: ${err instanceof Error ? err.message : err}`);
  }
}
