/**
 * What the engine is told to be: {@linkcode EngineConfig}, the one input of
 * `Engine.reconfig()`. IPN computes it from prefs and the netmap (`ipn/engine_config.ts`), so
 * everything here is already decided: a peer's AllowedIPs are the ones this node accepts (its
 * subnet routes only with accept-routes, the default routes only for the chosen exit node),
 * the filter rules are parsed, the DNS config is typed. Keys are bytes, addresses text in
 * Go's `netip` forms.
 * @module
 */
import type { DerpMap } from "./control/types.ts";
import type { DiscoPublic, NodePublic } from "./key/keys.ts";
import type { IpPrefix } from "./wire/ip_addr.ts";

/** One peer as the data plane needs it. */
export interface PeerConfig {
  /** The peer's node key (its WireGuard identity). */
  readonly nodeKey: NodePublic;
  /** The peer's disco key, null when control did not send a valid one. */
  readonly discoKey: DiscoPublic | null;
  /** The short name for ping results and logs (`host` of `host.tailnet.example.`). */
  readonly name: string;
  /** Its own Tailscale addresses, with prefix length (`100.64.0.2/32`). */
  readonly addresses: readonly string[];
  /**
   * The prefixes we route to it and accept from it (WireGuard's AllowedIPs): its addresses,
   * plus subnet routes and default routes as prefs allow.
   */
  readonly allowedIps: readonly string[];
  /** Its known `ip:port` endpoints (for direct paths, later). */
  readonly endpoints: readonly string[];
  /** Its home DERP region, 0 when unknown. */
  readonly homeDerp: number;
}

/** An inclusive port range of a filter destination. */
export interface PortRange {
  /** First port. */
  readonly first: number;
  /** Last port (inclusive). */
  readonly last: number;
}

/** One destination of a filter rule: a prefix and a port range. */
export interface FilterDestination {
  /** Destination prefix. */
  readonly prefix: IpPrefix;
  /** Destination ports. */
  readonly ports: PortRange;
}

/** Capabilities a rule grants to its sources for some destinations. */
export interface FilterCapGrant {
  /** Destination prefixes. */
  readonly dsts: readonly IpPrefix[];
  /** Capability names. */
  readonly caps: readonly string[];
}

/**
 * One compiled packet-filter rule (from tailcfg.FilterRule): a packet from one of `srcs`, of
 * one of `protos`, to one of `dsts` is accepted.
 */
export interface FilterRule {
  /** Source prefixes (`*` became `0.0.0.0/0` and `::/0`, a range its covering prefixes). */
  readonly srcs: readonly IpPrefix[];
  /** IP protocol numbers (empty in the JSON means TCP, UDP, ICMPv4, ICMPv6). */
  readonly protos: readonly number[];
  /** Destinations with ports. */
  readonly dsts: readonly FilterDestination[];
  /** Capability grants. */
  readonly capGrants: readonly FilterCapGrant[];
}

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
}

/** Everything the data plane is set to. */
export interface EngineConfig {
  /** Our Tailscale addresses, with prefix length. */
  readonly addresses: readonly string[];
  /** The peers, in netmap order. */
  readonly peers: readonly PeerConfig[];
  /** The DERP map, or null before control sent one. */
  readonly derpMap: DerpMap | null;
  /** The compiled packet-filter rules (applied by the filter slot of the pipeline). */
  readonly filter: readonly FilterRule[];
  /** DNS, or null when control sent none. */
  readonly dns: DnsConfig | null;
  /** Refuse every inbound connection (`--shields-up`). */
  readonly shieldsUp: boolean;
  /**
   * The prefixes this node relays for peers, from the host's network (`--advertise-routes`;
   * `0.0.0.0/0` and `::/0` with `--advertise-exit-node`). Inbound TCP and UDP to them is
   * dialled from the host, as tailscaled's netstack does in userspace mode.
   */
  readonly routes: readonly string[];
  /** The UDP port for WireGuard and disco (0: pick one); unused while DERP is the only path. */
  readonly listenPort: number;
}

/** A config with no addresses and no peers: what an engine runs before its first reconfig. */
export const EMPTY_ENGINE_CONFIG: EngineConfig = Object.freeze({
  addresses: [],
  peers: [],
  derpMap: null,
  filter: [],
  dns: null,
  shieldsUp: false,
  routes: [],
  listenPort: 0,
});
