/**
 * ICMP for IPv4 (RFC 792, RFC 1191 for the next-hop MTU).
 *
 * ```
 * | type (8) | code (8) | checksum (16) |
 * | rest of header (32): echo = identifier (16) + sequence (16);
 * |   destination unreachable = unused (16) + next-hop MTU (16); time exceeded = unused |
 * | data: echo payload, or the original IP header + at least 8 bytes of its payload |
 * ```
 *
 * The checksum covers the whole ICMP message (no pseudo-header). ICMP has no length field: a
 * message runs to the end of its IP payload, so parse takes `end`.
 *
 * @example An echo request, emitted then parsed
 * ```ts
 * import { emitIcmpv4, icmpv4Len, parseIcmpv4 } from "./icmpv4.ts";
 * const m = { type: "echo-request" as const, ident: 7, seq: 1, data: new Uint8Array(4) };
 * const b = new Uint8Array(icmpv4Len(m));
 * emitIcmpv4(m, b, 0);
 * const p = parseIcmpv4(b, 0, b.length);
 * if (p.type !== "echo-request" || p.seq !== 1) throw new Error("bad");
 * ```
 * @module
 */

import { readU16be, readU32be, writeU16be, writeU32be } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { checksumAdd, checksumFinish } from "./checksum.ts";

/** Header length (type, code, checksum, rest of header). */
export const ICMPV4_HEADER_LEN = 8;
/** Type: echo reply. */
export const ICMPV4_ECHO_REPLY = 0;
/** Type: destination unreachable. */
export const ICMPV4_DEST_UNREACHABLE = 3;
/** Type: echo request. */
export const ICMPV4_ECHO_REQUEST = 8;
/** Type: time exceeded. */
export const ICMPV4_TIME_EXCEEDED = 11;
/** Destination-unreachable code: network unreachable. */
export const ICMPV4_CODE_NET_UNREACHABLE = 0;
/** Destination-unreachable code: host unreachable. */
export const ICMPV4_CODE_HOST_UNREACHABLE = 1;
/** Destination-unreachable code: protocol unreachable. */
export const ICMPV4_CODE_PROTOCOL_UNREACHABLE = 2;
/** Destination-unreachable code: port unreachable. */
export const ICMPV4_CODE_PORT_UNREACHABLE = 3;
/** Destination-unreachable code: fragmentation needed and DF set (carries the next-hop MTU). */
export const ICMPV4_CODE_FRAG_NEEDED = 4;
/** Destination-unreachable code: administratively prohibited (RFC 1812). */
export const ICMPV4_CODE_ADMIN_PROHIBITED = 13;
/** Offset of the checksum. */
export const ICMPV4_CHECKSUM_AT = 2;
const FORMAT = "icmpv4";

