/**
 * What MagicDNS answers itself, as tailscaled's `net/dns/resolver` (tsdns.go) decides it: the
 * tailnet's hosts and extra records (A, AAAA, ALL), PTR names for their addresses, the symbolic
 * name of 100.100.100.100, NXDOMAIN inside the domains it is authoritative for, and "not
 * ours" (forward it) for the rest. Pure: built from a {@linkcode DnsConfig}, no I/O.
 *
 * One addition to tailscaled: a single-label name that is not a host is tried with each
 * search domain and the tailnet's suffix, as the OS stub resolver would before asking
 * tailscaled, so `peer` answers as `peer.tailnet.test` does (the answer keeps the asked name).
 * @module
 */
import type { DnsConfig, DnsResolver } from "../config.ts";
import {
  DNS_CLASS_INET,
  DNS_RCODE,
  DNS_TYPE,
  type DnsResource,
  formatIpAddr,
  parseIpAddr,
} from "../wire/mod.ts";
import { DNS_SYMBOLIC_FQDN, MAGIC_DNS_TTL_S, QUAD100_V4, QUAD100_V6 } from "./constants.ts";

/** MagicDNS's own answer, or null: not ours, forward the query. */
export type LocalAnswer = { rcode: number; answers: DnsResource[] } | null;

const RDNS_V4 = ".in-addr.arpa";
const RDNS_V6 = ".ip6.arpa";
// tsaddr.Tailscale6to4: fd7a:115c:a1e0:ab12:4843:cd96::/96 embeds an IPv4 tailnet address.
const V6_TO_4_PREFIX = [0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0xab, 0x12, 0x48, 0x43, 0xcd, 0x96];

/** Lower case, no trailing dot. */
export function normalizeDnsName(name: string): string {
  return name.replace(/\.$/, "").toLowerCase();
}

function within(name: string, suffix: string): boolean {
  return suffix === "" || name === suffix || name.endsWith("." + suffix);
}

/** The names and routes of one {@linkcode DnsConfig}, indexed for lookups. */
export class MagicTable {
  /** The config it was built from (null: none yet). */
  readonly config: DnsConfig | null;
  readonly #hosts = new Map<string, readonly string[]>();
  readonly #ipToHost = new Map<string, string>();
  readonly #local: readonly string[];
  readonly #search: readonly string[];
  readonly #routes: readonly { suffix: string; resolvers: readonly DnsResolver[] }[];

  /** @param cfg the engine's DNS config, or null */
  constructor(cfg: DnsConfig | null) {
    this.config = cfg;
    for (const h of cfg?.hosts ?? []) {
      this.#hosts.set(h.name, h.addrs);
      for (const a of h.addrs) if (!this.#ipToHost.has(a)) this.#ipToHost.set(a, h.name);
    }
    const routes = (cfg?.routes ?? []).map((r) => ({
      suffix: normalizeDnsName(r.suffix),
      resolvers: r.resolvers,
    }));
    this.#local = [
      ...(cfg?.localDomains ?? []),
      ...routes.filter((r) => r.resolvers.length === 0).map((r) => r.suffix),
    ];
    // Longest suffix first, so the most specific route wins. Routes without resolvers are
    // local domains, which tsdns's forwarder never sees.
    this.#routes = routes.filter((r) => r.resolvers.length > 0)
      .sort((a, b) => b.suffix.length - a.suffix.length);
    const search = (cfg?.searchDomains ?? []).map(normalizeDnsName);
    const magic = cfg?.localDomains[0];
    if (magic !== undefined && !search.includes(magic)) search.push(magic);
    this.#search = search;
  }

  /**
   * The resolvers a name goes to, as tsdns's forwarder picks them (and `dns-query` reports
   * them, for tailnet names too): the longest matching split-DNS route, else the default
   * resolvers. Control's FallbackResolvers are not defaults (tailscaled uses them only with
   * an exit node).
   * @param name the queried name
   * @returns the resolvers; `host` when nothing was configured and the host's apply
   */
  upstreamsFor(name: string): { resolvers: readonly DnsResolver[]; host: boolean } {
    const n = normalizeDnsName(name);
    for (const r of this.#routes) {
      if (within(n, r.suffix)) return { resolvers: r.resolvers, host: false };
    }
    const def = this.config?.resolvers ?? [];
    return { resolvers: def, host: def.length === 0 };
  }

  /**
   * The addresses of a host name (FQDN, or a short name through the search domains).
   * @param name any case, trailing dot or not @returns the addresses, or null when not a host
   */
  hostAddrs(name: string): readonly string[] | null {
    const n = normalizeDnsName(name);
    const direct = this.#hosts.get(n);
    if (direct !== undefined) return direct;
    if (n === "" || n.includes(".")) return null;
    for (const s of this.#search) {
      const a = this.#hosts.get(`${n}.${s}`);
      if (a !== undefined) return a;
    }
    return null;
  }

