/**
 * Whole reply packets the stack and ping layers send in answer to one received packet: an
 * ICMP echo reply for an echo request, a TCP RST for a segment nobody wants, an ICMP port
 * unreachable for a UDP datagram nobody wants. Each reads the received packet in place, writes
 * the reply into the caller's buffer and returns the offset after it, or -1 when no reply is
 * due (not that kind of packet, a fragment, a RST, a multicast destination, no room).
 *
 * Headers follow what Linux sends, so the tests compare byte for byte with its replies: TTL
 * and hop limit 64, no IP options, IPv4 TOS 0xc0 on ICMP errors (RFC 1812 §4.3.2.5
 * precedence "internetwork control"), the original datagram quoted up to 576 bytes (IPv4,
 * RFC 1812 §4.3.2.3) or 1280 (IPv6, RFC 4443 §2.4). The IPv4 ID / IPv6 flow label and DF come
 * from {@linkcode ReplyOptions}.
 *
 * @example Answer an echo request
 * ```ts
 * import { buildIcmpEchoReply } from "./replies.ts";
 * import { newIpInfo } from "./ip.ts";
 * import { emitIpv4 } from "./ipv4.ts";
 * import { emitIcmpv4 } from "./icmpv4.ts";
 * const req = new Uint8Array(28);
 * emitIpv4({
 *   tos: 0, id: 1, dontFragment: true, moreFragments: false, fragmentOffset: 0, ttl: 64,
 *   protocol: 1, src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]),
 *   options: new Uint8Array(0), payloadLen: 8,
 * }, req, 0);
 * emitIcmpv4({ type: "echo-request", ident: 1, seq: 1, data: new Uint8Array(0) }, req, 20);
 * const out = new Uint8Array(1500);
 * if (buildIcmpEchoReply(req, 0, req.length, out, 0, newIpInfo()) !== 28) throw new Error("bad");
 * ```
 * @module
 */

import { readU16be } from "../base/bytes.ts";
import { pseudoHeaderSumAt } from "./checksum.ts";
import {
  fillIcmpv4Checksum,
  ICMPV4_CODE_PORT_UNREACHABLE,
  ICMPV4_DEST_UNREACHABLE,
  ICMPV4_ECHO_REPLY,
  ICMPV4_ECHO_REQUEST,
  ICMPV4_HEADER_LEN,
} from "./icmpv4.ts";
import {
  fillIcmpv6Checksum,
  ICMPV6_CODE_PORT_UNREACHABLE,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_ERROR_MAX_PACKET,
} from "./icmpv6.ts";
import { inspectIp, type IpInfo } from "./ip.ts";
import { emitIpHeader } from "./ip_build.ts";
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP, IP_PROTO_UDP } from "./ip_proto.ts";
import { IPV4_HEADER_LEN } from "./ipv4.ts";
import { IPV6_HEADER_LEN } from "./ipv6.ts";
import {
  fillTcpChecksum,
  isTcp,
  TCP_ACK,
  TCP_HEADER_LEN,
  TCP_RST,
  tcpAck,
  tcpFlags,
  tcpSegmentLen,
  tcpSeq,
} from "./tcp.ts";
import { isUdp } from "./udp.ts";

/** IPv4 ICMP errors carry at most this many bytes in all (RFC 1812 §4.3.2.3). */
export const ICMPV4_ERROR_MAX_PACKET = 576;
/** TTL / hop limit of the replies built here. */
export const REPLY_TTL = 64;
/** TOS byte on IPv4 ICMP errors, as Linux sends them. */
export const ICMPV4_ERROR_TOS = 0xc0;

/** Header choices for a built reply. */
export interface ReplyOptions {
  /** IPv4 identification, or IPv6 flow label (20 bits). Default 0. */
  ipId?: number;
  /** Set DF on an IPv4 reply. Default false (Linux sets it on RSTs, not on ICMP). */
  dontFragment?: boolean;
}

