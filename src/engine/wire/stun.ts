/**
 * STUN (RFC 5389) as Tailscale uses it: a binding request to a DERP node's STUN port, and the
 * binding success response naming the `ip:port` our datagram came from. Facts from tailscale's
 * `net/stun/stun.go` (v1.98.10):
 *
 * ```
 * header (20): type (BE16) | attrs length (BE16) | magic cookie 0x2112A442 | txid (12)
 * attribute:   type (BE16) | length (BE16) | value, padded to 4 bytes
 * request:  type 0x0001 | SOFTWARE 0x8022 "tailnode" (8 bytes, no padding) | FINGERPRINT 0x8028
 *           (CRC-32 of everything before it, XOR 0x5354554e)                    40 bytes
 * response: type 0x0101 | XOR-MAPPED-ADDRESS 0x0020 (or 0x8020): 0 | family (1 v4, 2 v6) |
 *           port ^ 0x2112 | address ^ (cookie | txid); MAPPED-ADDRESS 0x0001 plain, the fallback
 * ```
 *
 * What Go does that matters here: a STUN packet is one whose top two bits are zero and whose
 * bytes 4..8 are the magic cookie (how magicsock tells STUN from WireGuard and disco on the
 * one socket); bytes past the header's attribute length are ignored; an attribute running past
 * the end is malformed; XOR-MAPPED-ADDRESS wins over MAPPED-ADDRESS; IPv4-mapped IPv6 is
 * unmapped. Go's responses carry no FINGERPRINT; when one is present we check it (RFC 5389
 * §15.5), and the caller's transaction ID must match.
 *
 * @example A request and the txid it carries
 * ```ts
 * import { emitStunRequest, STUN_REQUEST_LEN, stunTxid } from "./stun.ts";
 * const txid = new Uint8Array(12).fill(7);
 * const b = new Uint8Array(STUN_REQUEST_LEN);
 * emitStunRequest(txid, b, 0);
 * if (stunTxid(b)[0] !== 7) throw new Error("bad");
 * ```
 * @module
 */
import { readU16be, readU32be, writeU16be, writeU32be } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";

/** STUN header length. */
export const STUN_HEADER_LEN = 20;
/** Transaction ID length. */
export const STUN_TXID_LEN = 12;
/** The magic cookie, bytes 4..8 of every STUN message. */
export const STUN_MAGIC_COOKIE = 0x2112a442;
/** Length of the binding request {@linkcode emitStunRequest} writes. */
export const STUN_REQUEST_LEN = 40;

const TYPE_BINDING_REQUEST = 0x0001;
const TYPE_BINDING_SUCCESS = 0x0101;
const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_XOR_MAPPED_ADDRESS_ALT = 0x8020;
const ATTR_SOFTWARE = 0x8022;
const ATTR_FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;
const FINGERPRINT_ATTR_LEN = 8;
const SOFTWARE = new TextEncoder().encode("tailnode");
const FAMILY_V4 = 1;
const FAMILY_V6 = 2;
const FORMAT = "stun";

/** Why a STUN response was refused: one name per failure. */
export type StunFailure =
  /** Shorter than a header, top bits set, or no magic cookie. */
  | "not-stun"
  /** A STUN message, but not a binding success response. */
  | "not-success"
  /** An attribute runs past the end, or an address attribute is short or of no family. */
  | "malformed-attrs"
  /** A FINGERPRINT attribute whose CRC does not match the bytes before it. */
  | "bad-fingerprint"
  /** Neither XOR-MAPPED-ADDRESS nor MAPPED-ADDRESS. */
  | "no-address"
  /** Not the transaction we asked about. */
  | "txid-mismatch";

/** A STUN response that will not parse; `failure` names the reason. */
export class StunParseError extends ParseError {
  /** Which check failed. */
  readonly failure: StunFailure;

  /**
   * @param failure which check failed
   * @param message one line
   * @param offset where, when known
   */
  constructor(failure: StunFailure, message: string, offset?: number) {
    super(FORMAT, message, offset);
    this.name = "StunParseError";
    this.failure = failure;
  }
}

