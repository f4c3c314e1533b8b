/**
 * The stateful packet filter, as tailscaled's `wgengine/filter` (read at v1.98.10), for the
 * pipeline's filter slot. Inbound (from peers), in Go's order:
 *
 * 1. `pre`: what Go's decoder calls an unknown protocol (a transport header cut short, a tiny
 *    later fragment, protocol 0 or 0xff, see `goProtocol`), a multicast or link-local unicast
 *    destination: dropped. A later IPv4 fragment passes (it has no ports). IPv6 extension
 *    headers are not walked, as in Go: their number is the protocol.
 * 2. The destination must be one of ours (`local`): a peer cannot make us forward to an
 *    address we did not advertise. Before the first config nothing is ours (Go's
 *    `NewAllowNone`): default deny.
 * 3. By protocol: ICMP echo replies and errors pass; other ICMP passes when any rule lets the
 *    source reach the destination IP (any port or protocol). TCP without SYN (or with SYN and
 *    ACK) passes: a new connection cannot start without a bare SYN, so this lets the replies
 *    of connections we opened in. A bare SYN needs a rule. UDP and SCTP pass when they answer
 *    a flow we sent (the {@linkcode FlowCache}), else need a rule. TSMP passes. Other
 *    protocols need a rule for all ports.
 *
 * Shields-up is Go's `NewShieldsUpFilter`: the same filter with no rules, so replies still
 * pass and every new inbound connection is dropped. Outbound, only `pre` can drop, and each
 * UDP/SCTP packet records its flow. A `cap:NAME` source matches the addresses of the nodes
 * holding capability NAME (`capHolders`, from the netmap).
 *
 * @example Default deny, then a rule
 * ```ts
 * import { StatefulFilter } from "./filter.ts";
 * import { compileFilterRules } from "./rules.ts";
 * import { inspectIp, newIpInfo } from "../wire/ip.ts";
 * import { parseIpPrefix } from "../wire/ip_addr.ts";
 * // IPv4 TCP SYN 100.64.0.2:40000 -> 100.64.0.1:8080
 * const p = new Uint8Array(40);
 * p.set([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 100, 64, 0, 2, 100, 64, 0, 1]);
 * p.set([0x9c, 0x40, 0x1f, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02], 20);
 * const info = newIpInfo();
 * inspectIp(p, 0, p.length, info);
 * const f = new StatefulFilter();
 * if (f.inbound(p, info)) throw new Error("not default deny");
 * f.configure({
 *   rules: compileFilterRules([{ SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: { First: 8080, Last: 8080 } }] }]).rules,
 *   local: [parseIpPrefix("100.64.0.1/32")],
 *   shieldsUp: false,
 * });
 * if (!f.inbound(p, info)) throw new Error("rule ignored");
 * ```
 * @module
 */
import { readU16be } from "../base/bytes.ts";
import type { IpInfo } from "../wire/ip.ts";
import { formatIpPrefix, type IpPrefix, prefixContainsAt } from "../wire/ip_addr.ts";
import {
  IP_PROTO_ICMP,
  IP_PROTO_ICMPV6,
  IP_PROTO_TCP,
  IP_PROTO_TSMP,
  IP_PROTO_UDP,
} from "../wire/ip_proto.ts";
import { TCP_ACK, TCP_FLAGS_AT, TCP_SYN } from "../wire/tcp.ts";
import {
  emitTsmpPacket,
  TSMP_REASON_ACL,
  TSMP_REASON_SHIELDS_UP,
  type TsmpMessage,
  tsmpPacketLen,
} from "../wire/tsmp.ts";
import { FlowCache, flowKey } from "./conntrack.ts";
import { type FilterDestination, type FilterRule, formatFilterRule } from "./rules.ts";

/** What the filter enforces; from the engine config. */
export interface FilterConfig {
  /** The compiled rules (empty: no new inbound connection is allowed). */
  readonly rules: readonly FilterRule[];
  /** Destinations that are ours: our addresses (and routes we serve). */
  readonly local: readonly IpPrefix[];
  /** `--shields-up`: ignore the rules, allow only replies. */
  readonly shieldsUp: boolean;
  /** For `cap:NAME` sources: the addresses of the nodes holding NAME (absent: none do). */
  readonly capHolders?: Readonly<Record<string, readonly Uint8Array[]>>;
  /** The first rule compile error, shown by `debug` ("" or absent when none). */
  readonly error?: string;
}

