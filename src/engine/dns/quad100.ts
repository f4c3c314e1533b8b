/**
 * 100.100.100.100:53 inside the tailnet: the pipeline's 100.100.100.100 slot hands each packet
 * here. A UDP query to port 53 goes to the resolver and the answer goes back as an IP packet
 * from 100.100.100.100:53 (or fd7a:115c:a1e0::53); TCP goes to the service's own small stack
 * ({@linkcode Quad100TcpServer}, which answers port 53 and resets others). Anything else
 * (UDP to other ports, ICMP) is dropped and counted.
 * @module
 */
import {
  emitIpHeader,
  emitUdp,
  IP_PROTO_TCP,
  IP_PROTO_UDP,
  type IpInfo,
  isUdp,
  UDP_HEADER_LEN,
  udpDstPort,
  udpLength,
  udpSrcPort,
} from "../wire/mod.ts";
import { DNS_PORT } from "./constants.ts";
import type { MagicDnsResolver } from "./resolver.ts";
import type { Quad100TcpServer } from "./quad100_tcp.ts";

/** Packets the service did not answer, by reason. */
export interface Quad100Stats {
  /** UDP queries taken. */
  udpQueries: number;
  /** TCP packets handed to the TCP server. */
  tcpPackets: number;
  /** Neither UDP to port 53 nor TCP. */
  notDns: number;
  /** Queries the resolver dropped. */
  unanswered: number;
}

/** The 100.100.100.100 service (fits the pipeline's `LocalService` by shape). */
export class Quad100Service {
  /** Counters. */
  readonly stats: Quad100Stats = { udpQueries: 0, tcpPackets: 0, notDns: 0, unanswered: 0 };
  readonly #resolver: () => MagicDnsResolver;
  readonly #tcp: Quad100TcpServer | null;

  /** @param resolver the current resolver @param tcp the TCP server, or null for UDP only */
  constructor(resolver: () => MagicDnsResolver, tcp: Quad100TcpServer | null = null) {
    this.#resolver = resolver;
    this.#tcp = tcp;
  }

  /**
   * One packet addressed to the service.
   * @param packet the IP packet @param info its parse @param reply sends an IP packet back
   */
  inbound(packet: Uint8Array, info: Readonly<IpInfo>, reply: (packet: Uint8Array) => void): void {
    const off = info.payloadOff;
    if (info.protocol === IP_PROTO_TCP && this.#tcp !== null) {
      this.stats.tcpPackets++;
      this.#tcp.input(packet, info);
      return;
    }
    if (
      info.protocol !== IP_PROTO_UDP || info.fragment || !isUdp(packet, off, info.payloadEnd) ||
      udpDstPort(packet, off) !== DNS_PORT
    ) {
      this.stats.notDns++;
      return;
    }
    this.stats.udpQueries++;
    const query = packet.slice(off + UDP_HEADER_LEN, off + udpLength(packet, off));
    const client = packet.slice(info.srcOff, info.srcOff + info.addrLen);
    const service = packet.slice(info.dstOff, info.dstOff + info.addrLen);
    const clientPort = udpSrcPort(packet, off);
    void this.#resolver().query(query, "udp").then((answer) => {
      if (answer === null) {
        this.stats.unanswered++;
        return;
      }
      reply(udpPacket(service, DNS_PORT, client, clientPort, answer));
    });
  }
}

/**
 * A UDP-in-IP packet with checksums filled.
 * @param src source address (4 or 16 bytes) @param srcPort source port
 * @param dst destination address @param dstPort destination port @param payload data
 * @returns the packet
 */
export function udpPacket(
  src: Uint8Array,
  srcPort: number,
  dst: Uint8Array,
  dstPort: number,
  payload: Uint8Array,
): Uint8Array {
  const ipLen = src.length === 4 ? 20 : 40;
  const out = new Uint8Array(ipLen + UDP_HEADER_LEN + payload.length);
  const at = emitIpHeader(src, dst, IP_PROTO_UDP, UDP_HEADER_LEN + payload.length, out, 0);
  emitUdp({ srcPort, dstPort, payload }, out, at, { src, dst });
  return out;
}
