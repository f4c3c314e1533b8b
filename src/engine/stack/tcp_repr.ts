/**
 * The stack's view of a TCP header: a reusable record with the options it understands (MSS,
 * window scale, SACK-permitted, SACK blocks, timestamps) pulled out, so the hot path parses
 * and emits without an object per segment. Malformed options are ignored from the bad byte on
 * (as Linux does); only an impossible header is refused.
 * @module
 */
import { readU16be, readU32be, writeU16be, writeU32be } from "../base/bytes.ts";
import {
  TCP_HEADER_LEN,
  TCP_OPT_EOL,
  TCP_OPT_MSS,
  TCP_OPT_NOP,
  TCP_OPT_SACK,
  TCP_OPT_SACK_PERMITTED,
  TCP_OPT_TIMESTAMPS,
  TCP_OPT_WINDOW_SCALE,
  TCP_SYN,
  type TcpSegment,
} from "../wire/mod.ts";

/**
 * A TCP header and the options the stack uses: the header fields are those of the wire codec's
 * {@linkcode TcpSegment} (the urgent pointer left out: the stack neither sends nor honours it).
 */
export interface TcpRepr
  extends Pick<TcpSegment, "srcPort" | "dstPort" | "seq" | "ack" | "flags" | "window"> {
  /** MSS option, or -1. */
  mss: number;
  /** Window-scale shift, or -1. */
  wscale: number;
  /** SACK-permitted option present. */
  sackPermitted: boolean;
  /** Timestamps option present. */
  hasTs: boolean;
  /** TSval. */
  tsVal: number;
  /** TSecr. */
  tsEcr: number;
  /** Number of SACK blocks (0..4). */
  sackCount: number;
  /** SACK blocks as left, right pairs (8 slots). */
  readonly sack: number[];
  /** Data: a view into the parsed packet (inbound), empty outbound. */
  payload: Uint8Array;
  /** Outbound only: data bytes the caller copies from the socket's send buffer. */
  payloadLen: number;
}

const EMPTY = new Uint8Array(0);

/** A zeroed {@linkcode TcpRepr}. @returns a fresh record */
export function newTcpRepr(): TcpRepr {
  return {
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    mss: -1,
    wscale: -1,
    sackPermitted: false,
    hasTs: false,
    tsVal: 0,
    tsEcr: 0,
    sackCount: 0,
    sack: [0, 0, 0, 0, 0, 0, 0, 0],
    payload: EMPTY,
    payloadLen: 0,
  };
}

/** Resets the options and payload of `r`. @param r the record */
export function clearTcpOptions(r: TcpRepr): void {
  r.mss = -1;
  r.wscale = -1;
  r.sackPermitted = false;
  r.hasTs = false;
  r.sackCount = 0;
  r.payload = EMPTY;
  r.payloadLen = 0;
}

/**
 * Parses the segment at `b[off..end)` into `out`. The checksum is the caller's.
 * @param b bytes @param off header start @param end segment end @param out filled
 * @returns false when the header does not fit
 */
export function parseTcpRepr(b: Uint8Array, off: number, end: number, out: TcpRepr): boolean {
  if (end - off < TCP_HEADER_LEN || end > b.length) return false;
  const hl = (b[off + 12] >>> 4) << 2;
  if (hl < TCP_HEADER_LEN || off + hl > end) return false;
  out.srcPort = readU16be(b, off);
  out.dstPort = readU16be(b, off + 2);
  out.seq = readU32be(b, off + 4);
  out.ack = readU32be(b, off + 8);
  out.flags = ((b[off + 12] & 1) << 8) | b[off + 13];
  out.window = readU16be(b, off + 14);
  clearTcpOptions(out);
  const optEnd = off + hl;
  let at = off + TCP_HEADER_LEN;
  while (at < optEnd) {
    const kind = b[at];
    if (kind === TCP_OPT_EOL) break;
    if (kind === TCP_OPT_NOP) {
      at++;
      continue;
    }
    if (at + 1 >= optEnd) break;
    const len = b[at + 1];
    if (len < 2 || at + len > optEnd) break;
    if (kind === TCP_OPT_MSS && len === 4) out.mss = readU16be(b, at + 2);
    else if (kind === TCP_OPT_WINDOW_SCALE && len === 3) out.wscale = b[at + 2];
    else if (kind === TCP_OPT_SACK_PERMITTED && len === 2) out.sackPermitted = true;
    else if (kind === TCP_OPT_TIMESTAMPS && len === 10) {
      out.hasTs = true;
      out.tsVal = readU32be(b, at + 2);
      out.tsEcr = readU32be(b, at + 6);
    } else if (kind === TCP_OPT_SACK && len >= 10 && (len - 2) % 8 === 0) {
      const n = Math.min(4, (len - 2) >>> 3);
      for (let i = 0; i < n; i++) {
        out.sack[2 * i] = readU32be(b, at + 2 + 8 * i);
        out.sack[2 * i + 1] = readU32be(b, at + 6 + 8 * i);
      }
      out.sackCount = n;
    }
    at += len;
  }
  out.payload = b.subarray(optEnd, end);
  return true;
}

