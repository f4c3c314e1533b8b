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
  DnsHost,
  DnsRecord,
  DnsResolver,
  EngineConfig,
  FilterRule,
  PeerConfig,
} from "../engine/config.ts";
import type {
  DnsConfigJson,
  DnsResolverJson,
  NetmapNode,
  NetworkMap,
} from "../engine/control/mod.ts";
import { compileFilterRules } from "../engine/filter/rules.ts";
import { magicDnsSuffix } from "../engine/control/mod.ts";
import { type DiscoPublic, type NodePublic, publicFromText } from "../engine/key/keys.ts";
import {
  formatIpPrefix,
  type IpPrefix,
  parseIpAddr,
  parseIpPrefix,
} from "../engine/wire/ip_addr.ts";
import type { Prefs } from "./prefs.ts";

export type { EngineConfig, PeerConfig } from "../engine/config.ts";

/** The prefs fields that shape the data plane. */
export type EnginePrefs =
  & Pick<Prefs, "RouteAll" | "ExitNodeID" | "ExitNodeIP" | "ShieldsUp" | "CorpDNS">
  & Partial<Pick<Prefs, "AdvertiseRoutes">>;

/** Settings that are neither prefs nor netmap. */
export interface EngineConfigExtras {
  /** The daemon's `--port` (0: pick one). */
  listenPort?: number;
  /** Names MagicDNS answers on this node alone (the config file's `LocalDNSRecords`). */
  localDnsRecords?: readonly DnsRecord[];
  /**
   * What earlier calls derived from each netmap node, reused while the node object is the
   * same (applyMapResponse keeps the objects of unchanged peers): a peer change then costs
   * one peer's parsing, and the engine sees the other peers' configs as the same objects.
   */
  cache?: EngineConfigCache;
}

/**
 * Per-node results of {@linkcode engineConfig}, keyed by the netmap's node objects (weakly:
 * nodes that leave the netmap are forgotten with it). One per engine.
 */
export class EngineConfigCache {
  readonly #peers = new WeakMap<
    NetmapNode,
    { exit: boolean; routeAll: boolean; peer: PeerConfig | null }
  >();
  readonly #hosts = new WeakMap<NetmapNode, { aaaa: boolean; host: DnsHost | null }>();

  /**
   * A peer's engine config, computed once per node object and route choice.
   * @param node the netmap peer @param isExitNode whether prefs chose it as exit node
   * @param routeAll accept-routes
   * @returns its config, or null when its node key is malformed
   */
  peer(node: NetmapNode, isExitNode: boolean, routeAll: boolean): PeerConfig | null {
    const hit = this.#peers.get(node);
    if (hit !== undefined && hit.exit === isExitNode && hit.routeAll === routeAll) return hit.peer;
    const peer = peerConfig(node, isExitNode, routeAll);
    this.#peers.set(node, { exit: isExitNode, routeAll, peer });
    return peer;
  }

  /**
   * A node's MagicDNS host entry, computed once per node object.
   * @param node a netmap node @param wantAaaa whether IPv6 is answered beside IPv4
   * @returns the entry, or null when the node has no name or address
   */
  host(node: NetmapNode, wantAaaa: boolean): DnsHost | null {
    const hit = this.#hosts.get(node);
    if (hit !== undefined && hit.aaaa === wantAaaa) return hit.host;
    const host = dnsHost(node, wantAaaa);
    this.#hosts.set(node, { aaaa: wantAaaa, host });
    return host;
  }
}

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
  const filter = compileFilterRules(nm.packetFilter);
  const exitNode = chosenExitNode(prefs, nm.peers);
  const peers: PeerConfig[] = [];
  const cache = extras.cache;
  for (const node of nm.peers) {
    const p = cache !== undefined
      ? cache.peer(node, node === exitNode, prefs.RouteAll)
      : peerConfig(node, node === exitNode, prefs.RouteAll);
    if (p !== null) peers.push(p);
  }
  return {
    addresses: [...nm.self.addresses],
    peers,
    derpMap: nm.derpMap,
    filter: filter.rules,
    filterError: filter.error,
    filterCapHolders: capHolders(filter.rules, [nm.self, ...nm.peers]),
    // MagicDNS answers the tailnet's names even when control sent no DNS config (ipnlocal).
    dns: compileDns(nm.dns ?? {}, nm, prefs.CorpDNS, extras.localDnsRecords, cache),
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
    // Control lists the node's own addresses among its AllowedIPs in the same text: those
    // are in `own` already (or were skipped as bad), no need to parse them again.
    if (node.addresses.includes(text)) continue;
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
 * The addresses of the nodes holding each capability the rules name as a source.
 * @param rules the compiled rules
 * @param nodes self and peers
 * @returns capability name to addresses (without prefix length)
 */
function capHolders(
  rules: readonly FilterRule[],
  nodes: readonly NetmapNode[],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const cap of new Set(rules.flatMap((r) => r.srcCaps))) {
    out[cap] = nodes.filter((n) => n.capabilities.includes(cap))
      .flatMap((n) => n.addresses.map((a) => a.split("/")[0]));
  }
  return out;
}

