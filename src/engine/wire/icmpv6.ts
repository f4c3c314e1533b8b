/**
 * ICMP for IPv6 (RFC 4443).
 *
 * ```
 * | type (8) | code (8) | checksum (16) |
 * | rest of header (32): echo = identifier (16) + sequence (16); packet too big = MTU (32);
 * |   parameter problem = pointer (32); destination unreachable, time exceeded = unused |
 * | data: echo payload, or as much of the original packet as fits in 1280 bytes |
 * ```
 *
 * The checksum covers an IPv6 pseudo-header (addresses, length, next header 58) and the whole
 * message, so parse and emit take the addresses. Neighbour discovery, MLD and the rest come
 * back as `{ type: "other" }` with their bytes.
 *
 * @example An echo reply, emitted then parsed
 * ```ts
 * import { emitIcmpv6, icmpv6Len, parseIcmpv6 } from "./icmpv6.ts";
 * const ph = { src: new Uint8Array(16), dst: new Uint8Array(16) };
 * const m = { type: "echo-reply" as const, ident: 7, seq: 2, data: new Uint8Array(0) };
 * const b = new Uint8Array(icmpv6Len(m));
 * emitIcmpv6(m, b, 0, ph);
 * const p = parseIcmpv6(b, 0, b.length, ph);
 * if (p.type !== "echo-reply" || p.seq !== 2) throw new Error("bad");
 * ```
 * @module
 */

import { readU16be, readU32be, writeU16be, writeU32be } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { checksumAdd, checksumFinish, type PseudoHeader, pseudoHeaderSum } from "./checksum.ts";
import { IP_PROTO_ICMPV6 } from "./ip_proto.ts";

/** Header length (type, code, checksum, rest of header). */
export const ICMPV6_HEADER_LEN = 8;
/** Type: destination unreachable. */
export const ICMPV6_DEST_UNREACHABLE = 1;
/** Type: packet too big. */
export const ICMPV6_PACKET_TOO_BIG = 2;
/** Type: time exceeded. */
export const ICMPV6_TIME_EXCEEDED = 3;
/** Type: parameter problem. */
export const ICMPV6_PARAMETER_PROBLEM = 4;
/** Type: echo request. */
export const ICMPV6_ECHO_REQUEST = 128;
/** Type: echo reply. */
export const ICMPV6_ECHO_REPLY = 129;
/** Destination-unreachable code: no route. */
export const ICMPV6_CODE_NO_ROUTE = 0;
/** Destination-unreachable code: administratively prohibited. */
export const ICMPV6_CODE_ADMIN_PROHIBITED = 1;
/** Destination-unreachable code: address unreachable. */
export const ICMPV6_CODE_ADDRESS_UNREACHABLE = 3;
/** Destination-unreachable code: port unreachable. */
export const ICMPV6_CODE_PORT_UNREACHABLE = 4;
/** Offset of the checksum. */
export const ICMPV6_CHECKSUM_AT = 2;
/** An ICMPv6 error must fit in the IPv6 minimum MTU (RFC 4443 §2.4 (c)). */
export const ICMPV6_ERROR_MAX_PACKET = 1280;
const FORMAT = "icmpv6";

/** An ICMPv6 message, in a closed union tagged by `type`. */
export type Icmpv6Message =
  | {
    type: "echo-request" | "echo-reply";
    /** Identifier. */
    ident: number;
    /** Sequence number. */
    seq: number;
    /** Echo data (a view into the parsed buffer). */
    data: Uint8Array;
  }
  | {
    type: "dest-unreachable" | "time-exceeded";
    /** Code. */
    code: number;
    /** The quoted original packet. */
    original: Uint8Array;
  }
  | {
    type: "packet-too-big";
    /** Code (0). */
    code: number;
    /** MTU of the next hop. */
    mtu: number;
    /** The quoted original packet. */
    original: Uint8Array;
  }
  | {
    type: "parameter-problem";
    /** Code. */
    code: number;
    /** Offset of the problem in the original packet. */
    pointer: number;
    /** The quoted original packet. */
    original: Uint8Array;
  }
  | {
    type: "other";
    /** The type byte. */
    icmpType: number;
    /** The code byte. */
    code: number;
    /** The four rest-of-header bytes as a u32. */
    rest: number;
    /** Everything after the header. */
    data: Uint8Array;
  };

/**
 * Whether `b[off..end)` can hold an ICMPv6 header; the accessors below trust it.
 * @param b bytes @param off message start @param end one past its last byte
 * @returns true when at least 8 bytes are there
 */
export function isIcmpv6(b: Uint8Array, off: number, end: number): boolean {
  return off >= 0 && end <= b.length && end - off >= ICMPV6_HEADER_LEN;
}

/** The type byte. @param b bytes @param off message start @returns 0..255 */
export function icmpv6Type(b: Uint8Array, off: number): number {
  return b[off];
}

/** The code byte. @param b bytes @param off message start @returns 0..255 */
export function icmpv6Code(b: Uint8Array, off: number): number {
  return b[off + 1];
}

/**
 * Whether the checksum over `b[off..end)` is right.
 * @param b bytes @param off message start @param end message end
 * @param pseudoSum from `pseudoHeaderSumAt(packet, 8, 24, 16, 58, end - off)`
 * @returns true when valid
 */
export function icmpv6ChecksumOk(
  b: Uint8Array,
  off: number,
  end: number,
  pseudoSum: number,
): boolean {
  return checksumFinish(checksumAdd(pseudoSum, b, off, end)) === 0;
}

