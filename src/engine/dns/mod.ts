/**
 * MagicDNS: the resolver behind 100.100.100.100 (tailscaled's `net/dns/resolver`), its
 * 100.100.100.100 service for the packet pipeline, the upstream transport, and the
 * `--dns-listen` host listener.
 *
 * @example Answering a tailnet name
 * ```ts
 * import { MagicDnsResolver } from "./mod.ts";
 * import { dnsQuery, parseDnsMessage } from "../wire/mod.ts";
 * const r = new MagicDnsResolver({
 *   upstream: { exchange: () => Promise.reject(new Error("offline")) },
 * });
 * r.setConfig({
 *   magicDns: true, resolvers: [], fallbackResolvers: [], routes: [], searchDomains: [],
 *   certDomains: [], extraRecords: [], acceptDns: true, localDomains: ["tailnet.test"],
 *   hosts: [{ name: "peer.tailnet.test", addrs: ["100.64.0.2"], ptrAddrs: ["100.64.0.2"] }],
 * });
 * const a = parseDnsMessage((await r.query(dnsQuery(1, "peer.tailnet.test", 1), "udp"))!);
 * if (a.answers.length !== 1 || r.resolve("peer") !== "100.64.0.2") throw new Error("answer");
 * ```
 * @module
 */
export * from "./constants.ts";
export type { DnsConfig, DnsHost, DnsRecord, DnsResolver, DnsRoute } from "./config.ts";
export { DnsHostListener, type DnsHostListenerOptions } from "./host_listener.ts";
export { type LocalAnswer, MagicTable, normalizeDnsName, reverseNameToIp } from "./magic_table.ts";
export { Quad100Service, type Quad100Stats, udpPacket } from "./quad100.ts";
export { type Quad100TcpOptions, Quad100TcpServer } from "./quad100_tcp.ts";
export { parseResolvConf } from "./resolv_conf.ts";
export {
  type DnsStats,
  type DnsTransport,
  type DnsUpstream,
  MagicDnsResolver,
  type MagicDnsResolverOptions,
  parseResolverAddr,
} from "./resolver.ts";
export { NodeUpstream, type NodeUpstreamOptions, type UpstreamStack } from "./upstream.ts";
