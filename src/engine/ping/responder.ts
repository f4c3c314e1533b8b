/**
 * Answers the packets a node answers itself, before any stack sees them: ICMP and ICMPv6 echo
 * requests to our Tailscale addresses (tailscaled's netstack does the same in userspace mode)
 * and TSMP pings (always, as tailscaled's tstun layer does). Every other TSMP message is
 * consumed here, never passed up. No I/O: it returns the reply for the caller to send.
 * @module
 */
import { buildIcmpEchoReply } from "../wire/replies.ts";
import { buildTsmpPong } from "../wire/tsmp.ts";
import { inspectIp, type IpInfo, newIpInfo } from "../wire/ip.ts";
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TSMP } from "../wire/ip_proto.ts";

/** What {@linkcode Responder.handle} did with a packet. */
export type Handled =
  | { kind: "reply"; packet: Uint8Array }
  | { kind: "consumed" }
  | { kind: "pass" };

// Room for an echo reply of a full-MTU request.
const REPLY_BUFFER_LEN = 1500;

/** Answers echo requests and TSMP pings for one node. */
export class Responder {
  // The reply builders in wire/ re-check the request into this scratch.
  readonly #scratch: IpInfo = newIpInfo();
  readonly #info: IpInfo = newIpInfo();
  readonly #out = new Uint8Array(REPLY_BUFFER_LEN);
  #echoId = 0;

  /**
   * Handles one inbound packet.
   * @param packet a decrypted IP packet
   * @param isLocal whether an address (4 or 16 bytes at `off`) is one of ours
   * @returns a reply to send, "consumed" (TSMP we do not answer), or "pass" (for the stack)
   */
  handle(
    packet: Uint8Array,
    isLocal: (b: Uint8Array, off: number, len: number) => boolean,
  ): Handled {
    const info = this.#info;
    if (!inspectIp(packet, 0, packet.length, info)) return { kind: "pass" };
    return this.handleParsed(packet, info, isLocal);
  }

  /**
   * Handles one inbound packet the caller has already inspected (the pipeline parses each
   * packet once).
   * @param packet a decrypted IP packet
   * @param info what `inspectIp` found in it
   * @param isLocal whether an address (4 or 16 bytes at `off`) is one of ours
   * @returns a reply to send, "consumed" (TSMP we do not answer), or "pass" (for the stack)
   */
  handleParsed(
    packet: Uint8Array,
    info: Readonly<IpInfo>,
    isLocal: (b: Uint8Array, off: number, len: number) => boolean,
  ): Handled {
    if (info.protocol === IP_PROTO_TSMP) {
      const end = buildTsmpPong(packet, 0, packet.length, 0, this.#out, 0, this.#scratch);
      return end < 0 ? { kind: "consumed" } : { kind: "reply", packet: this.#out.slice(0, end) };
    }
    const isIcmp = info.protocol === (info.version === 4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6);
    if (!isIcmp || !isLocal(packet, info.dstOff, info.addrLen)) return { kind: "pass" };
    this.#echoId = (this.#echoId + 1) & 0xffff;
    const end = buildIcmpEchoReply(packet, 0, packet.length, this.#out, 0, this.#scratch, {
      ipId: this.#echoId,
    });
    return end < 0 ? { kind: "pass" } : { kind: "reply", packet: this.#out.slice(0, end) };
  }
}