/**
 * Computes and writes the checksum over `b[off..end)`.
 * @param b bytes @param off message start @param end message end @param pseudoSum pseudo-header sum
 * @returns the value written
 */
export function fillIcmpv6Checksum(
  b: Uint8Array,
  off: number,
  end: number,
  pseudoSum: number,
): number {
  writeU16be(b, off + ICMPV6_CHECKSUM_AT, 0);
  const c = checksumFinish(checksumAdd(pseudoSum, b, off, end));
  writeU16be(b, off + ICMPV6_CHECKSUM_AT, c);
  return c;
}

/**
 * Parses the message occupying `b[off..end)`.
 * @param b bytes @param off message start @param end message end
 * @param ph the IPv6 addresses, to verify the checksum; without it the checksum is not checked
 * @returns the message (data views into `b`)
 * @throws {ParseError} when shorter than 8 bytes or the checksum is wrong
 */
export function parseIcmpv6(
  b: Uint8Array,
  off: number,
  end: number,
  ph?: PseudoHeader,
): Icmpv6Message {
  if (!isIcmpv6(b, off, end)) {
    throw new ParseError(FORMAT, `Cannot parse ICMPv6 message: ${end - off} bytes`, off);
  }
  if (ph) {
    const sum = pseudoHeaderSum(ph.src, ph.dst, IP_PROTO_ICMPV6, end - off);
    if (!icmpv6ChecksumOk(b, off, end, sum)) {
      throw new ParseError(FORMAT, "Cannot parse ICMPv6 message: bad checksum", off + 2);
    }
  }
  const type = b[off];
  const code = b[off + 1];
  const rest = readU32be(b, off + 4);
  const data = b.subarray(off + ICMPV6_HEADER_LEN, end);
  switch (type) {
    case ICMPV6_ECHO_REQUEST:
    case ICMPV6_ECHO_REPLY:
      if (code !== 0) break;
      return {
        type: type === ICMPV6_ECHO_REQUEST ? "echo-request" : "echo-reply",
        ident: readU16be(b, off + 4),
        seq: readU16be(b, off + 6),
        data,
      };
    case ICMPV6_DEST_UNREACHABLE:
    case ICMPV6_TIME_EXCEEDED:
      if (rest !== 0) break;
      return {
        type: type === ICMPV6_DEST_UNREACHABLE ? "dest-unreachable" : "time-exceeded",
        code,
        original: data,
      };
    case ICMPV6_PACKET_TOO_BIG:
      return { type: "packet-too-big", code, mtu: rest, original: data };
    case ICMPV6_PARAMETER_PROBLEM:
      return { type: "parameter-problem", code, pointer: rest, original: data };
  }
  return { type: "other", icmpType: type, code, rest, data };
}

/**
 * Bytes {@linkcode emitIcmpv6} writes.
 * @param m the message
 * @returns 8 + data length
 */
export function icmpv6Len(m: Icmpv6Message): number {
  switch (m.type) {
    case "echo-request":
    case "echo-reply":
    case "other":
      return ICMPV6_HEADER_LEN + m.data.length;
    default:
      return ICMPV6_HEADER_LEN + m.original.length;
  }
}

/**
 * Writes the message; with `ph` its checksum is filled, without it is left 0.
 * @param m the message @param out destination @param off where to write
 * @param ph the IPv6 addresses the checksum covers
 * @returns the offset after it
 * @throws {RangeError} when it does not fit
 */
export function emitIcmpv6(
  m: Icmpv6Message,
  out: Uint8Array,
  off: number,
  ph?: PseudoHeader,
): number {
  const len = icmpv6Len(m);
  if (out.length - off < len) {
    throw new RangeError(`Cannot emit ICMPv6 message: ${len} bytes into ${out.length - off}`);
  }
  switch (m.type) {
    case "echo-request":
    case "echo-reply":
      out[off] = m.type === "echo-request" ? ICMPV6_ECHO_REQUEST : ICMPV6_ECHO_REPLY;
      out[off + 1] = 0;
      writeU16be(out, off + 4, m.ident);
      writeU16be(out, off + 6, m.seq);
      out.set(m.data, off + ICMPV6_HEADER_LEN);
      break;
    case "dest-unreachable":
    case "time-exceeded":
      out[off] = m.type === "dest-unreachable" ? ICMPV6_DEST_UNREACHABLE : ICMPV6_TIME_EXCEEDED;
      out[off + 1] = m.code;
      writeU32be(out, off + 4, 0);
      out.set(m.original, off + ICMPV6_HEADER_LEN);
      break;
    case "packet-too-big":
    case "parameter-problem":
      out[off] = m.type === "packet-too-big" ? ICMPV6_PACKET_TOO_BIG : ICMPV6_PARAMETER_PROBLEM;
      out[off + 1] = m.code;
      writeU32be(out, off + 4, m.type === "packet-too-big" ? m.mtu : m.pointer);
      out.set(m.original, off + ICMPV6_HEADER_LEN);
      break;
    case "other":
      out[off] = m.icmpType;
      out[off + 1] = m.code;
      writeU32be(out, off + 4, m.rest);
      out.set(m.data, off + ICMPV6_HEADER_LEN);
      break;
  }
  writeU16be(out, off + ICMPV6_CHECKSUM_AT, 0);
  if (ph) {
    fillIcmpv6Checksum(out, off, off + len, pseudoHeaderSum(ph.src, ph.dst, IP_PROTO_ICMPV6, len));
  }
  return off + len;
}
