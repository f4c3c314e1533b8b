/**
 * X25519 key agreement (RFC 7748) through `node:crypto`, which the daemon loads anyway for
 * ChaCha20-Poly1305: @noble/curves' `ed25519.js` (the only way it exports x25519) also brings
 * ed25519, ristretto and FROST, about 3 MiB of resident memory for one function, and its
 * scalar multiplication is ~5x slower. Private keys are clamped by the scalar multiplication
 * itself, as Go's curve25519 does, so any 32 random bytes are a key; the top bit of a public
 * key is ignored (RFC 7748 section 5).
 * @module
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from "node:crypto";

/** Length of X25519 public and private keys, and of shared secrets. */
export const X25519_KEY_LEN = 32;

/** DER PKCS #8 header of an X25519 private key (OID 1.3.101.110), before its 32 bytes. */
const PKCS8_PREFIX = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
);
/** DER SubjectPublicKeyInfo header of an X25519 public key, before its 32 bytes. */
const SPKI_PREFIX = Uint8Array.of(
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x03,
  0x21,
  0x00,
);

function der(prefix: Uint8Array, key: Uint8Array, what: string): Buffer {
  if (key.length !== X25519_KEY_LEN) {
    throw new RangeError(`X25519 ${what} key must be ${X25519_KEY_LEN} bytes, got ${key.length}`);
  }
  return Buffer.concat([prefix, key]);
}

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  return createPrivateKey({
    key: der(PKCS8_PREFIX, privateKey, "private"),
    format: "der",
    type: "pkcs8",
  });
}

/**
 * Generates a new random private key.
 * @returns 32 random bytes
 */
export function x25519GeneratePrivate(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(X25519_KEY_LEN));
}

/**
 * Derives the public key of a private key.
 * @param privateKey 32 bytes
 * @returns 32-byte public key
 */
export function x25519Public(privateKey: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyObject(privateKey)).export({
    format: "der",
    type: "spki",
  });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

/**
 * Computes the shared secret of our private key and their public key.
 * Throws `RangeError` when the result is all zeros (a low-order public key).
 * @param privateKey ours, 32 bytes
 * @param publicKey theirs, 32 bytes
 * @returns 32-byte shared secret
 */
export function x25519Shared(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = new Uint8Array(diffieHellman({
      privateKey: privateKeyObject(privateKey),
      publicKey: createPublicKey({
        key: der(SPKI_PREFIX, publicKey, "public"),
        format: "der",
        type: "spki",
      }),
    }));
  } catch (err) {
    if (err instanceof RangeError) throw err;
    throw new RangeError(`X25519 failed: ${err instanceof Error ? err.message : err}`);
  }
  if (shared.every((b) => b === 0)) throw new RangeError("X25519 failed: low-order public key");
  return shared;
}
