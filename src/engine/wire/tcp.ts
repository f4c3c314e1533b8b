/**
 * TCP segment header (RFC 9293) and its options: EOL (0), NOP (1), MSS (2), window scale (3,
 * RFC 7323), SACK-permitted (4) and SACK blocks (5, RFC 2018), timestamps (8, RFC 7323).
 *
 * ```
 * | source port (16)              | destination port (16)             |
 * | sequence number (32)                                              |
 * | acknowledgment number (32)                                        |
 * | data off (4) | res (3) | AE | CWR ECE URG ACK PSH RST SYN FIN | window (16) |
 * | checksum (16)                 | urgent pointer (16)               |
 * | options (data off * 4 - 20 bytes) | data ...                      |
 * ```
 *
 * Parsing options: EOL ends the list (the rest is padding); NOP is one byte; every other kind
 * has a length byte ≥ 2 that must fit. A known kind with the wrong length, and every unknown
 * kind, is kept as `{ kind: "unknown" }` with its bytes, so nothing is lost on re-emit. Emit pads
 * the option list with zeros (EOL) to a multiple of 4.
 *
 * @example Build a SYN with MSS and read its flags
 * ```ts
 * import { emitTcp, parseTcp, tcpLen, TCP_SYN } from "./tcp.ts";
 * const seg = {
 *   srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TCP_SYN, window: 65535, urgent: 0,
 *   options: [{ kind: "mss" as const, mss: 1240 }], payload: new Uint8Array(0),
 * };
 * const b = new Uint8Array(tcpLen(seg));
 * emitTcp(seg, b, 0);
 * const p = parseTcp(b, 0, b.length);
 * if (p.flags !== TCP_SYN || p.options[0].kind !== "mss") throw new Error("bad");
 * ```
 * @module
 */

import { readU16be, readU32be, writeU16be, writeU32be } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { checksumAdd, checksumFinish, type PseudoHeader, pseudoHeaderSum } from "./checksum.ts";
import { IP_PROTO_TCP } from "./ip_proto.ts";

/** Header length without options. */
export const TCP_HEADER_LEN = 20;
/** Longest header (data offset 15). */
export const TCP_MAX_HEADER_LEN = 60;
/** Offset of the sequence number. */
export const TCP_SEQ_AT = 4;
/** Offset of the acknowledgment number. */
export const TCP_ACK_AT = 8;
/** Offset of the flags byte (FIN..CWR; AE is the low bit of the byte before). */
export const TCP_FLAGS_AT = 13;
/** Offset of the window. */
export const TCP_WINDOW_AT = 14;
/** Offset of the checksum. */
export const TCP_CHECKSUM_AT = 16;

/** FIN flag. */
export const TCP_FIN = 0x001;
/** SYN flag. */
export const TCP_SYN = 0x002;
/** RST flag. */
export const TCP_RST = 0x004;
/** PSH flag. */
export const TCP_PSH = 0x008;
/** ACK flag. */
export const TCP_ACK = 0x010;
/** URG flag. */
export const TCP_URG = 0x020;
/** ECE flag. */
export const TCP_ECE = 0x040;
/** CWR flag. */
export const TCP_CWR = 0x080;
/** AE flag (AccECN; formerly NS), the low bit of byte 12. */
export const TCP_AE = 0x100;

/** Option kind: end of option list. */
export const TCP_OPT_EOL = 0;
/** Option kind: no-operation. */
export const TCP_OPT_NOP = 1;
/** Option kind: maximum segment size. */
export const TCP_OPT_MSS = 2;
/** Option kind: window scale. */
export const TCP_OPT_WINDOW_SCALE = 3;
/** Option kind: SACK permitted. */
export const TCP_OPT_SACK_PERMITTED = 4;
/** Option kind: SACK blocks. */
export const TCP_OPT_SACK = 5;
/** Option kind: timestamps. */
export const TCP_OPT_TIMESTAMPS = 8;
const FORMAT = "tcp";

/** One TCP option, in a closed union tagged by `kind`. */
export type TcpOption =
  | { kind: "eol" }
  | { kind: "nop" }
  | { kind: "mss"; mss: number }
  | { kind: "window-scale"; shift: number }
  | { kind: "sack-permitted" }
  | {
    kind: "sack";
    /** 1 to 4 blocks, each `[left edge, right edge)` as u32 sequence numbers. */
    blocks: [number, number][];
  }
  | { kind: "timestamps"; tsVal: number; tsEcr: number }
  | {
    kind: "unknown";
    /** The option kind byte. */
    type: number;
    /** The bytes after kind and length. */
    data: Uint8Array;
  };

