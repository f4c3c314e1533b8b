/**
 * IPv4 header (RFC 791).
 *
 * ```
 *  0       4       8              16    19                        31
 * | ver=4 | IHL   | DSCP/ECN     | total length                    |
 * | identification               |flags| fragment offset (8 B units)|
 * | TTL           | protocol     | header checksum                 |
 * | source address                                                 |
 * | destination address                                            |
 * | options (IHL*4 - 20 bytes, 0..40)                              |
 * ```
 *
 * Hot path: {@linkcode isIpv4} checks every length once; the accessors after it trust it.
 * Control path and tests: {@linkcode parseIpv4} gives an {@linkcode Ipv4Header},
 * {@linkcode emitIpv4} writes one (checksum filled). Bytes after `total length` (link padding)
 * are ignored. Options are kept as raw bytes.
 *
 * @example Build a header, then read it back
 * ```ts
 * import { emitIpv4, ipv4Len, isIpv4, ipv4Ttl, parseIpv4 } from "./ipv4.ts";
 * const h = {
 *   tos: 0, id: 1, dontFragment: true, moreFragments: false, fragmentOffset: 0, ttl: 64,
 *   protocol: 17, src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]),
 *   options: new Uint8Array(0), payloadLen: 0,
 * };
 * const b = new Uint8Array(ipv4Len(h));
 * emitIpv4(h, b, 0);
 * if (!isIpv4(b, 0, b.length) || ipv4Ttl(b, 0) !== 64) throw new Error("bad");
 * if (parseIpv4(b, 0).dst[3] !== 2) throw new Error("bad");
 * ```
 * @module
 */

import { readU16be, writeU16be } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { checksumAdd, checksumFinish } from "./checksum.ts";

/** Length of a header without options. */
export const IPV4_HEADER_LEN = 20;
/** Longest header: IHL 15. */
export const IPV4_MAX_HEADER_LEN = 60;
/** Offset of the total-length field. */
export const IPV4_TOTAL_LEN_AT = 2;
/** Offset of the identification field. */
export const IPV4_ID_AT = 4;
/** Offset of the TTL byte. */
export const IPV4_TTL_AT = 8;
/** Offset of the protocol byte. */
export const IPV4_PROTOCOL_AT = 9;
/** Offset of the header checksum. */
export const IPV4_CHECKSUM_AT = 10;
/** Offset of the source address. */
export const IPV4_SRC_AT = 12;
/** Offset of the destination address. */
export const IPV4_DST_AT = 16;
const FLAGS_AT = 6;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;
const FORMAT = "ipv4";

/** The meaning of an IPv4 header (without its checksum, which emit computes). */
export interface Ipv4Header {
  /** The DSCP/ECN byte (old "type of service"). */
  tos: number;
  /** Identification. */
  id: number;
  /** Don't Fragment flag. */
  dontFragment: boolean;
  /** More Fragments flag. */
  moreFragments: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset: number;
  /** Time to live. */
  ttl: number;
  /** Upper-layer protocol number. */
  protocol: number;
  /** Source address, 4 bytes. */
  src: Uint8Array;
  /** Destination address, 4 bytes. */
  dst: Uint8Array;
  /** Raw option bytes, a multiple of 4, at most 40. */
  options: Uint8Array;
  /** Bytes after the header (total length − header length). */
  payloadLen: number;
}

/**
 * Whether `b[off..end)` starts with an IPv4 header whose header and total lengths are sane and
 * fit: version 4, IHL ≥ 5, IHL*4 ≤ total length, `off + total length ≤ end`. After true, every
 * accessor below is in bounds. The checksum is not checked (see {@linkcode ipv4ChecksumOk}).
 * @param b bytes @param off where the header starts @param end one past the last valid byte
 * @returns true when the accessors may be used
 */
export function isIpv4(b: Uint8Array, off: number, end: number): boolean {
  if (off < 0 || end > b.length || end - off < IPV4_HEADER_LEN) return false;
  const v = b[off];
  if (v >>> 4 !== 4) return false;
  const hl = (v & 0x0f) << 2;
  const total = readU16be(b, off + IPV4_TOTAL_LEN_AT);
  return hl >= IPV4_HEADER_LEN && hl <= total && off + total <= end;
}