/** The node attribute that lets MagicDNS answer AAAA for nodes with an IPv4 address too. */
const NODE_ATTR_MAGICDNS_AAAA = "magicdns-aaaa";

/**
 * Types one tailcfg.DNSConfig and derives what MagicDNS serves, as ipnlocal's
 * `dnsConfigForNetmap` does: the hosts (self, peers, A/AAAA extra records; a node with an
 * IPv4 address is answered without its IPv6 ones unless control grants `magicdns-aaaa`, but
 * PTR names every address, as tailscaled 1.102) and, with MagicDNS on, the root domains it
 * is authoritative for.
 * @param dns the DNSConfig JSON
 * @param nm the netmap, for the node names; null gives no hosts
 * @param acceptDns prefs' CorpDNS (`--accept-dns`)
 * @param localRecords this node's own records (config file), served after control's
 * @param cache per-node host entries from earlier calls
 * @returns the typed config
 */
export function compileDns(
  dns: Readonly<DnsConfigJson>,
  nm: Pick<NetworkMap, "self" | "peers"> | null = null,
  acceptDns = true,
  localRecords: readonly DnsRecord[] = [],
  cache?: EngineConfigCache,
): DnsConfig {
  const resolvers = (rs: readonly DnsResolverJson[] | null | undefined): DnsResolver[] =>
    (rs ?? []).map((r) => ({ addr: r.Addr, bootstrap: [...(r.BootstrapResolution ?? [])] }));
  const legacy = (dns.Nameservers ?? []).map((addr) => ({ addr, bootstrap: [] }));
  const extraRecords = (dns.ExtraRecords ?? []).map((r) => ({
    name: r.Name.replace(/\.$/, ""),
    type: r.Type ?? "",
    value: r.Value,
  }));
  const hosts = new Map<string, DnsHost>();
  if (nm !== null) {
    const wantAaaa = nm.self.capabilities.includes(NODE_ATTR_MAGICDNS_AAAA);
    const add = (node: NetmapNode) => {
      const h = cache !== undefined ? cache.host(node, wantAaaa) : dnsHost(node, wantAaaa);
      if (h !== null) hosts.set(h.name, h);
    };
    add(nm.self);
    for (const node of nm.peers) add(node);
  }
  for (const r of [...extraRecords, ...localRecords]) {
    if (r.type !== "" && r.type !== "A" && r.type !== "AAAA") continue;
    if (tryPrefix(r.value) === null || r.value.includes("/")) continue;
    const name = r.name.toLowerCase();
    const h = hosts.get(name) ?? { name, addrs: [], ptrAddrs: [] };
    hosts.set(name, { name, addrs: [...h.addrs, r.value], ptrAddrs: [...h.ptrAddrs, r.value] });
  }
  const magicDns = dns.Proxied === true;
  const suffix = nm === null ? "" : magicDnsSuffix(nm.self.name).toLowerCase();
  const localDomains = magicDns && suffix !== "" && acceptDns
    ? [
      suffix,
      "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa",
      ...Array.from({ length: 64 }, (_, i) => `${64 + i}.100.in-addr.arpa`),
    ]
    : [];
  const hostList: DnsHost[] = [...hosts.values()];
  return {
    magicDns,
    resolvers: acceptDns ? [...resolvers(dns.Resolvers), ...legacy] : [],
    fallbackResolvers: acceptDns ? resolvers(dns.FallbackResolvers) : [],
    routes: acceptDns
      ? Object.entries(dns.Routes ?? {})
        .map(([suffix, rs]) => ({ suffix: suffix.replace(/\.$/, ""), resolvers: resolvers(rs) }))
        .sort((a, b) => (a.suffix < b.suffix ? -1 : a.suffix > b.suffix ? 1 : 0))
      : [],
    searchDomains: acceptDns ? (dns.Domains ?? []).map((d) => d.replace(/\.$/, "")) : [],
    certDomains: [...(dns.CertDomains ?? [])],
    extraRecords,
    hosts: hostList,
    localDomains,
    acceptDns,
  };
}

/** A node's MagicDNS name and addresses; null when it has no name or no address. */
function dnsHost(node: NetmapNode, wantAaaa: boolean): DnsHost | null {
  const name = node.name.replace(/\.$/, "").toLowerCase();
  const ips = node.addresses.map((a) => a.split("/")[0]);
  if (name === "" || ips.length === 0) return null;
  const have4 = ips.some((ip) => !ip.includes(":"));
  return {
    name,
    addrs: ips.filter((ip) => !(ip.includes(":") && have4 && !wantAaaa)),
    ptrAddrs: ips,
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