// Writes the IP header answering `info`'s packet in `b` (addresses swapped, TTL / hop limit
// REPLY_TTL, no options) with emitIpHeader and returns the offset after it. Callers have
// checked that `out` has room.
function writeReplyIp(
  b: Uint8Array,
  info: IpInfo,
  protocol: number,
  payloadLen: number,
  tos: number,
  o: ReplyOptions,
  out: Uint8Array,
  at: number,
): number {
  return emitIpHeader(
    b.subarray(info.dstOff, info.dstOff + info.addrLen),
    b.subarray(info.srcOff, info.srcOff + info.addrLen),
    protocol,
    payloadLen,
    out,
    at,
    { ttl: REPLY_TTL, tos, id: o.ipId, dontFragment: o.dontFragment },
  );
}

function isMulticastOrBroadcast(b: Uint8Array, info: IpInfo): boolean {
  const d = info.dstOff;
  if (info.version === 4) {
    return (b[d] & 0xf0) === 0xe0 ||
      (b[d] === 255 && b[d + 1] === 255 && b[d + 2] === 255 && b[d + 3] === 255);
  }
  return b[d] === 0xff;
}

/**
 * Builds the ICMP (v4) or ICMPv6 echo reply to an echo request: addresses swapped, identifier,
 * sequence and data echoed, IP options and extension headers dropped.
 * @param b bytes holding the request @param off its start @param end its end
 * @param out destination @param outOff where to write @param info scratch (reused)
 * @param opts IPv4 ID / IPv6 flow label and DF
 * @returns the offset after the reply, or -1 when `b` is not an unfragmented echo request to a
 *   unicast address, or `out` is too small
 */
export function buildIcmpEchoReply(
  b: Uint8Array,
  off: number,
  end: number,
  out: Uint8Array,
  outOff: number,
  info: IpInfo,
  opts: ReplyOptions = {},
): number {
  if (!inspectIp(b, off, end, info) || info.fragment || isMulticastOrBroadcast(b, info)) return -1;
  const p = info.payloadOff;
  const n = info.payloadEnd - p;
  if (n < ICMPV4_HEADER_LEN) return -1;
  const v4 = info.version === 4;
  if (v4 ? info.protocol !== IP_PROTO_ICMP : info.protocol !== IP_PROTO_ICMPV6) return -1;
  if (b[p] !== (v4 ? ICMPV4_ECHO_REQUEST : ICMPV6_ECHO_REQUEST) || b[p + 1] !== 0) return -1;
  const hl = v4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  if (out.length - outOff < hl + n) return -1;
  const at = writeReplyIp(b, info, info.protocol, n, 0, opts, out, outOff);
  out.set(b.subarray(p, p + n), at);
  out[at] = v4 ? ICMPV4_ECHO_REPLY : ICMPV6_ECHO_REPLY;
  if (v4) {
    fillIcmpv4Checksum(out, at, at + n);
  } else {
    fillIcmpv6Checksum(out, at, at + n, pseudoHeaderSumAt(out, outOff + 8, outOff + 24, 16, 58, n));
  }
  return at + n;
}

/**
 * Builds the RST answering a TCP segment (RFC 9293 §3.10.7.1): if the segment had ACK, a RST
 * with seq = its ack; otherwise RST+ACK with seq 0 and ack = its seq + its length (SYN and FIN
 * count). Window 0, no options. Never answers a RST.
 * @param b bytes holding the segment's packet @param off packet start @param end packet end
 * @param out destination @param outOff where to write @param info scratch (reused)
 * @param opts IPv4 ID / IPv6 flow label and DF (Linux sets DF on RSTs)
 * @returns the offset after the RST, or -1 when no RST is due or `out` is too small
 */
