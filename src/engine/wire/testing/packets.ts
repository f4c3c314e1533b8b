/**
 * Whole packets built for tests (not shipped), so that tests of the layers above `wire/` do not
 * each spell out an IP header.
 * @module
 */

import { parseIpAddr } from "../ip_addr.ts";
import { IP_PROTO_UDP } from "../ip_proto.ts";
import { emitIpv4 } from "../ipv4.ts";
import { emitUdp } from "../udp.ts";

/**
 * An IPv4 UDP packet with checksums filled: TTL 64, no options, no fragmentation.
 * @param src source address (IPv4 text) @param dst destination address (IPv4 text)
 * @param srcPort UDP source port @param dstPort UDP destination port
 * @param payload the datagram's bytes, or text sent as UTF-8
 * @returns the packet's bytes
 */
export function ipv4UdpPacket(
  src: string,
  dst: string,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array | string,
): Uint8Array {
  const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const s = parseIpAddr(src), d = parseIpAddr(dst);
  const b = new Uint8Array(20 + 8 + data.length);
  const at = emitIpv4(
    {
      tos: 0,
      id: 1,
      dontFragment: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: IP_PROTO_UDP,
      src: s,
      dst: d,
      options: new Uint8Array(0),
      payloadLen: 8 + data.length,
    },
    b,
    0,
  );
  emitUdp({ srcPort, dstPort, payload: data }, b, at, { src: s, dst: d });
  return b;
}
