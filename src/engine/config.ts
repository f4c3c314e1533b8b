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
import type { FilterRule } from "./filter/rules.ts";
import type { DnsConfig } from "./dns/config.ts";

export type { DnsConfig, DnsHost, DnsRecord, DnsResolver, DnsRoute } from "./dns/config.ts";

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

export type { FilterCapGrant, FilterDestination, FilterRule, PortRange } from "./filter/rules.ts";

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
  /** The first problem compiling the netmap's filter rules, "" when none. */
  readonly filterError: string;
  /**
   * For each node capability a rule names as a source (`cap:NAME`), the addresses of the
   * nodes (peers and self) that hold it: Go's `srcIPHasCapForFilter`.
   */
  readonly filterCapHolders: Readonly<Record<string, readonly string[]>>;
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
  filterError: "",
  filterCapHolders: {},
  dns: null,
  shieldsUp: false,
  routes: [],
  listenPort: 0,
});