/** Why an inbound packet was dropped. */
export type InboundDropReason =
  | "notReady"
  | "unknownProto"
  | "multicast"
  | "linkLocal"
  | "notLocal"
  | "shieldsUp"
  | "noRulesMatched";

/** Why an inbound packet was accepted. */
export type InboundAcceptReason =
  | "fragment"
  | "icmpResponse"
  | "icmpRule"
  | "tcpNonSyn"
  | "tcpRule"
  | "flowReply"
  | "udpRule"
  | "tsmp"
  | "otherRule";

/** Why an outbound packet was dropped. */
export type OutboundDropReason = "unknownProto" | "multicast" | "linkLocal";

/** The filter's counters. */
export interface FilterStats {
  /** Inbound verdicts. */
  inbound: {
    /** Packets accepted. */
    accepted: number;
    /** Packets dropped (the sum of `drops`). */
    dropped: number;
    /** Accepts by reason. */
    accepts: Record<InboundAcceptReason, number>;
    /** Drops by reason. */
    drops: Record<InboundDropReason, number>;
  };
  /** Outbound verdicts. */
  outbound: {
    /** Packets accepted. */
    accepted: number;
    /** Packets dropped (the sum of `drops`). */
    dropped: number;
    /** Drops by reason. */
    drops: Record<OutboundDropReason, number>;
  };
  /** TSMP rejects sent back for dropped TCP SYNs. */
  rejectsSent: number;
  /** UDP/SCTP flows remembered now. */
  flows: number;
}

/** The filter in force, as text (see {@linkcode StatefulFilter.describe}). */
export interface FilterDescription {
  /** Whether a config arrived (false: default deny). */
  ready: boolean;
  /** Shields-up. */
  shieldsUp: boolean;
  /** Our destinations. */
  local: string[];
  /** One line per rule, in order. */
  rules: string[];
  /** The first compile error, "" when none. */
  error: string;
}

/** One rule, cut down to one address family (Go's `matchesFamily`). */
interface FamilyRule {
  /** protos[n] is 1 when protocol n is covered. */
  readonly protos: Uint8Array;
  readonly srcs: readonly IpPrefix[];
  /** Addresses of this family holding one of the rule's source capabilities. */
  readonly capSrcs: readonly Uint8Array[];
  readonly dsts: readonly FilterDestination[];
}

const SCTP = 132;
// Shortest transport headers Go's packet decoder reads (shorter: "unknown" and dropped).
const TCP_MIN = 20;
const UDP_MIN = 8;
const SCTP_MIN = 12;
const ICMP_MIN = 4;
const ICMPV4_ECHO_REPLY = 0;
const ICMPV4_ERRORS = [3, 11, 12];
const ICMPV6_ECHO_REPLY = 129;
const ICMPV6_ERRORS = [1, 2, 3, 4];

function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = 0;
  return out;
}

/** The packet filter of one node; fills the pipeline's filter slot. */
export class StatefulFilter {
  /** Counters (live; the engine snapshots them). */
  readonly stats: FilterStats = {
    inbound: {
      accepted: 0,
      dropped: 0,
      accepts: zeroCounts<InboundAcceptReason>([
        "fragment",
        "icmpResponse",
        "icmpRule",
        "tcpNonSyn",
        "tcpRule",
        "flowReply",
        "udpRule",
        "tsmp",
        "otherRule",
      ]),
      drops: zeroCounts<InboundDropReason>([
        "notReady",
        "unknownProto",
        "multicast",
        "linkLocal",
        "notLocal",
        "shieldsUp",
        "noRulesMatched",
      ]),
    },
    outbound: {
      accepted: 0,
      dropped: 0,
      drops: zeroCounts<OutboundDropReason>(["unknownProto", "multicast", "linkLocal"]),
    },
    rejectsSent: 0,
    flows: 0,
  };
  readonly #flows = new FlowCache();
  #config: FilterConfig | null = null;
  #v4: FamilyRule[] = [];
  #v6: FamilyRule[] = [];