/** Header length in bytes (IHL*4). Trusts {@linkcode isIpv4}. @param b bytes @param off header start @returns 20..60 */
export function ipv4HeaderLen(b: Uint8Array, off: number): number {
  return (b[off] & 0x0f) << 2;
}

/** The total-length field. Trusts {@linkcode isIpv4}. @param b bytes @param off header start @returns bytes */
export function ipv4TotalLen(b: Uint8Array, off: number): number {
  return readU16be(b, off + IPV4_TOTAL_LEN_AT);
}

/** Time to live. @param b bytes @param off header start @returns 0..255 */
export function ipv4Ttl(b: Uint8Array, off: number): number {
  return b[off + IPV4_TTL_AT];
}

/** Upper-layer protocol. @param b bytes @param off header start @returns 0..255 */
export function ipv4Protocol(b: Uint8Array, off: number): number {
  return b[off + IPV4_PROTOCOL_AT];
}

/** Identification. @param b bytes @param off header start @returns 0..65535 */
export function ipv4Id(b: Uint8Array, off: number): number {
  return readU16be(b, off + IPV4_ID_AT);
}

/** Whether Don't Fragment is set. @param b bytes @param off header start @returns the flag */
export function ipv4DontFragment(b: Uint8Array, off: number): boolean {
  return (readU16be(b, off + FLAGS_AT) & FLAG_DF) !== 0;
}

/** Whether More Fragments is set. @param b bytes @param off header start @returns the flag */
export function ipv4MoreFragments(b: Uint8Array, off: number): boolean {
  return (readU16be(b, off + FLAGS_AT) & FLAG_MF) !== 0;
}

/** Fragment offset in bytes. @param b bytes @param off header start @returns a multiple of 8 */
export function ipv4FragmentOffset(b: Uint8Array, off: number): number {
  return (readU16be(b, off + FLAGS_AT) & FRAG_OFFSET_MASK) << 3;
}

/**
 * Whether the packet is a fragment (first, middle or last): MF set or a non-zero offset.
 * @param b bytes @param off header start
 * @returns true for any fragment of a larger datagram
 */
export function ipv4IsFragment(b: Uint8Array, off: number): boolean {
  return (readU16be(b, off + FLAGS_AT) & (FLAG_MF | FRAG_OFFSET_MASK)) !== 0;
}

/**
 * Whether the header checksum is correct. Trusts {@linkcode isIpv4}.
 * @param b bytes @param off header start
 * @returns true when the header sums to 0xffff
 */
export function ipv4ChecksumOk(b: Uint8Array, off: number): boolean {
  return checksumFinish(checksumAdd(0, b, off, off + ipv4HeaderLen(b, off))) === 0;
}

/**
 * Computes and writes the header checksum. Trusts {@linkcode isIpv4} (or an emit).
 * @param b bytes @param off header start
 * @returns the checksum written
 */
export function fillIpv4Checksum(b: Uint8Array, off: number): number {
  b[off + IPV4_CHECKSUM_AT] = 0;
  b[off + IPV4_CHECKSUM_AT + 1] = 0;
  const c = checksumFinish(checksumAdd(0, b, off, off + ipv4HeaderLen(b, off)));
  writeU16be(b, off + IPV4_CHECKSUM_AT, c);
  return c;
}

/** Options for {@linkcode parseIpv4}. */
export interface ParseIpv4Options {
  /** Accept a wrong header checksum (for fuzzing and for headers quoted in ICMP errors). */
  ignoreChecksum?: boolean;
}

/**
 * Parses and validates the header at `off`; the payload must be present up to total length.
 * @param b bytes @param off header start
 * @param opts checksum handling
 * @returns the header's meaning (addresses and options copied)
 * @throws {ParseError} when a length is impossible, the version is not 4, or the checksum is wrong
 */