  /**
   * MagicDNS's answer to one question, or null to forward it.
   * @param qname the question's name (as parsed) @param qtype its type
   * @returns rcode and answer records, or null
   */
  lookup(qname: string, qtype: number): LocalAnswer {
    const name = normalizeDnsName(qname);
    if (qtype === DNS_TYPE.PTR) return this.#reverse(qname, name);
    if (within(name, "onion")) return { rcode: DNS_RCODE.NXDOMAIN, answers: [] };
    if (name === DNS_SYMBOLIC_FQDN) {
      if (qtype === DNS_TYPE.A) return ok([addrRecord(qname, QUAD100_V4)]);
      if (qtype === DNS_TYPE.AAAA) return ok([addrRecord(qname, QUAD100_V6)]);
    }
    const addrs = this.hostAddrs(name);
    if (addrs === null) {
      if (this.#local.some((d) => within(name, d))) {
        return { rcode: DNS_RCODE.NXDOMAIN, answers: [] };
      }
      return null;
    }
    // A name that exists but has no record of the type: NOERROR with no answers. tailscaled
    // answers with one address, never all of them.
    switch (qtype) {
      case DNS_TYPE.A:
      case DNS_TYPE.AAAA: {
        const v6 = qtype === DNS_TYPE.AAAA;
        const ip = addrs.find((a) => a.includes(":") === v6);
        return ok(ip === undefined ? [] : [addrRecord(qname, ip)]);
      }
      case DNS_TYPE.ALL:
        return ok(addrs.length === 0 ? [] : [addrRecord(qname, addrs[0])]);
      case DNS_TYPE.NS:
      case DNS_TYPE.SOA:
      case DNS_TYPE.AXFR:
      case DNS_TYPE.HINFO:
        return { rcode: DNS_RCODE.NOTIMP, answers: [] };
      default:
        return ok([]);
    }
  }

  #reverse(qname: string, name: string): LocalAnswer {
    // RFC 6763's Bonjour browse names are never ours.
    if (/^(b|db|r|dr|lb)\._dns-sd\._udp\./.test(name)) return null;
    const ip = reverseNameToIp(name);
    if (ip === null) return null;
    if (ip === QUAD100_V4 || ip === QUAD100_V6) return ok([ptrRecord(qname, DNS_SYMBOLIC_FQDN)]);
    const v4 = v6to4(ip);
    const host = (v4 !== null ? this.#ipToHost.get(v4) : undefined) ?? this.#ipToHost.get(ip);
    if (host !== undefined) return ok([ptrRecord(qname, host)]);
    if (this.#local.some((d) => within(name, d))) return { rcode: DNS_RCODE.NXDOMAIN, answers: [] };
    return null;
  }
}

function ok(answers: DnsResource[]): LocalAnswer {
  return { rcode: DNS_RCODE.NOERROR, answers };
}

function addrRecord(qname: string, ip: string): DnsResource {
  const addr = parseIpAddr(ip);
  return {
    name: qname,
    type: addr.length === 4 ? DNS_TYPE.A : DNS_TYPE.AAAA,
    class: DNS_CLASS_INET,
    ttl: MAGIC_DNS_TTL_S,
    data: addr.length === 4 ? { kind: "a", addr } : { kind: "aaaa", addr },
  };
}

function ptrRecord(qname: string, target: string): DnsResource {
  return {
    name: qname,
    type: DNS_TYPE.PTR,
    class: DNS_CLASS_INET,
    ttl: MAGIC_DNS_TTL_S,
    data: { kind: "name", name: target },
  };
}

/**
 * The address a reverse name stands for (`4.3.2.1.in-addr.arpa` → `1.2.3.4`, 32 nibbles
 * under `ip6.arpa`), or null when it is not a complete one.
 * @param name lower case, no trailing dot @returns the address text or null
 */
export function reverseNameToIp(name: string): string | null {
  if (name.endsWith(RDNS_V4)) {
    const parts = name.slice(0, -RDNS_V4.length).split(".");
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && +p < 256)) {
      return null;
    }
    return parts.reverse().join(".");
  }
  if (name.endsWith(RDNS_V6)) {
    const nibbles = name.slice(0, -RDNS_V6.length).split(".");
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return null;
    const hex = nibbles.reverse().join("");
    const b = new Uint8Array(16);
    for (let i = 0; i < 16; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return formatIpAddr(b);
  }
  return null;
}

function v6to4(ip: string): string | null {
  if (!ip.includes(":")) return null;
  const b = parseIpAddr(ip);
  for (let i = 0; i < V6_TO_4_PREFIX.length; i++) if (b[i] !== V6_TO_4_PREFIX[i]) return null;
  return formatIpAddr(b.subarray(12, 16));
}