  /**
   * Installs a config (a new netmap or prefs), keeping the remembered flows as Go does when
   * it shares state with the old filter; entering shields-up, or `null` (no netmap: deny
   * all), starts with none.
   * @param config rules, our destinations and shields-up; null for "not ready"
   */
  configure(config: FilterConfig | null): void {
    const wasShieldsUp = this.#config?.shieldsUp ?? false;
    if (config === null || (config.shieldsUp && !wasShieldsUp)) this.#flows.clear();
    this.stats.flows = this.#flows.size;
    this.#config = config;
    const rules = config === null || config.shieldsUp ? [] : config.rules;
    const holders = config?.capHolders ?? {};
    this.#v4 = familyRules(rules, holders, 4);
    this.#v6 = familyRules(rules, holders, 16);
  }

  /**
   * What is in force, as text (the LocalAPI's `debug-packet-filter-matches` gives Go's JSON).
   * @returns the description
   */
  describe(): FilterDescription {
    const c = this.#config;
    return {
      ready: c !== null,
      shieldsUp: c?.shieldsUp ?? false,
      local: (c?.local ?? []).map(formatIpPrefix),
      rules: (c?.rules ?? []).map(formatFilterRule),
      error: c?.error ?? "",
    };
  }

  /**
   * The verdict on one inbound packet (the pipeline's filter slot).
   * @param packet the packet @param info its parse
   * @returns whether it may go on to the local handlers and the stack
   */
  inbound(packet: Uint8Array, info: Readonly<IpInfo>): boolean {
    const reason = this.#runIn(packet, info);
    const st = this.stats.inbound;
    if (reason in st.accepts) {
      st.accepted++;
      st.accepts[reason as InboundAcceptReason]++;
      return true;
    }
    st.dropped++;
    st.drops[reason as InboundDropReason]++;
    return false;
  }

  /**
   * The verdict on one outbound packet; records UDP/SCTP flows so their replies pass.
   * @param buf bytes holding the packet @param info its parse (offsets into `buf`)
   * @returns whether it may go to WireGuard
   */
  outbound(buf: Uint8Array, info: Readonly<IpInfo>): boolean {
    const st = this.stats.outbound;
    const proto = goProtocol(buf, info);
    const drop = preCheck(buf, info, proto);
    if (drop !== null) {
      st.dropped++;
      st.drops[drop]++;
      return false;
    }
    if (proto === IP_PROTO_UDP || proto === SCTP) {
      // Stored the way the reply will look: its source is our destination.
      const p = info.payloadOff;
      this.#flows.add(flowKey(proto, buf, info.dstOff, info.addrLen, p + 2, buf, info.srcOff, p));
      this.stats.flows = this.#flows.size;
    }
    st.accepted++;
    return true;
  }

  /**
   * The TSMP reject to send back for an inbound packet just dropped, as tailscaled's tstun
   * does: for an IPv4 TCP packet with SYN set, reason shields-up or ACL; null otherwise.
   * @param packet the dropped packet @param info its parse
   * @returns the reject packet, from our address to the sender
   */
  rejection(packet: Uint8Array, info: Readonly<IpInfo>): Uint8Array | null {
    if (info.version !== 4 || goProtocol(packet, info) !== IP_PROTO_TCP) return null;
    const p = info.payloadOff;
    if (info.payloadEnd - p < TCP_MIN || (packet[p + TCP_FLAGS_AT] & TCP_SYN) === 0) return null;
    const m: TsmpMessage = {
      type: "reject",
      proto: IP_PROTO_TCP,
      reason: this.#config?.shieldsUp ? TSMP_REASON_SHIELDS_UP : TSMP_REASON_ACL,
      srcPort: readU16be(packet, p),
      dstPort: readU16be(packet, p + 2),
      maybeBroken: false,
    };
    const out = new Uint8Array(tsmpPacketLen(m, 4));
    emitTsmpPacket(
      m,
      packet.slice(info.dstOff, info.dstOff + 4),
      packet.slice(info.srcOff, info.srcOff + 4),
      out,
      0,
    );
    this.stats.rejectsSent++;
    return out;
  }