/** A parsed binding success response. */
export interface StunResponse {
  /** The transaction ID (12 bytes, a copy). */
  txid: Uint8Array;
  /** The address the server saw us from: 4 or 16 bytes (IPv4-mapped IPv6 unmapped). */
  ip: Uint8Array;
  /** The port the server saw us from. */
  port: number;
}

/**
 * Whether a datagram is STUN: at least a header, top two bits zero, the magic cookie at 4.
 * @param b the datagram
 * @returns true for STUN
 */
export function isStun(b: Uint8Array): boolean {
  return b.length >= STUN_HEADER_LEN && (b[0] & 0xc0) === 0 &&
    b[4] === 0x21 && b[5] === 0x12 && b[6] === 0xa4 && b[7] === 0x42;
}

/**
 * The transaction ID of a STUN message (a view, not a copy).
 * @param b a message of at least a header
 * @returns its 12 bytes
 */
export function stunTxid(b: Uint8Array): Uint8Array {
  return b.subarray(8, 8 + STUN_TXID_LEN);
}

/**
 * Writes a binding request as tailscaled sends it: SOFTWARE "tailnode" and FINGERPRINT.
 * @param txid 12 random bytes
 * @param out where to write; needs {@linkcode STUN_REQUEST_LEN} bytes at `at`
 * @param at offset
 * @returns bytes written
 */
export function emitStunRequest(txid: Uint8Array, out: Uint8Array, at: number): number {
  if (txid.length !== STUN_TXID_LEN) throw new RangeError("STUN txid must be 12 bytes");
  if (out.length - at < STUN_REQUEST_LEN) throw new RangeError("STUN request: buffer too short");
  let o = at;
  o = writeU16be(out, o, TYPE_BINDING_REQUEST);
  o = writeU16be(out, o, STUN_REQUEST_LEN - STUN_HEADER_LEN);
  o = writeU32be(out, o, STUN_MAGIC_COOKIE);
  out.set(txid, o);
  o += STUN_TXID_LEN;
  o = writeU16be(out, o, ATTR_SOFTWARE);
  o = writeU16be(out, o, SOFTWARE.length);
  out.set(SOFTWARE, o);
  o += SOFTWARE.length;
  const fp = fingerprint(out.subarray(at, o));
  o = writeU16be(out, o, ATTR_FINGERPRINT);
  o = writeU16be(out, o, 4);
  o = writeU32be(out, o, fp);
  return o - at;
}

/**
 * A fresh binding request.
 * @param txid 12 random bytes
 * @returns the request bytes
 */
export function stunRequest(txid: Uint8Array): Uint8Array {
  const b = new Uint8Array(STUN_REQUEST_LEN);
  emitStunRequest(txid, b, 0);
  return b;
}

/**
 * Parses a binding success response.
 * @param b the datagram
 * @param expectTxid when given, the transaction we asked about: another one is refused
 * @returns the transaction ID and the mapped address
 * @throws {StunParseError} naming the failed check
 */
