/**
 * The tailcfg JSON shapes the control client sends and reads (Go: `tailcfg/tailcfg.go`), with
 * Go's field names. Only the fields tailnet uses are typed; every shape is open (`[key: string]:
 * unknown`) so unknown fields survive a decode, as Go's decoder ignores and we keep them.
 * @module
 */
import type { Hostinfo } from "./types.ts";

/** A JSON object with unknown extra fields. */
export type JsonObject = Record<string, unknown>;

/** `tailcfg.RegisterRequest`. */
export interface RegisterRequest {
  Version: number;
  NodeKey: string;
  OldNodeKey: string;
  NLKey?: string;
  Auth?: { AuthKey?: string; [key: string]: unknown };
  Expiry: string;
  Followup: string;
  Hostinfo: Hostinfo;
  Ephemeral?: boolean;
  NodeKeySignature?: string | null;
  [key: string]: unknown;
}

/** `tailcfg.RegisterResponse`. */
export interface RegisterResponse {
  User?: { ID?: number; DisplayName?: string; ProfilePicURL?: string; [key: string]: unknown };
  Login?: {
    ID?: number;
    Provider?: string;
    LoginName?: string;
    DisplayName?: string;
    ProfilePicURL?: string;
    [key: string]: unknown;
  };
  NodeKeyExpired?: boolean;
  MachineAuthorized?: boolean;
  AuthURL?: string;
  NodeKeySignature?: string | null;
  Error?: string;
  [key: string]: unknown;
}

/** `tailcfg.MapRequest`. */
export interface MapRequest {
  Version: number;
  Compress?: string;
  KeepAlive: boolean;
  NodeKey: string;
  DiscoKey: string;
  Stream: boolean;
  Hostinfo: Hostinfo;
  Endpoints?: string[];
  EndpointTypes?: number[];
  OmitPeers?: boolean;
  [key: string]: unknown;
}

/** `tailcfg.PingRequest`. */
export interface PingRequest {
  URL: string;
  URLIsNoise?: boolean;
  Log?: boolean;
  Types?: string;
  IP?: string;
  Payload?: string;
  [key: string]: unknown;
}

/** `tailcfg.PeerChange` (an entry of `PeersChangedPatch`). */
export interface PeerChange {
  NodeID: number;
  DERPRegion?: number;
  Cap?: number;
  CapMap?: JsonObject | null;
  Endpoints?: string[] | null;
  Key?: string | null;
  KeySignature?: string | null;
  DiscoKey?: string | null;
  Online?: boolean | null;
  LastSeen?: string | null;
  KeyExpiry?: string | null;
  [key: string]: unknown;
}

/** `tailcfg.UserProfile` as JSON. */
export interface UserProfileJson {
  ID: number;
  LoginName?: string;
  DisplayName?: string;
  ProfilePicURL?: string;
  [key: string]: unknown;
}

/** `tailcfg.PortRange`: inclusive. */
export interface PortRangeJson {
  First: number;
  Last: number;
}

/** `tailcfg.NetPortRange`: destinations of a filter rule. */
export interface NetPortRangeJson {
  /** `*`, an IP, a CIDR prefix or an `a-b` range. */
  IP: string;
  /** Deprecated prefix length for a bare IP; null or absent for none. */
  Bits?: number | null;
  Ports: PortRangeJson;
  [key: string]: unknown;
}

/** `tailcfg.CapGrant`: peer capabilities granted for some destinations. */
export interface CapGrantJson {
  /** Destination prefixes. */
  Dsts?: string[];
  /** Capability names (old form). */
  Caps?: string[];
  /** Capabilities with their JSON values (new form). */
  CapMap?: JsonObject;
  [key: string]: unknown;
}

/**
 * `tailcfg.FilterRule`, one rule of the packet filter, as control sent it. Known fields that
 * arrive with the wrong type are dropped by the netmap (lenient), unknown fields are kept.
 */
export interface FilterRuleJson {
  /** Sources: `*`, IPs, CIDR prefixes, `a-b` ranges. */
  SrcIPs?: string[];
  /** Deprecated per-source prefix lengths. */
  SrcBits?: number[];
  /** Destinations with ports. */
  DstPorts?: NetPortRangeJson[];
  /** IP protocol numbers; empty means TCP, UDP, ICMPv4 and ICMPv6. */
  IPProto?: number[];
  /** Capability grants (instead of DstPorts). */
  CapGrant?: CapGrantJson[];
  [key: string]: unknown;
}

/** `dnstype.Resolver`. */
export interface DnsResolverJson {
  /** `ip`, `ip:port`, a DoH URL, … */
  Addr: string;
  /** IPs for a DoH host name. */
  BootstrapResolution?: string[];
  [key: string]: unknown;
}

/** `tailcfg.DNSRecord`: an extra MagicDNS record. */
export interface DnsRecordJson {
  Name: string;
  /** `A`, `AAAA`, or empty (inferred from Value). */
  Type?: string;
  Value: string;
  [key: string]: unknown;
}

/** `tailcfg.DNSConfig`, as control sent it (wrongly typed known fields dropped). */
export interface DnsConfigJson {
  /** Upstream resolvers for everything not routed elsewhere. */
  Resolvers?: DnsResolverJson[];
  /** Split DNS: suffix to resolvers (null or empty: MagicDNS answers it). */
  Routes?: Record<string, DnsResolverJson[] | null>;
  /** Resolvers when there are no others. */
  FallbackResolvers?: DnsResolverJson[];
  /** Search domains. */
  Domains?: string[];
  /** Whether MagicDNS is on (100.100.100.100 answers). */
  Proxied?: boolean;
  /** Legacy resolver IPs. */
  Nameservers?: string[];
  /** Domains to request TLS certificates for. */
  CertDomains?: string[];
  /** Extra records MagicDNS serves. */
  ExtraRecords?: DnsRecordJson[];
  [key: string]: unknown;
}

/** `tailcfg.MapResponse`. Absent and null both mean "unchanged" unless said otherwise. */
export interface MapResponse {
  KeepAlive?: boolean;
  PingRequest?: PingRequest | null;
  PopBrowserURL?: string;
  Node?: JsonObject | null;
  DERPMap?: JsonObject | null;
  Peers?: JsonObject[] | null;
  PeersChanged?: JsonObject[] | null;
  PeersRemoved?: number[] | null;
  PeersChangedPatch?: PeerChange[] | null;
  PeerSeenChange?: Record<string, boolean> | null;
  OnlineChange?: Record<string, boolean> | null;
  DNSConfig?: JsonObject | null;
  Domain?: string;
  CollectServices?: boolean | null;
  /** Legacy whole filter; `[]` means deny all, null/absent means unchanged. */
  PacketFilter?: JsonObject[] | null;
  /** Named filters; a null value deletes that name, `"*": null` clears all. */
  PacketFilters?: Record<string, JsonObject[] | null> | null;
  UserProfiles?: UserProfileJson[] | null;
  Health?: string[] | null;
  DisplayMessages?: Record<string, unknown> | null;
  SSHPolicy?: JsonObject | null;
  ControlTime?: string | null;
  Debug?: { SleepSeconds?: number; Exit?: number | null; [key: string]: unknown } | null;
  [key: string]: unknown;
}

/**
 * Parses one map frame's JSON as a MapResponse. Throws `SyntaxError` when it is not a JSON
 * object.
 * @param text the JSON text
 * @returns the response
 */
export function parseMapResponse(text: string): MapResponse {
  const v: unknown = JSON.parse(text);
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new SyntaxError("Cannot parse MapResponse: not a JSON object");
  }
  return v as MapResponse;
}
