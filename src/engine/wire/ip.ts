/**
 * One entry point for an IP packet of either family: dispatch on the version nibble and find
 * the addresses, the upper-layer protocol and where its bytes start, into a caller-owned
 * {@linkcode IpInfo} (no object per packet). IPv6 extension headers are walked; fragments are
 * flagged so the caller does not read ports from a later fragment.
 *
 * Differences from tailscaled (net/packet/packet.go `decode6`), which the filter layer may
 * want to mirror: Go reads past only a fragment header that directly follows the fixed IPv6
 * header; a packet with hop-by-hop, routing or destination options is "unknown" there and
 * dropped by its filter. We walk all four so the stack can decide. Go's ICMP echo for
 * `tailscale ping --icmp` is 8 bytes with no data: the identifier and sequence fields hold 4
 * random bytes that it matches, read as a little-endian u32, on the reply.
 *
 * @example Inspect a packet
 * ```ts
 * import { inspectIp, newIpInfo } from "./ip.ts";
 * import { emitIpv4 } from "./ipv4.ts";
 * const b = new Uint8Array(28);
 * emitIpv4({
 *   tos: 0, id: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: 64,
 *   protocol: 17, src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]),
 *   options: new Uint8Array(0), payloadLen: 8,
 * }, b, 0);
 * const info = newIpInfo();
 * if (!inspectIp(b, 0, b.length, info) || info.protocol !== 17 || info.payloadOff !== 20) {
 *   throw new Error("bad");
 * }
 * ```
 * @module
 */

import {
  IPV4_DST_AT,
  IPV4_HEADER_LEN,
  IPV4_PROTOCOL_AT,
  IPV4_SRC_AT,
  IPV4_TOTAL_LEN_AT,
  IPV4_TTL_AT,
  ipv4FragmentOffset,
  ipv4HeaderLen,
  ipv4IsFragment,
  isIpv4,
} from "./ipv4.ts";
import {
  IPV6_DST_AT,
  IPV6_HEADER_LEN,
  IPV6_HOP_LIMIT_AT,
  IPV6_PAYLOAD_LEN_AT,
  IPV6_SRC_AT,
  newIpv6Upper,
  walkIpv6Chain,
} from "./ipv6.ts";
import type { Ipv6Upper } from "./ipv6.ts";
import { readU16be } from "../base/bytes.ts";

/** What {@linkcode inspectIp} found. Reuse one per receive loop. */
export interface IpInfo {
  /** 4 or 6. */
  version: 4 | 6;
  /** Address length: 4 or 16. */
  addrLen: 4 | 16;
  /** Offset of the source address in the buffer. */
  srcOff: number;
  /** Offset of the destination address in the buffer. */
  dstOff: number;
  /** Upper-layer protocol (after IPv6 extension headers). */
  protocol: number;
  /** TTL or hop limit. */
  ttl: number;
  /** Where the upper-layer bytes start. */
  payloadOff: number;
  /** One past the last upper-layer byte (from the IP length field, or the buffer when truncated). */
  payloadEnd: number;
  /** Whether this is any fragment of a larger datagram. */
  fragment: boolean;
  /** Whether it is a fragment other than the first: no upper-layer header here. */
  laterFragment: boolean;
  /** Whether the packet was shorter than its length field said (only with `allowTruncated`). */
  truncated: boolean;
  /** Scratch for the IPv6 walk; callers need not read it. */
  readonly v6: Ipv6Upper;
}

/** A fresh {@linkcode IpInfo} to reuse. @returns zeroed scratch */
export function newIpInfo(): IpInfo {
  return {
    version: 4,
    addrLen: 4,
    srcOff: 0,
    dstOff: 0,
    protocol: 0,
    ttl: 0,
    payloadOff: 0,
    payloadEnd: 0,
    fragment: false,
    laterFragment: false,
    truncated: false,
    v6: newIpv6Upper(),
  };
}

/**
 * The version nibble of the byte at `off`, or 0 when there is no byte.
 * @param b bytes @param off packet start
 * @returns 4, 6, another nibble, or 0
 */
export function ipVersion(b: Uint8Array, off: number): number {
  return off < b.length ? b[off] >>> 4 : 0;
}

/**
 * Inspects the IP packet at `b[off..end)`, filling `out`. No allocation. Lengths are checked;
 * the IPv4 header checksum is not (call `ipv4ChecksumOk` where it matters).
 * @param b bytes @param off packet start @param end one past the last valid byte
 * @param out filled on success
 * @param allowTruncated accept a packet shorter than its length field (an ICMP error quotes
 *   only the start of the original); `payloadEnd` is then `end` and `truncated` is set
 * @returns false when it is not a well-formed IPv4 or IPv6 packet
 */
export function inspectIp(
  b: Uint8Array,
  off: number,
  end: number,
  out: IpInfo,
  allowTruncated = false,
): boolean {
  if (off < 0 || end > b.length || off >= end) return false;
  const v = b[off] >>> 4;
  if (v === 4) {
    let stop = end;
    out.truncated = false;
    if (!isIpv4(b, off, end)) {
      if (!allowTruncated || end - off < IPV4_HEADER_LEN) return false;
      const hl = ipv4HeaderLen(b, off);
      const total = readU16be(b, off + IPV4_TOTAL_LEN_AT);
      if (hl < IPV4_HEADER_LEN || hl > total || off + hl > end) return false;
      out.truncated = true;
    } else {
      stop = off + readU16be(b, off + IPV4_TOTAL_LEN_AT);
    }
    out.version = 4;
    out.addrLen = 4;
    out.srcOff = off + IPV4_SRC_AT;
    out.dstOff = off + IPV4_DST_AT;
    out.protocol = b[off + IPV4_PROTOCOL_AT];
    out.ttl = b[off + IPV4_TTL_AT];
    out.payloadOff = off + ipv4HeaderLen(b, off);
    out.payloadEnd = stop;
    out.fragment = ipv4IsFragment(b, off);
    out.laterFragment = ipv4FragmentOffset(b, off) !== 0;
    return true;
  }
  if (v === 6) {
    if (end - off < IPV6_HEADER_LEN) return false;
    const claimed = off + IPV6_HEADER_LEN + readU16be(b, off + IPV6_PAYLOAD_LEN_AT);
    out.truncated = claimed > end;
    if (out.truncated && !allowTruncated) return false;
    const stop = out.truncated ? end : claimed;
    if (!walkIpv6Chain(b, off, stop, out.v6)) return false;
    out.version = 6;
    out.addrLen = 16;
    out.srcOff = off + IPV6_SRC_AT;
    out.dstOff = off + IPV6_DST_AT;
    out.protocol = out.v6.protocol;
    out.ttl = b[off + IPV6_HOP_LIMIT_AT];
    out.payloadOff = out.v6.payloadOff;
    out.payloadEnd = stop;
    out.fragment = out.v6.fragment;
    out.laterFragment = out.v6.fragment && out.v6.fragmentOffset !== 0;
    return true;
  }
  return false;
}
