/**
 * Wire codecs: byte layouts parsed and emitted with no I/O. This module names the packet
 * codecs other folders may use (IP, ICMP, UDP, TCP, TSMP, checksums, addresses, reply
 * builders). Hot-path functions work over `(Uint8Array, offset)` with no object per packet;
 * `parseX`/`emitX` give and take typed values for the control path and tests. The DERP frame
 * and disco message codecs live beside these, in files of their own.
 *
 * @example Find the protocol and ports of a received packet
 * ```ts
 * import { emitIpHeader, inspectIp, newIpInfo, parseIpAddr, udpDstPort } from "./mod.ts";
 * const src = parseIpAddr("100.64.0.1"), dst = parseIpAddr("100.64.0.2");
 * const b = new Uint8Array(28);
 * const at = emitIpHeader(src, dst, 17, 8, b, 0);
 * b.set([0x13, 0x88, 0x00, 0x35, 0x00, 0x08, 0, 0], at);
 * const info = newIpInfo();
 * if (!inspectIp(b, 0, b.length, info) || udpDstPort(b, info.payloadOff) !== 53) {
 *   throw new Error("bad");
 * }
 * ```
 * @module
 */

export * from "./checksum.ts";
export * from "./dns.ts";
export * from "./dns_name.ts";
export * from "./dns_text.ts";
export * from "./icmpv4.ts";
export * from "./icmpv6.ts";
export * from "./ip.ts";
export * from "./ip_addr.ts";
export * from "./ip_build.ts";
export * from "./ip_proto.ts";
export * from "./ipv4.ts";
export * from "./ipv6.ts";
export * from "./replies.ts";
export * from "./tcp.ts";
export * from "./stun.ts";
export * from "./tsmp.ts";
export * from "./udp.ts";