/** An ICMPv4 message, in a closed union tagged by `type`. */
export type Icmpv4Message =
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
    type: "dest-unreachable";
    /** Code: `ICMPV4_CODE_*`. */
    code: number;
    /** Next-hop MTU (RFC 1191), meaningful for code 4; 0 otherwise. */
    mtu: number;
    /** The quoted original packet: its IP header and at least 8 bytes after it. */
    original: Uint8Array;
  }
  | {
    type: "time-exceeded";
    /** 0 TTL exceeded in transit, 1 fragment reassembly time exceeded. */
    code: number;
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
 * Whether `b[off..end)` can hold an ICMP header; the accessors below trust it.
 * @param b bytes @param off message start @param end one past its last byte
 * @returns true when at least 8 bytes are there
 */
export function isIcmpv4(b: Uint8Array, off: number, end: number): boolean {
  return off >= 0 && end <= b.length && end - off >= ICMPV4_HEADER_LEN;
}

/** The type byte. @param b bytes @param off message start @returns 0..255 */
export function icmpv4Type(b: Uint8Array, off: number): number {
  return b[off];
}

/** The code byte. @param b bytes @param off message start @returns 0..255 */
export function icmpv4Code(b: Uint8Array, off: number): number {
  return b[off + 1];
}

/**
 * Whether the checksum over `b[off..end)` is right.
 * @param b bytes @param off message start @param end message end
 * @returns true when valid
 */
export function icmpv4ChecksumOk(b: Uint8Array, off: number, end: number): boolean {
  return checksumFinish(checksumAdd(0, b, off, end)) === 0;
}

/**
 * Computes and writes the checksum over `b[off..end)`.
 * @param b bytes @param off message start @param end message end
 * @returns the value written
 */
export function fillIcmpv4Checksum(b: Uint8Array, off: number, end: number): number {
  writeU16be(b, off + ICMPV4_CHECKSUM_AT, 0);
  const c = checksumFinish(checksumAdd(0, b, off, end));
  writeU16be(b, off + ICMPV4_CHECKSUM_AT, c);
  return c;
}

/** Options for {@linkcode parseIcmpv4}. */
export interface ParseIcmpv4Options {
  /** Accept a wrong checksum (fuzzing, or a message quoted inside another). */
  ignoreChecksum?: boolean;
}

/**
 * Parses the message occupying `b[off..end)`.
 * @param b bytes @param off message start @param end message end
 * @param opts checksum handling
 * @returns the message (data views into `b`)
 * @throws {ParseError} when shorter than 8 bytes or the checksum is wrong
 */
export function parseIcmpv4(
  b: Uint8Array,
  off: number,
  end: number,
  opts: ParseIcmpv4Options = {},
): Icmpv4Message {
  if (!isIcmpv4(b, off, end)) {
    throw new ParseError(FORMAT, `Cannot parse ICMPv4 message: ${end - off} bytes`, off);
  }
  if (!opts.ignoreChecksum && !icmpv4ChecksumOk(b, off, end)) {
    throw new ParseError(FORMAT, "Cannot parse ICMPv4 message: bad checksum", off + 2);
  }
  const type = b[off];
  const code = b[off + 1];
  const data = b.subarray(off + ICMPV4_HEADER_LEN, end);
  if ((type === ICMPV4_ECHO_REQUEST || type === ICMPV4_ECHO_REPLY) && code === 0) {
    return {
      type: type === ICMPV4_ECHO_REQUEST ? "echo-request" : "echo-reply",
      ident: readU16be(b, off + 4),
      seq: readU16be(b, off + 6),
      data,
    };
  }
  if (type === ICMPV4_DEST_UNREACHABLE && readU16be(b, off + 4) === 0) {
    const mtu = code === ICMPV4_CODE_FRAG_NEEDED ? readU16be(b, off + 6) : 0;
    if (mtu !== 0 || readU16be(b, off + 6) === 0) {
      return { type: "dest-unreachable", code, mtu, original: data };
    }
  }
  if (type === ICMPV4_TIME_EXCEEDED && readU32be(b, off + 4) === 0) {
    return { type: "time-exceeded", code, original: data };
  }
  return { type: "other", icmpType: type, code, rest: readU32be(b, off + 4), data };
}

/**
 * Bytes {@linkcode emitIcmpv4} writes.
 * @param m the message
 * @returns 8 + data length
 */
export function icmpv4Len(m: Icmpv4Message): number {
  switch (m.type) {
    case "echo-request":
    case "echo-reply":
    case "other":
      return ICMPV4_HEADER_LEN + m.data.length;
    case "dest-unreachable":
    case "time-exceeded":
      return ICMPV4_HEADER_LEN + m.original.length;
  }
}

/**
 * Writes the message with its checksum.
 * @param m the message @param out destination @param off where to write
 * @returns the offset after it
 * @throws {RangeError} when it does not fit
 */
export function emitIcmpv4(m: Icmpv4Message, out: Uint8Array, off: number): number {
  const len = icmpv4Len(m);
  if (out.length - off < len) {
    throw new RangeError(`Cannot emit ICMPv4 message: ${len} bytes into ${out.length - off}`);
  }
  switch (m.type) {
    case "echo-request":
    case "echo-reply":
      out[off] = m.type === "echo-request" ? ICMPV4_ECHO_REQUEST : ICMPV4_ECHO_REPLY;
      out[off + 1] = 0;
      writeU16be(out, off + 4, m.ident);
      writeU16be(out, off + 6, m.seq);
      out.set(m.data, off + ICMPV4_HEADER_LEN);
      break;
    case "dest-unreachable":
      out[off] = ICMPV4_DEST_UNREACHABLE;
      out[off + 1] = m.code;
      writeU16be(out, off + 4, 0);
      writeU16be(out, off + 6, m.mtu);
      out.set(m.original, off + ICMPV4_HEADER_LEN);
      break;
    case "time-exceeded":
      out[off] = ICMPV4_TIME_EXCEEDED;
      out[off + 1] = m.code;
      writeU32be(out, off + 4, 0);
      out.set(m.original, off + ICMPV4_HEADER_LEN);
      break;
    case "other":
      out[off] = m.icmpType;
      out[off + 1] = m.code;
      writeU32be(out, off + 4, m.rest);
      out.set(m.data, off + ICMPV4_HEADER_LEN);
      break;
  }
  fillIcmpv4Checksum(out, off, off + len);
  return off + len;
}
