/**
 * Building outbound IP packets in place, without an object per packet: write the IP header
 * for either family with {@linkcode emitIpHeader}, write the transport header and data after
 * it, then fill the transport checksum once with {@linkcode fillTransportChecksum}.
 *
 * @example A UDP datagram over IPv6
 * ```ts
 * import { emitIpHeader, fillTransportChecksum } from "./ip_build.ts";
 * import { inspectIp, newIpInfo } from "./ip.ts";
 * import { parseIpAddr } from "./ip_addr.ts";
 * import { parseUdp } from "./udp.ts";
 * const src = parseIpAddr("fd7a:115c:a1e0::1"), dst = parseIpAddr("fd7a:115c:a1e0::2");
 * const out = new Uint8Array(60);
 * const at = emitIpHeader(src, dst, 17, 12, out, 0);
 * out.set([0x13, 0x88, 0x00, 0x35, 0x00, 0x0c, 0, 0, 1, 2, 3, 4], at);
 * const info = newIpInfo();
 * if (!inspectIp(out, 0, at + 12, info) || !fillTransportChecksum(out, info)) throw new Error("bad");
 * parseUdp(out, at, at + 12, { src, dst }); // throws if the checksum were wrong
 * ```
 * @module
 */

import { pseudoHeaderSumAt } from "./checksum.ts";
import { fillIcmpv4Checksum, ICMPV4_HEADER_LEN } from "./icmpv4.ts";
import { fillIcmpv6Checksum, ICMPV6_HEADER_LEN } from "./icmpv6.ts";
import type { IpInfo } from "./ip.ts";
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP, IP_PROTO_UDP } from "./ip_proto.ts";
import { fillIpv4Checksum, IPV4_HEADER_LEN } from "./ipv4.ts";
import { IPV6_HEADER_LEN } from "./ipv6.ts";
import { fillTcpChecksum, TCP_HEADER_LEN } from "./tcp.ts";
import { fillUdpChecksum, UDP_HEADER_LEN } from "./udp.ts";

/** TTL / hop limit when none is given (Linux's and tailscaled's default). */
export const DEFAULT_TTL = 64;

/** Header choices for {@linkcode emitIpHeader}; every field has a default. */
export interface IpHeaderOptions {
  /** TTL or hop limit. Default 64. */
  ttl?: number;
  /** IPv4 TOS byte or IPv6 traffic class. Default 0. */
  tos?: number;
  /** IPv4 identification, or IPv6 flow label (20 bits). Default 0. */
  id?: number;
  /** Set DF (IPv4 only). Default false. */
  dontFragment?: boolean;
}

/**
 * Writes a 20-byte IPv4 header (checksum filled) or a 40-byte IPv6 header, no options or
 * extension headers. No allocation.
 * @param src source address, 4 or 16 bytes (picks the family)
 * @param dst destination address, same length
 * @param protocol upper-layer protocol number
 * @param payloadLen bytes that will follow the header
 * @param out destination @param off where to write
 * @param opts TTL, TOS, ID / flow label, DF
 * @returns the offset after the header (where the transport header goes)
 * @throws {RangeError} on mismatched families, a payload too long, or too little room
 */
export function emitIpHeader(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  payloadLen: number,
  out: Uint8Array,
  off: number,
  opts: IpHeaderOptions = {},
): number {
  const v4 = src.length === 4;
  if (src.length !== dst.length || (!v4 && src.length !== 16)) {
    throw new RangeError(`Cannot emit IP header: address lengths ${src.length}, ${dst.length}`);
  }
  const hl = v4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
  if (payloadLen < 0 || payloadLen + (v4 ? hl : 0) > 0xffff) {
    throw new RangeError(`Cannot emit IP header: payload ${payloadLen}`);
  }
  if (off < 0 || out.length - off < hl) {
    throw new RangeError(`Cannot emit IP header: ${hl} bytes into ${out.length - off}`);
  }
  const ttl = opts.ttl ?? DEFAULT_TTL;
  const tos = opts.tos ?? 0;
  const id = opts.id ?? 0;
  if (v4) {
    const total = hl + payloadLen;
    out[off] = 0x45;
    out[off + 1] = tos;
    out[off + 2] = total >>> 8;
    out[off + 3] = total;
    out[off + 4] = id >>> 8;
    out[off + 5] = id;
    out[off + 6] = opts.dontFragment ? 0x40 : 0;
    out[off + 7] = 0;
    out[off + 8] = ttl;
    out[off + 9] = protocol;
    out.set(src, off + 12);
    out.set(dst, off + 16);
    fillIpv4Checksum(out, off);
    return off + hl;
  }
  const fl = id & 0xfffff;
  out[off] = 0x60 | ((tos >>> 4) & 0x0f);
  out[off + 1] = ((tos & 0x0f) << 4) | (fl >>> 16);
  out[off + 2] = fl >>> 8;
  out[off + 3] = fl;
  out[off + 4] = payloadLen >>> 8;
  out[off + 5] = payloadLen;
  out[off + 6] = protocol;
  out[off + 7] = ttl;
  out.set(src, off + 8);
  out.set(dst, off + 24);
  return off + hl;
}

/**
 * Fills the checksum of the TCP, UDP, ICMP or ICMPv6 message in a complete packet that
 * {@linkcode inspectIp} has just described in `info`. No allocation. The pseudo-header uses
 * the IP destination, so a packet carrying an IPv6 routing header (whose checksum must use the
 * final destination, RFC 8200 §8.1) is not for this function; we never send one.
 * @param b the packet's bytes (as given to inspectIp)
 * @param info what inspectIp found
 * @returns false for another protocol, a fragment, or a transport header that is cut short
 */
export function fillTransportChecksum(b: Uint8Array, info: IpInfo): boolean {
  if (info.fragment || info.truncated) return false;
  const p = info.payloadOff;
  const n = info.payloadEnd - p;
  const ps = pseudoHeaderSumAt(b, info.srcOff, info.dstOff, info.addrLen, info.protocol, n);
  switch (info.protocol) {
    case IP_PROTO_TCP:
      if (n < TCP_HEADER_LEN) return false;
      fillTcpChecksum(b, p, info.payloadEnd, ps);
      return true;
    case IP_PROTO_UDP:
      // The UDP length field must cover exactly the IP payload for the sum to be right.
      if (n < UDP_HEADER_LEN || ((b[p + 4] << 8) | b[p + 5]) !== n) return false;
      fillUdpChecksum(b, p, ps);
      return true;
    case IP_PROTO_ICMP:
      if (info.version !== 4 || n < ICMPV4_HEADER_LEN) return false;
      fillIcmpv4Checksum(b, p, info.payloadEnd);
      return true;
    case IP_PROTO_ICMPV6:
      if (info.version !== 6 || n < ICMPV6_HEADER_LEN) return false;
      fillIcmpv6Checksum(b, p, info.payloadEnd, ps);
      return true;
  }
  return false;
}