export function parseIpv4(b: Uint8Array, off: number, opts: ParseIpv4Options = {}): Ipv4Header {
  if (b.length - off < IPV4_HEADER_LEN) {
    throw new ParseError(FORMAT, `Cannot parse IPv4 header: ${b.length - off} bytes`, off);
  }
  if (b[off] >>> 4 !== 4) {
    throw new ParseError(FORMAT, `Cannot parse IPv4 header: version ${b[off] >>> 4}`, off);
  }
  const hl = ipv4HeaderLen(b, off);
  const total = ipv4TotalLen(b, off);
  if (hl < IPV4_HEADER_LEN || hl > total) {
    throw new ParseError(FORMAT, `Cannot parse IPv4 header: IHL ${hl} with total ${total}`, off);
  }
  if (off + total > b.length) {
    throw new ParseError(
      FORMAT,
      `Cannot parse IPv4 packet: total length ${total} exceeds ${b.length - off} bytes`,
      off + IPV4_TOTAL_LEN_AT,
    );
  }
  if (!opts.ignoreChecksum && !ipv4ChecksumOk(b, off)) {
    throw new ParseError(FORMAT, "Cannot parse IPv4 header: bad checksum", off + IPV4_CHECKSUM_AT);
  }
  const flags = readU16be(b, off + FLAGS_AT);
  return {
    tos: b[off + 1],
    id: ipv4Id(b, off),
    dontFragment: (flags & FLAG_DF) !== 0,
    moreFragments: (flags & FLAG_MF) !== 0,
    fragmentOffset: (flags & FRAG_OFFSET_MASK) << 3,
    ttl: b[off + IPV4_TTL_AT],
    protocol: b[off + IPV4_PROTOCOL_AT],
    src: b.slice(off + IPV4_SRC_AT, off + IPV4_SRC_AT + 4),
    dst: b.slice(off + IPV4_DST_AT, off + IPV4_DST_AT + 4),
    options: b.slice(off + IPV4_HEADER_LEN, off + hl),
    payloadLen: total - hl,
  };
}

/**
 * Bytes {@linkcode emitIpv4} writes: the header with its options.
 * @param h the header
 * @returns 20..60
 */
export function ipv4Len(h: Ipv4Header): number {
  return IPV4_HEADER_LEN + h.options.length;
}

/**
 * Writes the header at `off` with its checksum; the payload is the caller's to place after it.
 * @param h the header @param out destination @param off where to write
 * @returns the offset after the header
 * @throws {RangeError} on a field out of range or too little room
 */
export function emitIpv4(h: Ipv4Header, out: Uint8Array, off: number): number {
  const hl = ipv4Len(h);
  const total = hl + h.payloadLen;
  if (h.options.length % 4 !== 0 || hl > IPV4_MAX_HEADER_LEN) {
    throw new RangeError(`Cannot emit IPv4 header: ${h.options.length} option bytes`);
  }
  if (h.src.length !== 4 || h.dst.length !== 4) {
    throw new RangeError("Cannot emit IPv4 header: addresses must be 4 bytes");
  }
  if (total > 0xffff || h.fragmentOffset % 8 !== 0 || h.fragmentOffset > FRAG_OFFSET_MASK << 3) {
    throw new RangeError(
      `Cannot emit IPv4 header: total ${total}, fragment offset ${h.fragmentOffset}`,
    );
  }
  if (out.length - off < hl) {
    throw new RangeError(`Cannot emit IPv4 header: ${hl} bytes into ${out.length - off}`);
  }
  out[off] = 0x40 | (hl >>> 2);
  out[off + 1] = h.tos;
  writeU16be(out, off + IPV4_TOTAL_LEN_AT, total);
  writeU16be(out, off + IPV4_ID_AT, h.id);
  writeU16be(
    out,
    off + FLAGS_AT,
    (h.dontFragment ? FLAG_DF : 0) | (h.moreFragments ? FLAG_MF : 0) | (h.fragmentOffset >>> 3),
  );
  out[off + IPV4_TTL_AT] = h.ttl;
  out[off + IPV4_PROTOCOL_AT] = h.protocol;
  out.set(h.src, off + IPV4_SRC_AT);
  out.set(h.dst, off + IPV4_DST_AT);
  out.set(h.options, off + IPV4_HEADER_LEN);
  fillIpv4Checksum(out, off);
  return off + hl;
}
