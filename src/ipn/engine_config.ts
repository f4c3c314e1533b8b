/**
 * Prefs and the netmap become engine settings here, in one pure function (Go: ipnlocal's
 * `authReconfig` with `nmcfg.WGCfg` and the filter and DNS builders). What the data plane does
 * with a peer's routes is decided by prefs, not by what control offers:
 * - a peer's own addresses are always its AllowedIPs;
 * - its other approved routes (subnet routes) only with accept-routes (`RouteAll`);
 * - `0.0.0.0/0` and `::/0` only for the exit node we chose (`ExitNodeID`, or `ExitNodeIP`).
 * So a peer that offers to be an exit node cannot send us packets from any source address
 * unless we use it.
 *
 * @example A peer offering an exit node we did not choose
 * ```ts
 * import { engineConfig } from "./engine_config.ts";
 * import { defaultPrefs } from "./prefs.ts";
 * import { applyMapResponse } from "../engine/control/netmap.ts";
 * const key = (c: string) => "nodekey:" + c.repeat(64);
 * const nm = applyMapResponse(null, {
 *   Node: { ID: 1, Key: key("1"), Addresses: ["100.64.0.1/32"] },
 *   Peers: [{ ID: 2, Key: key("2"), Addresses: ["100.64.0.2/32"],
 *     AllowedIPs: ["100.64.0.2/32", "0.0.0.0/0", "::/0"] }],
 * });
 * const cfg = engineConfig(defaultPrefs(), nm);
 * if (cfg.peers[0].allowedIps.join() !== "100.64.0.2/32") throw new Error("exit routes leaked");
 * ```
 * @module
 */
import type {
  DnsConfig,
  DnsResolver,
  EngineConfig,
  FilterCapGrant,
  FilterDestination,
  FilterRule,
  PeerConfig,
} from "../engine/config.ts";
import type {
  DnsConfigJson,
  DnsResolverJson,
  FilterRuleJson,
  NetmapNode,
  NetworkMap,
} from "../engine/control/mod.ts";
import { type DiscoPublic, type NodePublic, publicFromText } from "../engine/key/keys.ts";
import {
  formatIpPrefix,
  type IpPrefix,
  parseIpAddr,
  parseIpPrefix,
} from "../engine/wire/ip_addr.ts";
import {
  IP_PROTO_ICMP,
  IP_PROTO_ICMPV6,
  IP_PROTO_TCP,
  IP_PROTO_UDP,
} from "../engine/wire/ip_proto.ts";
import type { Prefs } from "./prefs.ts";

export type { EngineConfig, PeerConfig } from "../engine/config.ts";

/** The prefs fields that shape the data plane. */
export type EnginePrefs =
  & Pick<Prefs, "RouteAll" | "ExitNodeID" | "ExitNodeIP" | "ShieldsUp">
  & Partial<Pick<Prefs, "AdvertiseRoutes">>;

/** Settings that are neither prefs nor netmap. */
export interface EngineConfigExtras {
  /** The daemon's `--port` (0: pick one). */
  listenPort?: number;
}

/** Go's filter default when a rule lists no protocols. */
const DEFAULT_PROTOS: readonly number[] = [
  IP_PROTO_TCP,
  IP_PROTO_UDP,
  IP_PROTO_ICMP,
  IP_PROTO_ICMPV6,
];
const ALL_V4: IpPrefix = { addr: new Uint8Array(4), bits: 0 };
const ALL_V6: IpPrefix = { addr: new Uint8Array(16), bits: 0 };

/**
 * The engine's settings for these prefs and this netmap. Pure: the same inputs give an equal
 * config. Peers with a malformed node key are left out; bad prefixes are skipped.
 * @param prefs the prefs (accept-routes, exit node, shields-up)
 * @param nm the netmap
 * @param extras listen port
 * @returns the config for `Engine.reconfig()`
 */
export function engineConfig(
  prefs: EnginePrefs,
  nm: NetworkMap,
  extras: EngineConfigExtras = {},
): EngineConfig {
  const exitNode = chosenExitNode(prefs, nm.peers);
  const peers: PeerConfig[] = [];
  for (const node of nm.peers) {
    const p = peerConfig(node, node === exitNode, prefs.RouteAll);
    if (p !== null) peers.push(p);
  }
  return {
    addresses: [...nm.self.addresses],
    peers,
    derpMap: nm.derpMap,
    filter: nm.packetFilter.map(compileFilterRule),
    dns: nm.dns === null ? null : compileDns(nm.dns),
    shieldsUp: prefs.ShieldsUp,
    routes: [...(prefs.AdvertiseRoutes ?? [])],
    listenPort: extras.listenPort ?? 0,
  };
}

/**
 * The peer prefs choose as exit node: by stable ID, else by one of its addresses.
 * @param prefs ExitNodeID and ExitNodeIP
 * @param peers the netmap's peers
 * @returns the peer, or null when none is chosen (or it is not in the netmap)
 */
export function chosenExitNode(
  prefs: Pick<Prefs, "ExitNodeID" | "ExitNodeIP">,
  peers: readonly NetmapNode[],
): NetmapNode | null {
  if (prefs.ExitNodeID !== "") {
    return peers.find((p) => p.stableId === prefs.ExitNodeID) ?? null;
  }
  if (prefs.ExitNodeIP !== "") {
    return peers.find((p) => p.addresses.some((a) => a.split("/")[0] === prefs.ExitNodeIP)) ??
      null;
  }
  return null;
}

