/**
 * The netmap as the rest of tailnet reads it: one immutable snapshot per change, built by
 * `control/netmap.ts` from MapResponses. Field names follow Tailscale's tailcfg where a JSON
 * shape leaks out (status, LocalAPI), camelCase otherwise. Keys are in their text forms so a
 * snapshot can be logged and compared; decode them where bytes are needed.
 * @module
 */

import type { DerpMap } from "../wire/derp_map.ts";

// The DERP map types live with the other wire shapes so derp/ can use them without importing
// control/, its sibling; they are re-exported here for the netmap's readers.
export type { DerpMap, DerpNode, DerpRegion } from "../wire/derp_map.ts";
import type { DnsConfigJson, FilterRuleJson } from "./tailcfg.ts";

/** A user, as control describes it (tailcfg.UserProfile). */
export interface UserProfile {
  /** Control's numeric user ID. */
  id: number;
  /** Login name, e.g. `alice@example.com` or headscale's user name. */
  loginName: string;
  /** Display name. */
  displayName: string;
  /** Profile picture URL, "" when none. */
  profilePicUrl: string;
}

/** What we tell control about this machine (tailcfg.Hostinfo, as JSON with Go's field names). */
export interface Hostinfo {
  /** Our version string, e.g. "0.1.0-tailnet". */
  IPNVersion: string;
  /** "linux", "macOS", … */
  OS: string;
  /** OS version, e.g. the kernel release. */
  OSVersion?: string;
  /** The machine's hostname (or `--hostname`). */
  Hostname: string;
  /** "tailnet" (Go's `Package`, what the client is). */
  Package?: string;
  /** Go arch names: "amd64", "arm64". */
  GoArch?: string;
  /** Routes we advertise, CIDR strings. */
  RoutableIPs?: string[];
  /** Tags we request. */
  RequestTags?: string[];
  /** Whether the node should not accept incoming connections (`--shields-up`). */
  ShieldsUp?: boolean;
  /** Everything else Go's Hostinfo has that we set, kept as JSON. */
  [key: string]: unknown;
}

/** One node of the netmap: ourselves or a peer (from tailcfg.Node). */
export interface NetmapNode {
  /** Control's numeric node ID. */
  id: number;
  /** Control's stable node ID (string). */
  stableId: string;
  /** The full MagicDNS name with a trailing dot, e.g. `lab-a.tailnet.test.`. */
  name: string;
  /** The hostname from the node's Hostinfo. */
  hostname: string;
  /** The node's owner. */
  userId: number;
  /** `nodekey:…` */
  key: string;
  /** Node key expiry (ISO time), or null for never. */
  keyExpiry: string | null;
  /** `mkey:…`, or "" when control did not say. */
  machine: string;
  /** `discokey:…`, or "" when control did not say. */
  discoKey: string;
  /** Tailscale addresses with prefix length, e.g. `100.64.0.1/32`, `fd7a:115c:a1e0::1/128`. */
  addresses: string[];
  /** Prefixes routed to this node (includes `addresses`). */
  allowedIps: string[];
  /** Known `ip:port` endpoints. */
  endpoints: string[];
  /** Home DERP region, 0 when unknown. */
  homeDerp: number;
  /** Online as control last said; null when control did not say. */
  online: boolean | null;
  /** Last seen (ISO time), or null. */
  lastSeen: string | null;
  /** The OS from Hostinfo, e.g. "linux". */
  os: string;
  /** ACL tags, e.g. `tag:server`. */
  tags: string[];
  /** Node capabilities (names only). */
  capabilities: string[];
  /** Whether the machine is authorized (only meaningful for self). */
  machineAuthorized: boolean;
  /** Whether the node's key has expired. */
  expired: boolean;
  /** The raw tailcfg.Node JSON as last received, unknown fields included. */
  raw: Readonly<Record<string, unknown>>;
}

/** An immutable snapshot of everything control told us. */
export interface NetworkMap {
  /** Ourselves. */
  self: NetmapNode;
  /** Peers, sorted by node ID. */
  peers: readonly NetmapNode[];
  /** The DERP map. */
  derpMap: DerpMap | null;
  /** MagicDNS configuration (tailcfg.DNSConfig JSON), or null. */
  dns: Readonly<DnsConfigJson> | null;
  /** The packet filter rules (tailcfg.FilterRule JSON list), as last sent. */
  packetFilter: readonly Readonly<FilterRuleJson>[];
  /** User profiles by user ID. */
  userProfiles: ReadonlyMap<number, UserProfile>;
  /** The tailnet's MagicDNS suffix, e.g. `tailnet.test`, "" when none. */
  domain: string;
  /** Control's collection of other top-level fields we keep but do not interpret. */
  extra: Readonly<Record<string, unknown>>;
  /**
   * The named packet filters (MapResponse.PacketFilters; the legacy PacketFilter is `"base"`).
   * `packetFilter` is their concatenation in name order. Absent in hand-built netmaps.
   */
  packetFilters?: Readonly<Record<string, readonly Readonly<FilterRuleJson>[]>>;
  /** Control's clock minus ours (ms), from the last `ControlTime`; used for key expiry. */
  controlSkewMs?: number;
}