/**
 * Header bytes {@linkcode emitTcpRepr} writes (options padded to 4).
 * @param r the record @returns 20..60
 */
export function tcpReprHeaderLen(r: TcpRepr): number {
  let n = 0;
  if (r.mss >= 0) n += 4;
  if (r.flags & TCP_SYN) {
    if (r.sackPermitted) n += 2;
    if (r.hasTs) n += 10;
    if (r.wscale >= 0) n += 4; // NOP + 3
    if (!r.hasTs && r.sackPermitted) n += 2; // NOP NOP before SACK-permitted
  } else if (r.hasTs) n += 12;
  if (r.sackCount > 0) n += 4 + 8 * r.sackCount;
  return TCP_HEADER_LEN + ((n + 3) & ~3);
}

/**
 * Writes the header and options (checksum left 0). The payload goes after it.
 * @param r the record @param out destination @param off where
 * @returns the offset after the header
 */
export function emitTcpRepr(r: TcpRepr, out: Uint8Array, off: number): number {
  const hl = tcpReprHeaderLen(r);
  writeU16be(out, off, r.srcPort);
  writeU16be(out, off + 2, r.dstPort);
  writeU32be(out, off + 4, r.seq);
  writeU32be(out, off + 8, r.ack);
  out[off + 12] = ((hl >>> 2) << 4) | ((r.flags >>> 8) & 1);
  out[off + 13] = r.flags & 0xff;
  writeU16be(out, off + 14, r.window);
  writeU16be(out, off + 16, 0);
  writeU16be(out, off + 18, 0);
  let at = off + TCP_HEADER_LEN;
  if (r.mss >= 0) {
    out[at] = TCP_OPT_MSS;
    out[at + 1] = 4;
    writeU16be(out, at + 2, r.mss);
    at += 4;
  }
  if (r.flags & TCP_SYN) {
    if (r.sackPermitted) {
      if (!r.hasTs) {
        out[at++] = TCP_OPT_NOP;
        out[at++] = TCP_OPT_NOP;
      }
      out[at++] = TCP_OPT_SACK_PERMITTED;
      out[at++] = 2;
    }
    if (r.hasTs) at = writeTs(r, out, at);
    if (r.wscale >= 0) {
      out[at++] = TCP_OPT_NOP;
      out[at++] = TCP_OPT_WINDOW_SCALE;
      out[at++] = 3;
      out[at++] = r.wscale;
    }
  } else if (r.hasTs) {
    out[at++] = TCP_OPT_NOP;
    out[at++] = TCP_OPT_NOP;
    at = writeTs(r, out, at);
  }
  if (r.sackCount > 0) {
    out[at++] = TCP_OPT_NOP;
    out[at++] = TCP_OPT_NOP;
    out[at++] = TCP_OPT_SACK;
    out[at++] = 2 + 8 * r.sackCount;
    for (let i = 0; i < r.sackCount; i++) {
      writeU32be(out, at, r.sack[2 * i]);
      writeU32be(out, at + 4, r.sack[2 * i + 1]);
      at += 8;
    }
  }
  while (at < off + hl) out[at++] = TCP_OPT_EOL;
  return off + hl;
}

function writeTs(r: TcpRepr, out: Uint8Array, at: number): number {
  out[at] = TCP_OPT_TIMESTAMPS;
  out[at + 1] = 10;
  writeU32be(out, at + 2, r.tsVal);
  writeU32be(out, at + 6, r.tsEcr);
  return at + 10;
}
