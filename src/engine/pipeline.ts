/**
 * The packet pipeline of one node: every decrypted IP packet is parsed once, into an
 * {@linkcode IpInfo}, and each stage reads that.
 *
 * Inbound, from WireGuard (which already dropped a packet whose source is not in the sending
 * peer's AllowedIPs, counted as `badAllowedIp`):
 * 1. parse (malformed: dropped, counted);
 * 2. answers to our own pings (ICMP or TSMP), taken before the filter as tailscaled does;
 * 3. the filter slot ({@linkcode PacketFilter}; the engine fills it with the stateful filter,
 *    which also asks for a TSMP reject to go back for a refused TCP SYN), which TSMP skips
 *    (tailscaled answers TSMP pings before its filter);
 * 4. local handlers: the responder (ICMP echo to our addresses, TSMP), then the
 *    100.100.100.100 slot ({@linkcode LocalService}, empty until the DNS server fills it);
 * 5. the stack.
 *
 * Outbound, from the stack and the engine's own pings and replies: parse, the filter slot,
 * then the 100.100.100.100 slot for packets to that address (the node's own proxies and
 * `dial()` asking MagicDNS; its answers go back into the stack), else WireGuard.
 * @module
 */
import type { NodePublic } from "./key/keys.ts";
import type { IpPinger } from "./ping/pinger.ts";
import type { Responder } from "./ping/responder.ts";
import { inspectIp, type IpInfo, newIpInfo } from "./wire/ip.ts";
import { IP_PROTO_TSMP } from "./wire/ip_proto.ts";

/**
 * The filter slot: one decision per parsed packet. Inbound packets to the destinations this
 * node relays as subnet router or exit node (`EngineConfig.routes`) come through here too,
 * with their real destination address, before the stack and forwarder relay them: as in
 * tailscaled, the rules decide which peers may use the routes (the stack itself only checks
 * that a route covers the destination).
 */
export interface PacketFilter {
  /**
   * Whether an inbound packet may go on to the local handlers and the stack.
   * @param packet the packet @param info its parse @param peer the sending peer
   */
  inbound(packet: Uint8Array, info: Readonly<IpInfo>, peer: NodePublic): boolean;
  /**
   * Whether an outbound packet may go to WireGuard.
   * @param buf bytes holding the packet @param info its parse (offsets into `buf`)
   */
  outbound(buf: Uint8Array, info: Readonly<IpInfo>): boolean;
  /**
   * What to send back for an inbound packet the filter just refused (tailscaled: a TSMP
   * reject for a TCP SYN), or null. Optional.
   * @param packet the refused packet @param info its parse
   */
  rejection?(packet: Uint8Array, info: Readonly<IpInfo>): Uint8Array | null;
}

/** A filter that passes every packet (the slot's initial value; tests). */
export const ACCEPT_ALL: PacketFilter = Object.freeze({
  inbound: () => true,
  outbound: () => true,
});

/** A service the node answers itself at a local address (the 100.100.100.100 slot). */
export interface LocalService {
  /**
   * Takes one inbound packet addressed to the service.
   * @param packet the packet @param info its parse @param reply sends an answer out
   */
  inbound(packet: Uint8Array, info: Readonly<IpInfo>, reply: (packet: Uint8Array) => void): void;
}

/** What the pipeline hands packets to. */
export interface PipelineTargets {
  /** WireGuard's send (16 bytes of headroom before `off`). */
  send(buf: Uint8Array, off: number, len: number): boolean;
  /** WireGuard's send for a packet without headroom (it copies). */
  sendCopy(packet: Uint8Array): boolean;
  /** The stack's input for a parsed packet. */
  stackInput(packet: Uint8Array, info: IpInfo): void;
  /** Answers to our own pings. */
  pinger: IpPinger;
  /** Echo and TSMP answers. */
  responder: Responder;
}

/** Inbound packets by what became of them. */
export interface InboundStats {
  /** Echo requests and TSMP pings answered. */
  answered: number;
  /** Replies to our own pings. */
  pingReplies: number;
  /** TSMP messages consumed. */
  tsmpConsumed: number;
  /** Taken by the 100.100.100.100 service. */
  quad100: number;
  /** Handed to the stack. */
  passed: number;
  /** Dropped by the pipeline (the sum of `drops`). */
  dropped: number;
  /** Pipeline drops by reason. */
  drops: {
    /** Not a well-formed IPv4/IPv6 packet. */
    malformed: number;
    /** Refused by the filter slot. */
    filtered: number;
  };
}

/** Outbound packets by what became of them. */
export interface OutboundStats {
  /** Handed to WireGuard, which took them. */
  sent: number;
  /** Taken by the 100.100.100.100 service (from our own stack). */
  quad100: number;
  /** Dropped by the pipeline or refused by WireGuard (the sum of `drops`). */
  dropped: number;
  /** Drops by reason. */
  drops: {
    /** Not a well-formed IPv4/IPv6 packet. */
    malformed: number;
    /** Refused by the filter slot. */
    filtered: number;
    /** WireGuard refused it (no peer for the destination, closed; its own counters say). */
    notSent: number;
  };
}

// 100.100.100.100 and fd7a:115c:a1e0::53: Tailscale's service addresses.
const QUAD100_V4 = new Uint8Array([100, 100, 100, 100]);
const QUAD100_V6 = new Uint8Array([
  0xfd,
  0x7a,
  0x11,
  0x5c,
  0xa1,
  0xe0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0x53,
]);

