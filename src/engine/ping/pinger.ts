/**
 * IP-level pings through WireGuard, as `tailscale ping --icmp` and `--tsmp` send them: an ICMP
 * or ICMPv6 echo request, or a TSMP ping with 8 random bytes, from our Tailscale address to
 * the peer's. Replies are matched by (identifier, sequence) or by the 8 bytes. No I/O: the
 * caller sends the built packet and feeds inbound packets to {@linkcode IpPinger.observe}.
 * @module
 */
import type { Clock } from "../base/clock.ts";
import { PingTracker } from "../disco/ping_tracker.ts";
import { emitIcmpv4 } from "../wire/icmpv4.ts";
import { emitIcmpv6 } from "../wire/icmpv6.ts";
import { emitIpv4 } from "../wire/ipv4.ts";
import { emitIpv6 } from "../wire/ipv6.ts";
import { inspectIp, type IpInfo, newIpInfo } from "../wire/ip.ts";
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TSMP } from "../wire/ip_proto.ts";
import { emitTsmpPacket, parseTsmp, TSMP_PING_DATA_LEN, tsmpPacketLen } from "../wire/tsmp.ts";

/** What a TSMP pong tells besides the round trip. */
export interface PongInfo {
  /** The peer's peerAPI port, 0 when it has none (ICMP pongs always 0). */
  peerApiPort: number;
}

const ECHO_DATA = new TextEncoder().encode("tailnet-ping");
const TTL = 64;
const ICMP_ECHO_REPLY = 0;
const ICMPV6_ECHO_REPLY = 129;

/** Options for {@linkcode IpPinger}. */
export interface IpPingerOptions {
  /** Where ping deadlines run and round trips are measured; default the system clock. */
  clock?: Clock;
}

/** Builds pings and matches their answers for one node. */
export class IpPinger {
  readonly #tracker: PingTracker<PongInfo>;
  readonly #info: IpInfo = newIpInfo();
  readonly #ident = crypto.getRandomValues(new Uint16Array(1))[0];
  #seq = 0;

  /** @param opts the clock */
  constructor(opts: IpPingerOptions = {}) {
    this.#tracker = new PingTracker<PongInfo>({ clock: opts.clock });
  }

  /**
   * Builds an echo request and a promise of its reply.
   * @param src our address (4 or 16 bytes)
   * @param dst the peer's, same family
   * @param timeoutMs how long to wait
   * @returns the packet to send and the pending answer
   */
  icmp(src: Uint8Array, dst: Uint8Array, timeoutMs: number): {
    packet: Uint8Array;
    answer: Promise<{ value: PongInfo; rttMs: number }>;
  } {
    this.#seq = (this.#seq + 1) & 0xffff;
    const msg = {
      type: "echo-request" as const,
      ident: this.#ident,
      seq: this.#seq,
      data: ECHO_DATA,
    };
    const v4 = src.length === 4;
    const payloadLen = 8 + ECHO_DATA.length;
    const packet = new Uint8Array((v4 ? 20 : 40) + payloadLen);
    let at: number;
    if (v4) {
      at = emitIpv4(
        {
          tos: 0,
          id: this.#seq,
          dontFragment: false,
          moreFragments: false,
          fragmentOffset: 0,
          ttl: TTL,
          protocol: IP_PROTO_ICMP,
          src,
          dst,
          options: new Uint8Array(0),
          payloadLen,
        },
        packet,
        0,
      );
      emitIcmpv4(msg, packet, at);
    } else {
      at = emitIpv6(
        {
          trafficClass: 0,
          flowLabel: 0,
          hopLimit: TTL,
          src,
          dst,
          extensions: [],
          protocol: IP_PROTO_ICMPV6,
          payloadLen,
        },
        packet,
        0,
      );
      emitIcmpv6(msg, packet, at, { src, dst });
    }
    return { packet, answer: this.#tracker.wait(echoKey(this.#ident, this.#seq), timeoutMs) };
  }

  /**
   * Builds a TSMP ping and a promise of its pong.
   * @param src our address (4 or 16 bytes)
   * @param dst the peer's, same family
   * @param timeoutMs how long to wait
   * @returns the packet to send and the pending answer
   */
  tsmp(src: Uint8Array, dst: Uint8Array, timeoutMs: number): {
    packet: Uint8Array;
    answer: Promise<{ value: PongInfo; rttMs: number }>;
  } {
    const data = crypto.getRandomValues(new Uint8Array(TSMP_PING_DATA_LEN));
    const msg = { type: "ping" as const, data };
    const packet = new Uint8Array(tsmpPacketLen(msg, src.length));
    emitTsmpPacket(msg, src, dst, packet, 0);
    return { packet, answer: this.#tracker.wait(data, timeoutMs) };
  }

  /**
   * Looks at an inbound packet; if it answers one of our pings, resolves it.
   * @param packet a decrypted IP packet
   * @returns true when it was an answer to us (the caller drops it)
   */
  observe(packet: Uint8Array): boolean {
    if (this.#tracker.size === 0) return false;
    const info = this.#info;
    if (!inspectIp(packet, 0, packet.length, info)) return false;
    return this.observeParsed(packet, info);
  }

  /**
   * Like {@linkcode IpPinger.observe} for a packet the caller has already inspected.
   * @param packet a decrypted IP packet
   * @param info what `inspectIp` found in it (the pipeline parses each packet once)
   * @returns true when it was an answer to us (the caller drops it)
   */
  observeParsed(packet: Uint8Array, info: Readonly<IpInfo>): boolean {
    if (this.#tracker.size === 0 || info.fragment) return false;
    const p = info.payloadOff;
    if (info.protocol === IP_PROTO_TSMP) {
      try {
        const m = parseTsmp(packet, p, info.payloadEnd);
        if (m.type !== "pong") return false;
        return this.#tracker.answer(m.data, { peerApiPort: m.peerApiPort });
      } catch {
        return false;
      }
    }
    const reply = info.version === 4 ? ICMP_ECHO_REPLY : ICMPV6_ECHO_REPLY;
    const proto = info.version === 4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6;
    if (info.protocol !== proto || info.payloadEnd - p < 8 || packet[p] !== reply) return false;
    const ident = (packet[p + 4] << 8) | packet[p + 5];
    const seq = (packet[p + 6] << 8) | packet[p + 7];
    if (ident !== this.#ident) return false;
    return this.#tracker.answer(echoKey(ident, seq), { peerApiPort: 0 });
  }

  /** Rejects every pending ping. */
  close(): void {
    this.#tracker.close();
  }
}

function echoKey(ident: number, seq: number): Uint8Array {
  return new Uint8Array([ident >> 8, ident & 0xff, seq >> 8, seq & 0xff]);
}