/** The meaning of a TCP segment. */
export interface TcpSegment {
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** Sequence number (u32). */
  seq: number;
  /** Acknowledgment number (u32). */
  ack: number;
  /** Flag bits: `TCP_FIN` .. `TCP_AE`. */
  flags: number;
  /** Window (unscaled). */
  window: number;
  /** Urgent pointer. */
  urgent: number;
  /** Options in order. */
  options: TcpOption[];
  /** The data; from {@linkcode parseTcp} a view into the parsed buffer. */
  payload: Uint8Array;
}

/**
 * Whether `b[off..end)` starts with a TCP header whose data offset is ≥ 5 and fits.
 * @param b bytes @param off header start @param end one past the segment's last byte
 * @returns true when the accessors may be used
 */
export function isTcp(b: Uint8Array, off: number, end: number): boolean {
  if (off < 0 || end > b.length || end - off < TCP_HEADER_LEN) return false;
  const hl = (b[off + 12] >>> 4) << 2;
  return hl >= TCP_HEADER_LEN && off + hl <= end;
}

/** Source port. @param b bytes @param off header start @returns 0..65535 */
export function tcpSrcPort(b: Uint8Array, off: number): number {
  return readU16be(b, off);
}

/** Destination port. @param b bytes @param off header start @returns 0..65535 */
export function tcpDstPort(b: Uint8Array, off: number): number {
  return readU16be(b, off + 2);
}

/** Sequence number. @param b bytes @param off header start @returns u32 */
export function tcpSeq(b: Uint8Array, off: number): number {
  return readU32be(b, off + TCP_SEQ_AT);
}

/** Acknowledgment number. @param b bytes @param off header start @returns u32 */
export function tcpAck(b: Uint8Array, off: number): number {
  return readU32be(b, off + TCP_ACK_AT);
}

/** Flag bits (`TCP_FIN` .. `TCP_AE`). @param b bytes @param off header start @returns 0..0x1ff */
export function tcpFlags(b: Uint8Array, off: number): number {
  return ((b[off + 12] & 1) << 8) | b[off + TCP_FLAGS_AT];
}

/** Window. @param b bytes @param off header start @returns 0..65535 */
export function tcpWindow(b: Uint8Array, off: number): number {
  return readU16be(b, off + TCP_WINDOW_AT);
}

/** Header length including options. @param b bytes @param off header start @returns 20..60 */
export function tcpHeaderLen(b: Uint8Array, off: number): number {
  return (b[off + 12] >>> 4) << 2;
}

/**
 * Sequence space the segment occupies: data bytes plus one for SYN and one for FIN.
 * Trusts {@linkcode isTcp}.
 * @param b bytes @param off header start @param end one past the segment's last byte
 * @returns bytes of sequence space
 */
export function tcpSegmentLen(b: Uint8Array, off: number, end: number): number {
  const f = b[off + TCP_FLAGS_AT];
  return end - off - tcpHeaderLen(b, off) + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);
}

/**
 * Sequence space of a parsed segment: data plus SYN plus FIN.
 * @param s the segment
 * @returns bytes of sequence space
 */
export function tcpSeqLen(s: TcpSegment): number {
  return s.payload.length + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0);
}

/**
 * Whether the checksum over `b[off..end)` is right. Trusts {@linkcode isTcp}.
 * @param b bytes @param off header start @param end segment end
 * @param pseudoSum from `pseudoHeaderSumAt(packet, srcAt, dstAt, addrLen, 6, end - off)`
 * @returns true when valid
 */
export function tcpChecksumOk(b: Uint8Array, off: number, end: number, pseudoSum: number): boolean {
  return checksumFinish(checksumAdd(pseudoSum, b, off, end)) === 0;
}

/**
 * Computes and writes the checksum over `b[off..end)`.
 * @param b bytes @param off header start @param end segment end @param pseudoSum pseudo-header sum
 * @returns the value written
 */
export function fillTcpChecksum(
  b: Uint8Array,
  off: number,
  end: number,
  pseudoSum: number,
): number {
  writeU16be(b, off + TCP_CHECKSUM_AT, 0);
  const c = checksumFinish(checksumAdd(pseudoSum, b, off, end));
  writeU16be(b, off + TCP_CHECKSUM_AT, c);
  return c;
}

/**
 * Finds the MSS option without allocating (for the hot path of a SYN). Trusts {@linkcode isTcp}.
 * @param b bytes @param off header start
 * @returns the MSS, or -1 when absent or the option area is malformed
 */