export function parseStunResponse(b: Uint8Array, expectTxid?: Uint8Array): StunResponse {
  if (!isStun(b)) throw new StunParseError("not-stun", "not a STUN message", 0);
  const type = readU16be(b, 0);
  if (type !== TYPE_BINDING_SUCCESS) {
    throw new StunParseError(
      "not-success",
      `STUN type 0x${type.toString(16).padStart(4, "0")} is not a binding success response`,
      0,
    );
  }
  const txid = stunTxid(b).slice();
  if (expectTxid !== undefined && !sameBytes(txid, expectTxid)) {
    throw new StunParseError("txid-mismatch", "STUN response for another transaction", 8);
  }
  const attrsLen = readU16be(b, 2);
  if (STUN_HEADER_LEN + attrsLen > b.length) {
    throw new StunParseError(
      "malformed-attrs",
      `STUN attributes length ${attrsLen} exceeds the ${b.length - STUN_HEADER_LEN} bytes left`,
      2,
    );
  }
  const end = STUN_HEADER_LEN + attrsLen; // bytes after it are ignored, as Go does
  let xorAddr: { ip: Uint8Array; port: number } | null = null;
  let plainAddr: { ip: Uint8Array; port: number } | null = null;
  let o = STUN_HEADER_LEN;
  while (o < end) {
    if (end - o < 4) throw new StunParseError("malformed-attrs", "truncated STUN attribute", o);
    const attrType = readU16be(b, o);
    const len = readU16be(b, o + 2);
    const padded = (len + 3) & ~3;
    const v = o + 4;
    if (v + padded > end) {
      throw new StunParseError("malformed-attrs", "STUN attribute runs past the end", o);
    }
    const value = b.subarray(v, v + len);
    if (attrType === ATTR_XOR_MAPPED_ADDRESS || attrType === ATTR_XOR_MAPPED_ADDRESS_ALT) {
      xorAddr = readAddress(value, v, txid);
    } else if (attrType === ATTR_MAPPED_ADDRESS) {
      plainAddr = readAddress(value, v, null);
    } else if (attrType === ATTR_FINGERPRINT) {
      if (len !== 4 || readU32be(value, 0) !== fingerprint(b.subarray(0, o))) {
        throw new StunParseError("bad-fingerprint", "STUN fingerprint does not match", o);
      }
    }
    o = v + padded;
  }
  const addr = xorAddr ?? plainAddr;
  if (addr === null) {
    throw new StunParseError("no-address", "STUN response names no mapped address");
  }
  return { txid, ip: addr.ip, port: addr.port };
}

/**
 * Reads a (XOR-)MAPPED-ADDRESS value: 0 | family | port | address.
 * @param value the attribute value
 * @param at its offset, for errors
 * @param txid the transaction ID for XOR-MAPPED-ADDRESS, null for the plain one
 */
function readAddress(
  value: Uint8Array,
  at: number,
  txid: Uint8Array | null,
): { ip: Uint8Array; port: number } {
  if (value.length < 4) throw new StunParseError("malformed-attrs", "short STUN address", at);
  const family = value[1];
  const ipLen = family === FAMILY_V4 ? 4 : family === FAMILY_V6 ? 16 : 0;
  if (ipLen === 0) {
    throw new StunParseError("malformed-attrs", `STUN address family ${family} unknown`, at + 1);
  }
  if (value.length < 4 + ipLen) {
    throw new StunParseError("malformed-attrs", "short STUN address", at);
  }
  let port = readU16be(value, 2);
  const ip = value.slice(4, 4 + ipLen);
  if (txid !== null) {
    port ^= STUN_MAGIC_COOKIE >>> 16;
    for (let i = 0; i < ipLen; i++) {
      ip[i] ^= i < 4 ? (STUN_MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff : txid[i - 4];
    }
  }
  return { ip: unmap(ip), port };
}

function unmap(ip: Uint8Array): Uint8Array {
  if (ip.length !== 16) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return ip;
  if (ip[10] !== 0xff || ip[11] !== 0xff) return ip;
  return ip.slice(12);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * STUN's FINGERPRINT: CRC-32 (IEEE) of the message up to the attribute, XOR 0x5354554e. The
 * CRC covers a header whose length already counts the FINGERPRINT attribute (RFC 5389 §15.5).
 * @param prefix the message bytes before the FINGERPRINT attribute
 */
function fingerprint(prefix: Uint8Array): number {
  const len = prefix.length - STUN_HEADER_LEN + FINGERPRINT_ATTR_LEN;
  let c = 0xffffffff;
  for (let i = 0; i < prefix.length; i++) {
    const byte = i === 2 ? len >>> 8 : i === 3 ? len & 0xff : prefix[i];
    c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  }
  return ((c ^ 0xffffffff) ^ FINGERPRINT_XOR) >>> 0;
}
