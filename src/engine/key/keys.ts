/**
 * Tailscale's key kinds and their text forms: a prefix naming the kind, then 64 lowercase hex
 * digits (`nodekey:…`, `mkey:…`, `discokey:…`, `privkey:…`). The kinds are branded so that a
 * disco key cannot be passed where a node key is meant.
 * @module
 */
import { ParseError } from "../base/errors.ts";
import { x25519GeneratePrivate, x25519Public } from "../crypto/x25519.ts";

/** Length in bytes of every key kind here. */
export const KEY_LEN = 32;

/** The kinds of public key, by the text prefix Tailscale gives them. */
export const PUBLIC_PREFIX = {
  node: "nodekey:",
  machine: "mkey:",
  disco: "discokey:",
} as const;

/** The text prefix of every private key kind (Tailscale writes them all as `privkey:`). */
export const PRIVATE_PREFIX = "privkey:";

/** A kind of key. */
export type KeyKind = keyof typeof PUBLIC_PREFIX;

declare const brand: unique symbol;
/** A 32-byte public key of kind `K`. */
export type PublicKey<K extends KeyKind> = Uint8Array & { readonly [brand]: `${K}-public` };
/** A 32-byte private key of kind `K`. */
export type PrivateKey<K extends KeyKind> = Uint8Array & { readonly [brand]: `${K}-private` };

/** A node (WireGuard) public key. */
export type NodePublic = PublicKey<"node">;
/** A node (WireGuard) private key. */
export type NodePrivate = PrivateKey<"node">;
/** A machine (control Noise) public key. */
export type MachinePublic = PublicKey<"machine">;
/** A machine (control Noise) private key. */
export type MachinePrivate = PrivateKey<"machine">;
/** A disco public key. */
export type DiscoPublic = PublicKey<"disco">;
/** A disco private key. */
export type DiscoPrivate = PrivateKey<"disco">;

const HEX = "0123456789abcdef";

/**
 * Lowercase hex of `b`.
 * @param b bytes
 * @returns hex text
 */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += HEX[x >> 4] + HEX[x & 15];
  return s;
}

/**
 * Parses hex text; throws {@linkcode ParseError} on odd length or a non-hex digit.
 * @param s hex text
 * @returns the bytes
 */
export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0) throw new ParseError("hex", `Cannot parse hex: odd length ${s.length}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexDigit(s.charCodeAt(2 * i));
    const lo = hexDigit(s.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new ParseError("hex", `Cannot parse hex: bad digit at ${2 * i}`, 2 * i);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** The value of one hex digit's char code, -1 when it is none. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/**
 * Generates a new private key of the given kind.
 * @param _kind the kind, for the type only
 * @returns the key
 */
export function generatePrivate<K extends KeyKind>(_kind: K): PrivateKey<K> {
  return x25519GeneratePrivate() as PrivateKey<K>;
}

/**
 * The public key of a private key, of the same kind.
 * @param priv the private key
 * @returns its public key
 */
export function publicOf<K extends KeyKind>(priv: PrivateKey<K>): PublicKey<K> {
  return x25519Public(priv) as PublicKey<K>;
}

/**
 * The text form of a public key, e.g. `nodekey:3f…`.
 * @param kind which kind it is
 * @param key the key
 * @returns text form
 */
export function publicToText<K extends KeyKind>(kind: K, key: PublicKey<K>): string {
  return PUBLIC_PREFIX[kind] + toHex(key);
}

/**
 * Parses the text form of a public key of `kind`; throws {@linkcode ParseError} otherwise.
 * @param kind the expected kind
 * @param text e.g. `nodekey:3f…`
 * @returns the key
 */
export function publicFromText<K extends KeyKind>(kind: K, text: string): PublicKey<K> {
  return parsePrefixed(text, PUBLIC_PREFIX[kind], `${kind} public key`) as PublicKey<K>;
}

/**
 * The text form of a private key (`privkey:…`). Never log it.
 * @param key the key
 * @returns text form
 */
export function privateToText<K extends KeyKind>(key: PrivateKey<K>): string {
  return PRIVATE_PREFIX + toHex(key);
}

/**
 * Parses `privkey:…` as a private key of `kind`.
 * @param _kind the kind, for the type
 * @param text the text form
 * @returns the key
 */
export function privateFromText<K extends KeyKind>(_kind: K, text: string): PrivateKey<K> {
  return parsePrefixed(text, PRIVATE_PREFIX, "private key") as PrivateKey<K>;
}

/**
 * A short form for logs: the prefix and the first 5 hex digits in brackets, as Tailscale's
 * `ShortString` does (`[abcde]`).
 * @param key a public key
 * @returns short text
 */
export function shortKey(key: Uint8Array): string {
  return `[${toHex(key.subarray(0, 3)).slice(0, 5)}]`;
}

/**
 * Constant-time equality of two byte strings of the same length.
 * @param a first
 * @param b second
 * @returns true when equal
 */
export function keysEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function parsePrefixed(text: string, prefix: string, what: string): Uint8Array {
  if (!text.startsWith(prefix)) {
    throw new ParseError("key", `Cannot parse ${what}: missing "${prefix}" prefix`);
  }
  const hex = text.slice(prefix.length);
  if (hex.length !== KEY_LEN * 2) {
    throw new ParseError(
      "key",
      `Cannot parse ${what}: want ${KEY_LEN * 2} hex digits, got ${hex.length}`,
    );
  }
  return fromHex(hex);
}