  /** Go's `RunIn`: the accept or drop reason. */
  #runIn(b: Uint8Array, info: Readonly<IpInfo>): InboundAcceptReason | InboundDropReason {
    const proto = goProtocol(b, info);
    const drop = preCheck(b, info, proto);
    if (drop !== null) return drop;
    if (proto === LATER_FRAGMENT) return "fragment";
    const c = this.#config;
    if (c === null) return "notReady";
    if (!c.local.some((p) => prefixContainsAt(p, b, info.dstOff, info.addrLen))) return "notLocal";
    const rules = info.version === 4 ? this.#v4 : this.#v6;
    const noRule = c.shieldsUp ? "shieldsUp" : "noRulesMatched";
    const p = info.payloadOff;
    if (proto === (info.version === 4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6)) {
      if (isIcmpResponse(b, info)) return "icmpResponse";
      return matchIpsOnly(rules, b, info) ? "icmpRule" : noRule;
    }
    switch (proto) {
      case IP_PROTO_TCP:
        if ((b[p + TCP_FLAGS_AT] & (TCP_SYN | TCP_ACK)) !== TCP_SYN) return "tcpNonSyn";
        return matchPorts(rules, b, info, proto, readU16be(b, p + 2)) ? "tcpRule" : noRule;
      case IP_PROTO_UDP:
      case SCTP: {
        const key = flowKey(proto, b, info.srcOff, info.addrLen, p, b, info.dstOff, p + 2);
        if (this.#flows.has(key)) return "flowReply";
        return matchPorts(rules, b, info, proto, readU16be(b, p + 2)) ? "udpRule" : noRule;
      }
      case IP_PROTO_TSMP:
        return "tsmp";
      default:
        return matchAllPorts(rules, b, info, proto) ? "otherRule" : noRule;
    }
  }
}

/** What Go's packet decoder calls the protocol: a number, or one of these two. */
const UNKNOWN = -1;
const LATER_FRAGMENT = -2;
/** Go's `minFragBlks`: a later IPv4 fragment starting inside the first 80 bytes is junk. */
const MIN_FRAG_BLOCKS = 10;
const IGMP = 2;
const IGMP_MIN = 8;
const TSMP_MIN = 7;
const IPV4_MORE_FRAGMENTS = 0x20;

/**
 * The protocol as tailscaled's decoder (`net/packet` decode4/decode6) sees it, which the
 * filter then judges: UNKNOWN (dropped) when the transport header is cut short (a first
 * fragment included), for protocol 0 or 0xff, a fragmented or short TSMP packet, or a later
 * IPv4 fragment starting inside the first 80 bytes; LATER_FRAGMENT for other later IPv4
 * fragments (no ports to judge: they pass). IPv6 is read only as far as the fixed header: an
 * extension header's number is the protocol (a fragment header is 44, hop-by-hop 0, unknown),
 * so such packets need a rule for that protocol, as in Go.
 */
function goProtocol(b: Uint8Array, info: Readonly<IpInfo>): number {
  let proto: number;
  let len: number;
  if (info.version === 4) {
    const start = info.srcOff - 12;
    if (info.laterFragment) {
      const blocks = ((b[start + 6] & 0x1f) << 8) | b[start + 7];
      return blocks < MIN_FRAG_BLOCKS ? UNKNOWN : LATER_FRAGMENT;
    }
    proto = info.protocol;
    len = info.payloadEnd - info.payloadOff;
    if (proto === IP_PROTO_TSMP && (b[start + 6] & IPV4_MORE_FRAGMENTS) !== 0) return UNKNOWN;
    if (proto === IGMP && len < IGMP_MIN) return UNKNOWN;
  } else {
    const start = info.srcOff - 8;
    proto = b[start + 6];
    // Go does not walk extension headers: the first next-header value is the protocol.
    if (proto !== info.protocol || info.payloadOff !== start + 40) {
      return proto === 0 ? UNKNOWN : proto;
    }
    len = info.payloadEnd - info.payloadOff;
  }
  switch (proto) {
    case 0:
    case 0xff:
      return UNKNOWN;
    case IP_PROTO_TCP:
      return len >= TCP_MIN ? proto : UNKNOWN;
    case IP_PROTO_UDP:
      return len >= UDP_MIN ? proto : UNKNOWN;
    case SCTP:
      return len >= SCTP_MIN ? proto : UNKNOWN;
    case IP_PROTO_ICMP:
    case IP_PROTO_ICMPV6:
      return len >= ICMP_MIN ? proto : UNKNOWN;
    case IP_PROTO_TSMP:
      return len >= TSMP_MIN ? proto : UNKNOWN;
    default:
      return proto;
  }
}