/** One node's packet path between WireGuard and the stack. */
export class PacketPipeline {
  /** Inbound counters. */
  readonly inboundStats: InboundStats = {
    answered: 0,
    pingReplies: 0,
    tsmpConsumed: 0,
    quad100: 0,
    passed: 0,
    dropped: 0,
    drops: { malformed: 0, filtered: 0 },
  };
  /** Outbound counters. */
  readonly outboundStats: OutboundStats = {
    sent: 0,
    quad100: 0,
    dropped: 0,
    drops: { malformed: 0, filtered: 0, notSent: 0 },
  };
  readonly #t: PipelineTargets;
  // Two scratches: an inbound packet's stack input may send (a reply) before it returns.
  readonly #in: IpInfo = newIpInfo();
  readonly #out: IpInfo = newIpInfo();
  readonly #loop: IpInfo = newIpInfo();
  // The service's answers to our own stack go straight back into it.
  readonly #replyToStack = (packet: Uint8Array) => {
    if (inspectIp(packet, 0, packet.length, this.#loop)) this.#t.stackInput(packet, this.#loop);
  };
  readonly #reply = (packet: Uint8Array) => {
    this.outboundPacket(packet);
  };
  #filter: PacketFilter = ACCEPT_ALL;
  #quad100: LocalService | null = null;
  #local: readonly Uint8Array[] = [];
  readonly #isLocal = (b: Uint8Array, off: number, len: number): boolean => {
    outer: for (const a of this.#local) {
      if (a.length !== len) continue;
      for (let i = 0; i < len; i++) if (a[i] !== b[off + i]) continue outer;
      return true;
    }
    return false;
  };

  /** @param targets WireGuard, the stack and the ping handlers */
  constructor(targets: PipelineTargets) {
    this.#t = targets;
  }

  /** Fills the filter slot; {@linkcode ACCEPT_ALL} empties it. */
  setFilter(filter: PacketFilter): void {
    this.#filter = filter;
  }

  /** Fills the 100.100.100.100 slot, or empties it with null (packets then go to the stack). */
  setQuad100(service: LocalService | null): void {
    this.#quad100 = service;
  }

  /** Sets our addresses (4 or 16 bytes each), which the echo responder answers for. */
  setLocalAddresses(addrs: readonly Uint8Array[]): void {
    this.#local = addrs;
  }

  /**
   * One decrypted packet from a peer (WireGuard's `onPacket`).
   * @param packet the IP packet @param peer the sending peer's node key
   */
  inbound(packet: Uint8Array, peer: NodePublic): void {
    const st = this.inboundStats;
    const info = this.#in;
    if (!inspectIp(packet, 0, packet.length, info)) {
      st.drops.malformed++;
      st.dropped++;
      return;
    }
    // As tailscaled's tstun: the replies to our own pings, and TSMP (pings answered, the rest
    // consumed by the responder), are taken before the filter, whatever its rules say.
    if (this.#t.pinger.observeParsed(packet, info)) {
      st.pingReplies++;
      return;
    }
    if (info.protocol !== IP_PROTO_TSMP && !this.#filter.inbound(packet, info, peer)) {
      st.drops.filtered++;
      st.dropped++;
      const reject = this.#filter.rejection?.(packet, info) ?? null;
      if (reject !== null) this.outboundPacket(reject);
      return;
    }
    const r = this.#t.responder.handleParsed(packet, info, this.#isLocal);
    if (r.kind === "reply") {
      st.answered++;
      this.outboundPacket(r.packet);
      return;
    }
    if (r.kind === "consumed") {
      st.tsmpConsumed++;
      return;
    }
    if (this.#quad100 !== null && isQuad100(packet, info)) {
      st.quad100++;
      this.#quad100.inbound(packet, info, this.#reply);
      return;
    }
    st.passed++;
    this.#t.stackInput(packet, info);
  }

  /**
   * One packet out (the stack's output): `buf` has WireGuard's 16 bytes of headroom before
   * `off`, and WireGuard owns it after the call.
   * @param buf bytes @param off packet start @param len packet length
   * @returns whether WireGuard took it
   */
  outbound(buf: Uint8Array, off: number, len: number): boolean {
    if (!this.#check(buf, off, len)) return false;
    if (this.#toQuad100(buf)) return true;
    return this.#sent(this.#t.send(buf, off, len));
  }

  /**
   * One packet out that has no headroom (pings, replies, injected packets): copied once.
   * @param packet the IP packet
   * @returns whether WireGuard took it
   */
  outboundPacket(packet: Uint8Array): boolean {
    if (!this.#check(packet, 0, packet.length)) return false;
    if (this.#toQuad100(packet)) return true;
    return this.#sent(this.#t.sendCopy(packet));
  }

  #check(buf: Uint8Array, off: number, len: number): boolean {
    const st = this.outboundStats;
    const info = this.#out;
    if (!inspectIp(buf, off, off + len, info)) {
      st.drops.malformed++;
      st.dropped++;
      return false;
    }
    if (!this.#filter.outbound(buf, info)) {
      st.drops.filtered++;
      st.dropped++;
      return false;
    }
    return true;
  }

  /** Hands a checked outbound packet to the 100.100.100.100 slot when it is for it. */
  #toQuad100(buf: Uint8Array): boolean {
    if (this.#quad100 === null || !isQuad100(buf, this.#out)) return false;
    this.outboundStats.quad100++;
    this.#quad100.inbound(buf, this.#out, this.#replyToStack);
    return true;
  }

  #sent(ok: boolean): boolean {
    const st = this.outboundStats;
    if (ok) st.sent++;
    else {
      st.drops.notSent++;
      st.dropped++;
    }
    return ok;
  }
}

function isQuad100(b: Uint8Array, info: Readonly<IpInfo>): boolean {
  const want = info.version === 4 ? QUAD100_V4 : QUAD100_V6;
  for (let i = 0; i < want.length; i++) if (b[info.dstOff + i] !== want[i]) return false;
  return true;
}