function peerConfig(node: NetmapNode, isExitNode: boolean, routeAll: boolean): PeerConfig | null {
  let nodeKey: NodePublic;
  try {
    nodeKey = publicFromText("node", node.key);
  } catch {
    return null;
  }
  let discoKey: DiscoPublic | null = null;
  if (node.discoKey !== "") {
    try {
      discoKey = publicFromText("disco", node.discoKey);
    } catch {
      // a peer without a usable disco key is still reachable through WireGuard
    }
  }
  const own = new Set<string>();
  for (const a of node.addresses) {
    const p = tryPrefix(a);
    if (p !== null) own.add(formatIpPrefix(p));
  }
  const allowed = new Set(own);
  for (const text of node.allowedIps) {
    const p = tryPrefix(text);
    if (p === null) continue;
    const canon = formatIpPrefix(p);
    if (own.has(canon)) continue;
    // Go's nmcfg: a /0 is an exit route, anything else not our own address a subnet route.
    if (p.bits === 0 ? !isExitNode : !routeAll) continue;
    allowed.add(canon);
  }
  return {
    nodeKey,
    discoKey,
    name: node.name.split(".")[0] || node.hostname,
    addresses: [...own],
    allowedIps: [...allowed],
    endpoints: [...node.endpoints],
    homeDerp: node.homeDerp,
  };
}

/**
 * Compiles one tailcfg.FilterRule. Unparsable sources and destinations are skipped, as Go's
 * filter compiler skips them.
 * @param rule the rule JSON
 * @returns the compiled rule
 */
export function compileFilterRule(rule: Readonly<FilterRuleJson>): FilterRule {
  const srcs = (rule.SrcIPs ?? []).flatMap((s, i) => ipSet(s, rule.SrcBits?.[i]));
  const dsts: FilterDestination[] = [];
  for (const d of rule.DstPorts ?? []) {
    const ports = { first: d.Ports.First, last: d.Ports.Last };
    for (const prefix of ipSet(d.IP, d.Bits ?? undefined)) dsts.push({ prefix, ports });
  }
  const capGrants: FilterCapGrant[] = (rule.CapGrant ?? []).map((g) => ({
    dsts: (Array.isArray(g.Dsts) ? g.Dsts : []).flatMap((s) =>
      typeof s === "string" ? ipSet(s) : []
    ),
    caps: [
      ...(Array.isArray(g.Caps) ? g.Caps.filter((c): c is string => typeof c === "string") : []),
      ...Object.keys(g.CapMap ?? {}),
    ],
  }));
  const protos = rule.IPProto !== undefined && rule.IPProto.length > 0
    ? [...rule.IPProto]
    : [...DEFAULT_PROTOS];
  return { srcs, protos, dsts, capGrants };
}

/**
 * Types one tailcfg.DNSConfig.
 * @param dns the DNSConfig JSON
 * @returns the typed config
 */
export function compileDns(dns: Readonly<DnsConfigJson>): DnsConfig {
  const resolvers = (rs: readonly DnsResolverJson[] | null | undefined): DnsResolver[] =>
    (rs ?? []).map((r) => ({ addr: r.Addr, bootstrap: [...(r.BootstrapResolution ?? [])] }));
  const legacy = (dns.Nameservers ?? []).map((addr) => ({ addr, bootstrap: [] }));
  return {
    magicDns: dns.Proxied === true,
    resolvers: [...resolvers(dns.Resolvers), ...legacy],
    fallbackResolvers: resolvers(dns.FallbackResolvers),
    routes: Object.entries(dns.Routes ?? {})
      .map(([suffix, rs]) => ({ suffix: suffix.replace(/\.$/, ""), resolvers: resolvers(rs) }))
      .sort((a, b) => (a.suffix < b.suffix ? -1 : a.suffix > b.suffix ? 1 : 0)),
    searchDomains: (dns.Domains ?? []).map((d) => d.replace(/\.$/, "")),
    certDomains: [...(dns.CertDomains ?? [])],
    extraRecords: (dns.ExtraRecords ?? []).map((r) => ({
      name: r.Name.replace(/\.$/, ""),
      type: r.Type ?? "",
      value: r.Value,
    })),
  };
}

/** A prefix from `addr/bits` or a bare address; null when it is neither. */
function tryPrefix(text: string): IpPrefix | null {
  try {
    if (text.includes("/")) return parseIpPrefix(text);
    const addr = parseIpAddr(text);
    return { addr, bits: addr.length * 8 };
  } catch {
    return null;
  }
}

/**
 * The prefixes of one filter address: `*`, an IP (with the deprecated bits), a prefix, or an
 * `a-b` range (as the prefixes that cover it exactly).
 */
function ipSet(text: string, bits?: number): IpPrefix[] {
  if (text === "*") return [ALL_V4, ALL_V6];
  const dash = text.indexOf("-");
  if (dash > 0) {
    try {
      return rangePrefixes(parseIpAddr(text.slice(0, dash)), parseIpAddr(text.slice(dash + 1)));
    } catch {
      return [];
    }
  }
  const p = tryPrefix(text);
  if (p === null) return [];
  if (!text.includes("/") && bits !== undefined && bits >= 0 && bits <= p.addr.length * 8) {
    return [{ addr: p.addr, bits }];
  }
  return [p];
}

/** The fewest prefixes that cover `from..to` exactly; empty when the range is backwards. */
function rangePrefixes(from: Uint8Array, to: Uint8Array): IpPrefix[] {
  if (from.length !== to.length) return [];
  const width = from.length * 8;
  let lo = toBig(from);
  const hi = toBig(to);
  const out: IpPrefix[] = [];
  while (lo <= hi) {
    let size = 0;
    while (size < width) {
      const block = 1n << BigInt(size + 1);
      if (lo % block !== 0n || lo + block - 1n > hi) break;
      size++;
    }
    out.push({ addr: fromBig(lo, from.length), bits: width - size });
    lo += 1n << BigInt(size);
  }
  return out;
}

function toBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function fromBig(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