/** Go's `pre`: the drops that do not depend on the rules. */
function preCheck(b: Uint8Array, info: Readonly<IpInfo>, proto: number): OutboundDropReason | null {
  if (proto === UNKNOWN) return "unknownProto";
  const d = info.dstOff;
  if (info.version === 4) {
    if ((b[d] & 0xf0) === 0xe0) return "multicast";
    if (b[d] === 169 && b[d + 1] === 254) return "linkLocal";
  } else {
    if (b[d] === 0xff) return "multicast";
    if (b[d] === 0xfe && (b[d + 1] & 0xc0) === 0x80) return "linkLocal";
  }
  return null;
}

function isIcmpResponse(b: Uint8Array, info: Readonly<IpInfo>): boolean {
  const p = info.payloadOff;
  if (info.payloadEnd - p < 8) return false;
  const type = b[p];
  if (info.version === 4) {
    return (type === ICMPV4_ECHO_REPLY && b[p + 1] === 0) || ICMPV4_ERRORS.includes(type);
  }
  return (type === ICMPV6_ECHO_REPLY && b[p + 1] === 0) || ICMPV6_ERRORS.includes(type);
}

function srcInPrefixes(r: FamilyRule, b: Uint8Array, info: Readonly<IpInfo>): boolean {
  for (const s of r.srcs) if (prefixContainsAt(s, b, info.srcOff, info.addrLen)) return true;
  return false;
}

function srcHasCap(r: FamilyRule, b: Uint8Array, info: Readonly<IpInfo>): boolean {
  outer: for (const a of r.capSrcs) {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[info.srcOff + i]) continue outer;
    return true;
  }
  return false;
}

/** Go's `srcMatches`: a source prefix, or a node holding one of the rule's capabilities. */
function srcMatches(r: FamilyRule, b: Uint8Array, info: Readonly<IpInfo>): boolean {
  return srcInPrefixes(r, b, info) || srcHasCap(r, b, info);
}

/** Go's `match`: protocol, source, destination IP and port. */
function matchPorts(
  rules: readonly FamilyRule[],
  b: Uint8Array,
  info: Readonly<IpInfo>,
  proto: number,
  port: number,
): boolean {
  for (const r of rules) {
    if (r.protos[proto] !== 1 || !srcMatches(r, b, info)) continue;
    for (const d of r.dsts) {
      if (
        port >= d.ports.first && port <= d.ports.last &&
        prefixContainsAt(d.prefix, b, info.dstOff, info.addrLen)
      ) return true;
    }
  }
  return false;
}

/** Go's `matchIPsOnly`: any rule from the source to the destination IP, whatever the port. */
function matchIpsOnly(
  rules: readonly FamilyRule[],
  b: Uint8Array,
  info: Readonly<IpInfo>,
): boolean {
  for (const r of rules) {
    if (!srcMatches(r, b, info)) continue;
    for (const d of r.dsts) {
      if (prefixContainsAt(d.prefix, b, info.dstOff, info.addrLen)) return true;
    }
  }
  return false;
}

/** Go's `matchProtoAndIPsOnlyIfAllPorts`: protocols without ports need a rule for all. */
function matchAllPorts(
  rules: readonly FamilyRule[],
  b: Uint8Array,
  info: Readonly<IpInfo>,
  proto: number,
): boolean {
  for (const r of rules) {
    // Go checks only the source prefixes here, not capabilities.
    if (r.protos[proto] !== 1 || !srcInPrefixes(r, b, info)) continue;
    for (const d of r.dsts) {
      if (
        d.ports.first === 0 && d.ports.last === 0xffff &&
        prefixContainsAt(d.prefix, b, info.dstOff, info.addrLen)
      ) return true;
    }
  }
  return false;
}

function familyRules(
  rules: readonly FilterRule[],
  holders: Readonly<Record<string, readonly Uint8Array[]>>,
  addrLen: 4 | 16,
): FamilyRule[] {
  const out: FamilyRule[] = [];
  for (const r of rules) {
    const srcs = r.srcs.filter((s) => s.addr.length === addrLen);
    const dsts = r.dsts.filter((d) => d.prefix.addr.length === addrLen);
    if ((srcs.length === 0 && r.srcCaps.length === 0) || dsts.length === 0) continue;
    const capSrcs = r.srcCaps.flatMap((c) => holders[c] ?? []).filter((a) => a.length === addrLen);
    const protos = new Uint8Array(256);
    for (const n of r.protos) protos[n] = 1;
    out.push({ protos, srcs, capSrcs, dsts });
  }
  return out;
}