export function buildTcpRst(
  b: Uint8Array,
  off: number,
  end: number,
  out: Uint8Array,
  outOff: number,
  info: IpInfo,
  opts: ReplyOptions = {},
): number {
  if (!inspectIp(b, off, end, info) || info.protocol !== IP_PROTO_TCP) return -1;
  if (info.laterFragment || info.fragment || isMulticastOrBroadcast(b, info)) return -1;
  const p = info.payloadOff;
  if (!isTcp(b, p, info.payloadEnd)) return -1;
  const flags = tcpFlags(b, p);
  if (flags & TCP_RST) return -1;
  const hl = info.version === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  if (out.length - outOff < hl + TCP_HEADER_LEN) return -1;
  const at = writeReplyIp(b, info, IP_PROTO_TCP, TCP_HEADER_LEN, 0, opts, out, outOff);
  out.fill(0, at, at + TCP_HEADER_LEN);
  out[at] = b[p + 2];
  out[at + 1] = b[p + 3];
  out[at + 2] = b[p];
  out[at + 3] = b[p + 1];
  let seq: number, ack: number, outFlags: number;
  if (flags & TCP_ACK) {
    seq = tcpAck(b, p);
    ack = 0;
    outFlags = TCP_RST;
  } else {
    seq = 0;
    ack = (tcpSeq(b, p) + tcpSegmentLen(b, p, info.payloadEnd)) >>> 0;
    outFlags = TCP_RST | TCP_ACK;
  }
  out[at + 4] = seq >>> 24;
  out[at + 5] = seq >>> 16;
  out[at + 6] = seq >>> 8;
  out[at + 7] = seq;
  out[at + 8] = ack >>> 24;
  out[at + 9] = ack >>> 16;
  out[at + 10] = ack >>> 8;
  out[at + 11] = ack;
  out[at + 12] = (TCP_HEADER_LEN >>> 2) << 4;
  out[at + 13] = outFlags;
  const ps = pseudoHeaderSumAt(
    out,
    outOff + (info.version === 4 ? 12 : 8),
    outOff + (info.version === 4 ? 16 : 24),
    info.addrLen,
    IP_PROTO_TCP,
    TCP_HEADER_LEN,
  );
  fillTcpChecksum(out, at, at + TCP_HEADER_LEN, ps);
  return at + TCP_HEADER_LEN;
}

/**
 * Builds the ICMP / ICMPv6 port unreachable answering a UDP datagram, quoting the original
 * packet from its IP header on, cut to 576 (IPv4) or 1280 (IPv6) bytes in all.
 * @param b bytes holding the datagram's packet @param off packet start @param end packet end
 * @param out destination @param outOff where to write @param info scratch (reused)
 * @param opts IPv4 ID / IPv6 flow label and DF
 * @returns the offset after the error, or -1 when none is due (not UDP, a later fragment, a
 *   multicast or broadcast destination) or `out` is too small
 */
export function buildIcmpPortUnreachable(
  b: Uint8Array,
  off: number,
  end: number,
  out: Uint8Array,
  outOff: number,
  info: IpInfo,
  opts: ReplyOptions = {},
): number {
  if (!inspectIp(b, off, end, info) || info.protocol !== IP_PROTO_UDP) return -1;
  if (info.laterFragment || isMulticastOrBroadcast(b, info)) return -1;
  // A first fragment carries the UDP header but not the whole datagram; isUdp's length check
  // would fail, so for fragments only the 8 header bytes need to be present.
  if (
    info.fragment
      ? info.payloadEnd - info.payloadOff < 8
      : !isUdp(b, info.payloadOff, info.payloadEnd)
  ) {
    return -1;
  }
  const v4 = info.version === 4;
  const hl = v4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  const max = v4 ? ICMPV4_ERROR_MAX_PACKET : ICMPV6_ERROR_MAX_PACKET;
  const packetEnd = v4 ? off + readU16be(b, off + 2) : info.payloadEnd;
  const quoted = Math.min(packetEnd - off, max - hl - 8);
  const n = 8 + quoted;
  if (out.length - outOff < hl + n) return -1;
  const at = writeReplyIp(
    b,
    info,
    v4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6,
    n,
    v4 ? ICMPV4_ERROR_TOS : 0,
    opts,
    out,
    outOff,
  );
  out.fill(0, at, at + 8);
  out[at] = v4 ? ICMPV4_DEST_UNREACHABLE : ICMPV6_DEST_UNREACHABLE;
  out[at + 1] = v4 ? ICMPV4_CODE_PORT_UNREACHABLE : ICMPV6_CODE_PORT_UNREACHABLE;
  out.set(b.subarray(off, off + quoted), at + 8);
  if (v4) {
    fillIcmpv4Checksum(out, at, at + n);
  } else {
    fillIcmpv6Checksum(out, at, at + n, pseudoHeaderSumAt(out, outOff + 8, outOff + 24, 16, 58, n));
  }
  return at + n;
}
