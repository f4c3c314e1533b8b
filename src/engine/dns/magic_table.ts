/**
 * What MagicDNS answers itself, as tailscaled's `net/dns/resolver` (tsdns.go) decides it: the
 * tailnet's hosts and extra records (A, AAAA, ALL), PTR names for their addresses, the symbolic
 * name of 100.100.100.100, NXDOMAIN inside the domains it is authoritative for, and "not
 * ours" (forward it) for the rest. Pure: built from a {@linkcode DnsConfig}, no I/O.
 *
 * As tailscaled 1.102 (which the older 1.98 differs from): a node's short name (its name
 * without the MagicDNS suffix) answers when MagicDNS is on; PTR names every address of a
 * node, IPv6 too; positive answers live 5 s; a negative answer in a domain MagicDNS is
 * authoritative for carries that zone's SOA (RFC 2308, TTL 10 s). One addition: a single
 * label is also tried under each search domain, as the OS stub resolver would.
 * @module
 */
import type { DnsConfig, DnsResolver } from "./config.ts";
import {
  DNS_CLASS_INET,
  DNS_RCODE,
  DNS_TYPE,
  type DnsResource,
  formatIpAddr,
  parseIpAddr,
} from "../wire/mod.ts";
import {
  DNS_SYMBOLIC_FQDN,
  MAGIC_DNS_NEGATIVE_TTL_S,
  MAGIC_DNS_TTL_S,
  QUAD100_V4,
  QUAD100_V6,
} from "./constants.ts";

/** MagicDNS's own answer (answer and authority records), or null: not ours, forward it. */
export type LocalAnswer =
  | { rcode: number; answers: DnsResource[]; authorities: DnsResource[] }
  | null;

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
      for (const a of h.ptrAddrs) if (!this.#ipToHost.has(a)) this.#ipToHost.set(a, h.name);
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
    // The MagicDNS suffix first (localDomains[0], set only with MagicDNS on), then the
    // search domains.
    const magic = cfg?.localDomains[0];
    const search = (cfg?.searchDomains ?? []).map(normalizeDnsName);
    this.#search = magic === undefined ? search : [magic, ...search.filter((d) => d !== magic)];
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
   * @param wallNowS Unix seconds, the SOA serial of negative answers
   * @returns rcode, answer and authority records, or null
   */
  lookup(qname: string, qtype: number, wallNowS = 0): LocalAnswer {
    const a = this.#lookup(qname, qtype);
    if (a === null) return null;
    // RFC 2308: a negative answer in our zone carries its SOA, bounding negative caching.
    const negative = a.rcode === DNS_RCODE.NXDOMAIN ||
      (a.rcode === DNS_RCODE.NOERROR && a.answers.length === 0 &&
        (qtype === DNS_TYPE.A || qtype === DNS_TYPE.AAAA || qtype === DNS_TYPE.ALL));
    const zone = negative ? this.#zoneOf(normalizeDnsName(qname)) : undefined;
    return { ...a, authorities: zone === undefined ? [] : [soaRecord(zone, wallNowS)] };
  }

  #zoneOf(name: string): string | undefined {
    return this.#local.find((d) => within(name, d));
  }

  #lookup(qname: string, qtype: number): { rcode: number; answers: DnsResource[] } | null {
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

  #reverse(qname: string, name: string): { rcode: number; answers: DnsResource[] } | null {
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

function ok(answers: DnsResource[]): { rcode: number; answers: DnsResource[] } {
  return { rcode: DNS_RCODE.NOERROR, answers };
}

/** tsdns `marshalSOA`: only the TTLs mean anything; the serial is the time. */
function soaRecord(zone: string, wallNowS: number): DnsResource {
  const t = MAGIC_DNS_NEGATIVE_TTL_S;
  return {
    name: zone,
    type: DNS_TYPE.SOA,
    class: DNS_CLASS_INET,
    ttl: t,
    data: {
      kind: "soa",
      mname: zone,
      rname: zone,
      serial: wallNowS >>> 0,
      refresh: t,
      retry: t,
      expire: t,
      minimum: t,
    },
  };
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
