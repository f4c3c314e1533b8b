/**
 * UDP header (RFC 768; over IPv6, RFC 8200 §8.1).
 *
 * ```
 * | source port (16) | destination port (16) |
 * | length (16)      | checksum (16)         |   length covers header and data, >= 8
 * ```
 *
 * The checksum covers a pseudo-header of the IP addresses, protocol 17 and the UDP length.
 * Over IPv4 a zero checksum means "not computed" and is accepted; a computed 0 is sent as
 * 0xffff. Over IPv6 a zero checksum is invalid. Bytes after `length` are ignored.
 *
 * @example Emit a datagram and parse it back
 * ```ts
 * import { emitUdp, parseUdp, udpLen } from "./udp.ts";
 * const ph = { src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]) };
 * const d = { srcPort: 5000, dstPort: 53, payload: new Uint8Array([1, 2, 3]) };
 * const b = new Uint8Array(udpLen(d));
 * emitUdp(d, b, 0, ph);
 * if (parseUdp(b, 0, b.length, ph).dstPort !== 53) throw new Error("bad");
 * ```
 * @module
 */

import { readU16be, writeU16be } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { checksumAdd, checksumFinish, type PseudoHeader, pseudoHeaderSum } from "./checksum.ts";
import { IP_PROTO_UDP } from "./ip_proto.ts";

/** Header length. */
export const UDP_HEADER_LEN = 8;
/** Offset of the length field. */
export const UDP_LENGTH_AT = 4;
/** Offset of the checksum field. */
export const UDP_CHECKSUM_AT = 6;
const FORMAT = "udp";

/** The meaning of a UDP datagram. */
export interface UdpDatagram {
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** The data; from {@linkcode parseUdp} a view into the parsed buffer. */
  payload: Uint8Array;
}

/**
 * Whether `b[off..end)` holds a UDP header whose length field is at least 8 and fits.
 * @param b bytes @param off header start @param end one past the last valid byte
 * @returns true when the accessors may be used
 */
export function isUdp(b: Uint8Array, off: number, end: number): boolean {
  if (off < 0 || end > b.length || end - off < UDP_HEADER_LEN) return false;
  const len = readU16be(b, off + UDP_LENGTH_AT);
  return len >= UDP_HEADER_LEN && off + len <= end;
}

/** Source port. @param b bytes @param off header start @returns 0..65535 */
export function udpSrcPort(b: Uint8Array, off: number): number {
  return readU16be(b, off);
}

/** Destination port. @param b bytes @param off header start @returns 0..65535 */
export function udpDstPort(b: Uint8Array, off: number): number {
  return readU16be(b, off + 2);
}

/** The length field (header plus data). @param b bytes @param off header start @returns bytes */
export function udpLength(b: Uint8Array, off: number): number {
  return readU16be(b, off + UDP_LENGTH_AT);
}

/**
 * Whether the checksum is right. Trusts {@linkcode isUdp}.
 * @param b bytes @param off header start
 * @param pseudoSum from `pseudoHeaderSumAt(packet, srcAt, dstAt, addrLen, 17, udpLength)`
 * @param v6 true over IPv6, where a zero checksum is wrong rather than absent
 * @returns true when valid (or absent over IPv4)
 */
export function udpChecksumOk(b: Uint8Array, off: number, pseudoSum: number, v6: boolean): boolean {
  const stored = readU16be(b, off + UDP_CHECKSUM_AT);
  if (stored === 0) return !v6;
  return checksumFinish(checksumAdd(pseudoSum, b, off, off + udpLength(b, off))) === 0;
}

/**
 * Computes and writes the checksum. Trusts {@linkcode isUdp}.
 * @param b bytes @param off header start @param pseudoSum the pseudo-header sum
 * @returns the value written (never 0)
 */
export function fillUdpChecksum(b: Uint8Array, off: number, pseudoSum: number): number {
  writeU16be(b, off + UDP_CHECKSUM_AT, 0);
  const c = checksumFinish(checksumAdd(pseudoSum, b, off, off + udpLength(b, off))) || 0xffff;
  writeU16be(b, off + UDP_CHECKSUM_AT, c);
  return c;
}

/**
 * Parses a datagram at `off`.
 * @param b bytes @param off header start @param end one past the last byte (the IP payload's end)
 * @param ph the IP addresses, to verify the checksum; without it the checksum is not checked
 * @returns the datagram (payload is a view into `b`)
 * @throws {ParseError} on an impossible length or a bad checksum
 */
export function parseUdp(b: Uint8Array, off: number, end: number, ph?: PseudoHeader): UdpDatagram {
  if (end > b.length || end - off < UDP_HEADER_LEN) {
    throw new ParseError(FORMAT, `Cannot parse UDP header: ${end - off} bytes`, off);
  }
  const len = udpLength(b, off);
  if (len < UDP_HEADER_LEN || off + len > end) {
    throw new ParseError(
      FORMAT,
      `Cannot parse UDP datagram: length ${len} with ${end - off} bytes`,
      off + UDP_LENGTH_AT,
    );
  }
  if (ph) {
    const v6 = ph.src.length === 16;
    if (!udpChecksumOk(b, off, pseudoHeaderSum(ph.src, ph.dst, IP_PROTO_UDP, len), v6)) {
      throw new ParseError(
        FORMAT,
        "Cannot parse UDP datagram: bad checksum",
        off + UDP_CHECKSUM_AT,
      );
    }
  }
  return {
    srcPort: udpSrcPort(b, off),
    dstPort: udpDstPort(b, off),
    payload: b.subarray(off + UDP_HEADER_LEN, off + len),
  };
}

/**
 * Bytes {@linkcode emitUdp} writes.
 * @param d the datagram
 * @returns 8 + payload length
 */
export function udpLen(d: UdpDatagram): number {
  return UDP_HEADER_LEN + d.payload.length;
}

/**
 * Writes header and payload. With `ph` the checksum is filled; without, it is left 0 (only
 * valid over IPv4).
 * @param d the datagram @param out destination @param off where to write
 * @param ph the IP addresses the checksum covers
 * @returns the offset after the payload
 * @throws {RangeError} when the datagram is too long or does not fit
 */
export function emitUdp(d: UdpDatagram, out: Uint8Array, off: number, ph?: PseudoHeader): number {
  const len = udpLen(d);
  if (len > 0xffff) throw new RangeError(`Cannot emit UDP datagram: length ${len}`);
  if (out.length - off < len) {
    throw new RangeError(`Cannot emit UDP datagram: ${len} bytes into ${out.length - off}`);
  }
  writeU16be(out, off, d.srcPort);
  writeU16be(out, off + 2, d.dstPort);
  writeU16be(out, off + UDP_LENGTH_AT, len);
  writeU16be(out, off + UDP_CHECKSUM_AT, 0);
  out.set(d.payload, off + UDP_HEADER_LEN);
  if (ph) fillUdpChecksum(out, off, pseudoHeaderSum(ph.src, ph.dst, IP_PROTO_UDP, len));
  return off + len;
}
