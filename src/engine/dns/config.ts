/**
 * The DNS part of the engine's config (`EngineConfig.dns`, re-exported by `engine/config.ts`):
 * tailcfg.DNSConfig typed, plus what MagicDNS serves, as IPN derives it from the netmap.
 * @module
 */

/** One DNS resolver (dnstype.Resolver). */
export interface DnsResolver {
  /** `ip`, `ip:port` or a DoH URL. */
  readonly addr: string;
  /** IPs for a DoH host name. */
  readonly bootstrap: readonly string[];
}

/** One split-DNS route. */
export interface DnsRoute {
  /** The DNS suffix, without a trailing dot (`corp.example`). */
  readonly suffix: string;
  /** Its resolvers; empty means MagicDNS answers it itself. */
  readonly resolvers: readonly DnsResolver[];
}

/** One extra record MagicDNS serves. */
export interface DnsRecord {
  /** The name, without a trailing dot. */
  readonly name: string;
  /** `A`, `AAAA`, or "" (inferred from the value). */
  readonly type: string;
  /** The value (an IP for A/AAAA). */
  readonly value: string;
}

/** One name MagicDNS answers itself (a node, or an A/AAAA extra record). */
export interface DnsHost {
  /** The name, lower case, without a trailing dot (`peer.tailnet.test`). */
  readonly name: string;
  /** Its addresses, as tailscaled lists them (IPv4 only when the node has one, see compileDns). */
  readonly addrs: readonly string[];
  /** The addresses whose PTR names it: every address of a node, an extra record's value. */
  readonly ptrAddrs: readonly string[];
}

/** The DNS configuration (from tailcfg.DNSConfig), for the 100.100.100.100 server. */
export interface DnsConfig {
  /** Whether MagicDNS is on. */
  readonly magicDns: boolean;
  /** Default upstream resolvers. */
  readonly resolvers: readonly DnsResolver[];
  /** Resolvers when there are no others. */
  readonly fallbackResolvers: readonly DnsResolver[];
  /** Split DNS routes. */
  readonly routes: readonly DnsRoute[];
  /** Search domains. */
  readonly searchDomains: readonly string[];
  /** Domains to request TLS certificates for. */
  readonly certDomains: readonly string[];
  /** Extra records. */
  readonly extraRecords: readonly DnsRecord[];
  /**
   * The names MagicDNS answers: ourselves, every peer, then the A/AAAA extra records (Go:
   * `dns.Config.Hosts` from ipnlocal's `dnsConfigForNetmap`).
   */
  readonly hosts: readonly DnsHost[];
  /**
   * The domains MagicDNS is authoritative for, beyond routes without resolvers: with MagicDNS
   * on, the tailnet's suffix, `64.100.in-addr.arpa` to `127.100.in-addr.arpa` and
   * `0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa` (Go: `magicDNSRootDomains`).
   */
  readonly localDomains: readonly string[];
  /** Whether prefs accept the tailnet's DNS (`--accept-dns`, CorpDNS): routes and resolvers. */
  readonly acceptDns: boolean;
}