export function tcpFindMss(b: Uint8Array, off: number): number {
  const end = off + tcpHeaderLen(b, off);
  let at = off + TCP_HEADER_LEN;
  while (at < end) {
    const kind = b[at];
    if (kind === TCP_OPT_EOL) return -1;
    if (kind === TCP_OPT_NOP) {
      at++;
      continue;
    }
    if (at + 1 >= end) return -1;
    const len = b[at + 1];
    if (len < 2 || at + len > end) return -1;
    if (kind === TCP_OPT_MSS && len === 4) return readU16be(b, at + 2);
    at += len;
  }
  return -1;
}

/**
 * Parses the option area `b[off..end)`.
 * @param b bytes @param off first option byte @param end end of the header
 * @returns the options in order (stopping after an EOL)
 * @throws {ParseError} when a length byte is missing, below 2, or runs past `end`
 */
export function parseTcpOptions(b: Uint8Array, off: number, end: number): TcpOption[] {
  const opts: TcpOption[] = [];
  let at = off;
  while (at < end) {
    const kind = b[at];
    if (kind === TCP_OPT_EOL) {
      opts.push({ kind: "eol" });
      break;
    }
    if (kind === TCP_OPT_NOP) {
      opts.push({ kind: "nop" });
      at++;
      continue;
    }
    if (at + 1 >= end) {
      throw new ParseError(FORMAT, `Cannot parse TCP option ${kind}: no length byte`, at);
    }
    const len = b[at + 1];
    if (len < 2 || at + len > end) {
      throw new ParseError(FORMAT, `Cannot parse TCP option ${kind}: length ${len}`, at + 1);
    }
    if (kind === TCP_OPT_MSS && len === 4) {
      opts.push({ kind: "mss", mss: readU16be(b, at + 2) });
    } else if (kind === TCP_OPT_WINDOW_SCALE && len === 3) {
      opts.push({ kind: "window-scale", shift: b[at + 2] });
    } else if (kind === TCP_OPT_SACK_PERMITTED && len === 2) {
      opts.push({ kind: "sack-permitted" });
    } else if (kind === TCP_OPT_SACK && len >= 10 && len <= 34 && (len - 2) % 8 === 0) {
      const blocks: [number, number][] = [];
      for (let i = at + 2; i < at + len; i += 8) {
        blocks.push([readU32be(b, i), readU32be(b, i + 4)]);
      }
      opts.push({ kind: "sack", blocks });
    } else if (kind === TCP_OPT_TIMESTAMPS && len === 10) {
      opts.push({ kind: "timestamps", tsVal: readU32be(b, at + 2), tsEcr: readU32be(b, at + 6) });
    } else {
      opts.push({ kind: "unknown", type: kind, data: b.slice(at + 2, at + len) });
    }
    at += len;
  }
  return opts;
}

/**
 * Parses a segment occupying `b[off..end)`.
 * @param b bytes @param off header start @param end one past the segment's last byte
 * @param ph the IP addresses, to verify the checksum; without it the checksum is not checked
 * @returns the segment (payload is a view into `b`)
 * @throws {ParseError} on an impossible data offset, malformed options or a bad checksum
 */
export function parseTcp(b: Uint8Array, off: number, end: number, ph?: PseudoHeader): TcpSegment {
  if (end > b.length || end - off < TCP_HEADER_LEN) {
    throw new ParseError(FORMAT, `Cannot parse TCP header: ${end - off} bytes`, off);
  }
  const hl = tcpHeaderLen(b, off);
  if (hl < TCP_HEADER_LEN || off + hl > end) {
    throw new ParseError(
      FORMAT,
      `Cannot parse TCP header: data offset ${hl} with ${end - off} bytes`,
      off + 12,
    );
  }
  if (ph) {
    const sum = pseudoHeaderSum(ph.src, ph.dst, IP_PROTO_TCP, end - off);
    if (!tcpChecksumOk(b, off, end, sum)) {
      throw new ParseError(FORMAT, "Cannot parse TCP segment: bad checksum", off + TCP_CHECKSUM_AT);
    }
  }
  return {
    srcPort: tcpSrcPort(b, off),
    dstPort: tcpDstPort(b, off),
    seq: tcpSeq(b, off),
    ack: tcpAck(b, off),
    flags: tcpFlags(b, off),
    window: tcpWindow(b, off),
    urgent: readU16be(b, off + 18),
    options: parseTcpOptions(b, off + TCP_HEADER_LEN, off + hl),
    payload: b.subarray(off + hl, end),
  };
}

function optionLen(o: TcpOption): number {
  switch (o.kind) {
    case "eol":
    case "nop":
      return 1;
    case "mss":
      return 4;
    case "window-scale":
      return 3;
    case "sack-permitted":
      return 2;
    case "sack":
      return 2 + 8 * o.blocks.length;
    case "timestamps":
      return 10;
    case "unknown":
      return 2 + o.data.length;
  }
}

/**
 * Bytes the options take once padded to a multiple of 4.
 * @param options the options
 * @returns 0..40 for a valid list (more means emit will refuse it)
 */
export function tcpOptionsLen(options: readonly TcpOption[]): number {
  let n = 0;
  for (const o of options) n += optionLen(o);
  return (n + 3) & ~3;
}

/**
 * Bytes {@linkcode emitTcp} writes: header, padded options and payload.
 * @param s the segment
 * @returns the segment length
 */
export function tcpLen(s: TcpSegment): number {
  return TCP_HEADER_LEN + tcpOptionsLen(s.options) + s.payload.length;
}

/**
 * Writes the segment (header, options, payload). With `ph` the checksum is filled; without,
 * it is left 0 for the caller to fill with {@linkcode fillTcpChecksum}.
 * @param s the segment @param out destination @param off where to write
 * @param ph the IP addresses the checksum covers
 * @returns the offset after the payload
 * @throws {RangeError} when the options exceed 40 bytes, a field is out of range, or it does not fit
 */
export function emitTcp(s: TcpSegment, out: Uint8Array, off: number, ph?: PseudoHeader): number {
  const optLen = tcpOptionsLen(s.options);
  const hl = TCP_HEADER_LEN + optLen;
  const len = hl + s.payload.length;
  if (hl > TCP_MAX_HEADER_LEN) {
    throw new RangeError(`Cannot emit TCP header: ${optLen} option bytes`);
  }
  for (const o of s.options) {
    if (o.kind === "sack" && (o.blocks.length < 1 || o.blocks.length > 4)) {
      throw new RangeError(`Cannot emit TCP SACK option: ${o.blocks.length} blocks`);
    }
    if (o.kind === "unknown" && o.data.length > 253) {
      throw new RangeError(`Cannot emit TCP option ${o.type}: ${o.data.length} bytes`);
    }
  }
  if (out.length - off < len) {
    throw new RangeError(`Cannot emit TCP segment: ${len} bytes into ${out.length - off}`);
  }
  writeU16be(out, off, s.srcPort);
  writeU16be(out, off + 2, s.dstPort);
  writeU32be(out, off + TCP_SEQ_AT, s.seq);
  writeU32be(out, off + TCP_ACK_AT, s.ack);
  out[off + 12] = ((hl >>> 2) << 4) | ((s.flags >>> 8) & 1);
  out[off + TCP_FLAGS_AT] = s.flags & 0xff;
  writeU16be(out, off + TCP_WINDOW_AT, s.window);
  writeU16be(out, off + TCP_CHECKSUM_AT, 0);
  writeU16be(out, off + 18, s.urgent);
  let at = off + TCP_HEADER_LEN;
  for (const o of s.options) {
    switch (o.kind) {
      case "eol":
        out[at++] = TCP_OPT_EOL;
        break;
      case "nop":
        out[at++] = TCP_OPT_NOP;
        break;
      case "mss":
        out[at] = TCP_OPT_MSS;
        out[at + 1] = 4;
        writeU16be(out, at + 2, o.mss);
        at += 4;
        break;
      case "window-scale":
        out[at] = TCP_OPT_WINDOW_SCALE;
        out[at + 1] = 3;
        out[at + 2] = o.shift;
        at += 3;
        break;
      case "sack-permitted":
        out[at] = TCP_OPT_SACK_PERMITTED;
        out[at + 1] = 2;
        at += 2;
        break;
      case "sack":
        out[at] = TCP_OPT_SACK;
        out[at + 1] = 2 + 8 * o.blocks.length;
        at += 2;
        for (const [l, r] of o.blocks) {
          writeU32be(out, at, l);
          writeU32be(out, at + 4, r);
          at += 8;
        }
        break;
      case "timestamps":
        out[at] = TCP_OPT_TIMESTAMPS;
        out[at + 1] = 10;
        writeU32be(out, at + 2, o.tsVal);
        writeU32be(out, at + 6, o.tsEcr);
        at += 10;
        break;
      case "unknown":
        out[at] = o.type;
        out[at + 1] = 2 + o.data.length;
        out.set(o.data, at + 2);
        at += 2 + o.data.length;
        break;
    }
  }
  while (at < off + hl) out[at++] = TCP_OPT_EOL;
  out.set(s.payload, at);
  if (ph) fillTcpChecksum(out, off, off + len, pseudoHeaderSum(ph.src, ph.dst, IP_PROTO_TCP, len));
  return off + len;
}
