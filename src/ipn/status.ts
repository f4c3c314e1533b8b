/**
 * `ipnstate.Status` JSON (what `GET status` answers and `tailnet status` prints), built from
 * a snapshot of the backend, with tailscaled's field names.
 * @module
 */
import type { NetmapNode, NetworkMap } from "../engine/control/types.ts";
import { ZERO_TIME } from "../engine/control/constants.ts";
import type { UserProfileJson } from "./prefs.ts";

export { ZERO_TIME };
const ZERO_NODE_KEY = "nodekey:" + "0".repeat(64);

/** `ipnstate.PeerStatus` JSON (the fields tailnet fills). */
export interface PeerStatusJson {
  ID: string;
  PublicKey: string;
  HostName: string;
  DNSName: string;
  OS: string;
  UserID: number;
  TailscaleIPs: string[] | null;
  AllowedIPs?: string[];
  Tags?: string[];
  PrimaryRoutes?: string[];
  Addrs: string[] | null;
  CurAddr: string;
  Relay: string;
  PeerRelay: string;
  RxBytes: number;
  TxBytes: number;
  Created: string;
  LastWrite: string;
  LastSeen: string;
  LastHandshake: string;
  Online: boolean;
  ExitNode: boolean;
  ExitNodeOption: boolean;
  Active: boolean;
  PeerAPIURL: string[] | null;
  TaildropTarget: number;
  NoFileSharingReason: string;
  Capabilities?: string[];
  InNetworkMap: boolean;
  InMagicSock: boolean;
  InEngine: boolean;
  Expired?: boolean;
  KeyExpiry?: string;
}

/** `ipnstate.TailnetStatus` JSON. */
export interface TailnetStatusJson {
  Name: string;
  MagicDNSSuffix: string;
  MagicDNSEnabled: boolean;
}

/** `ipnstate.ExitNodeStatus` JSON. */
export interface ExitNodeStatusJson {
  /** The exit node's stable ID. */
  ID: string;
  /** Whether control says it is online. */
  Online: boolean;
  /** Its Tailscale addresses, as prefixes. */
  TailscaleIPs: string[];
}

/** `ipnstate.Status` JSON. */
export interface StatusJson {
  Version: string;
  TUN: boolean;
  BackendState: string;
  HaveNodeKey?: boolean;
  AuthURL: string;
  TailscaleIPs: string[] | null;
  Self: PeerStatusJson | null;
  Health: string[] | null;
  MagicDNSSuffix: string;
  CurrentTailnet: TailnetStatusJson | null;
  CertDomains: string[] | null;
  Peer: Record<string, PeerStatusJson> | null;
  User: Record<string, UserProfileJson> | null;
  ClientVersion: null;
  /** The exit node in use (`ipnstate.ExitNodeStatus`), absent when none. */
  ExitNodeStatus?: ExitNodeStatusJson;
  /**
   * tailnet's own field (Go's decoder ignores unknown fields): the data plane's counters,
   * WireGuard drops by reason and per-peer packets, DERP and path counters. Absent while
   * there is no engine.
   */
  TailnetEngine?: unknown;
}

/** What the status is built from. */
export interface StatusSnapshot {
  /** tailnet's version. */
  version: string;
  /** The state name. */
  state: string;
  /** Whether a node key exists. */
  haveNodeKey: boolean;
  /** `nodekey:…` of our key, or null. */
  nodeKey: string | null;
  /** The pending auth URL, or null. */
  authUrl: string | null;
  /** The current netmap, or null. */
  netmap: NetworkMap | null;
  /** The hostname we would register with (for Self before a netmap). */
  hostname: string;
  /** Our OS name as in Hostinfo. */
  os: string;
  /** Health warnings. */
  health: string[];
  /** Whether to include peers. */
  peers: boolean;
  /** The data plane's counters, when there is an engine. */
  engineStats?: unknown;
  /** The exit node prefs chose, when it is in the netmap. */
  exitNode?: NetmapNode | null;
  /** Fills a peer's data-plane fields (counters, handshake, relay) in place, when there is one. */
  decoratePeer?: (node: NetmapNode, ps: PeerStatusJson) => void;
}

/**
 * Builds `ipnstate.Status` JSON.
 * @param s the snapshot
 * @returns the status
 */
export function buildStatus(s: StatusSnapshot): StatusJson {
  const nm = s.netmap;
  const suffix = nm ? magicDnsSuffix(nm) : "";
  const self = nm ? peerStatus(nm.self, nm, true) : bareSelf(s);
  const peers: Record<string, PeerStatusJson> = {};
  const users: Record<string, UserProfileJson> = {};
  if (nm) {
    if (s.peers) { for (const [key, ps] of peerEntries(s, nm)) peers[key] = ps; }
    for (const [id, u] of nm.userProfiles) {
      users[String(id)] = {
        ID: u.id,
        LoginName: u.loginName,
        DisplayName: u.displayName,
        ...(u.profilePicUrl ? { ProfilePicURL: u.profilePicUrl } : {}),
      };
    }
  }
  const ips = nm ? nm.self.addresses.map(stripPrefix) : [];
  const status: StatusJson = {
    Version: s.version,
    TUN: false,
    BackendState: s.state,
    AuthURL: s.authUrl ?? "",
    TailscaleIPs: ips.length ? ips : null,
    Self: self,
    Health: s.health.length ? [...s.health] : null,
    MagicDNSSuffix: suffix,
    CurrentTailnet: nm
      ? {
        Name: nm.domain,
        MagicDNSSuffix: suffix,
        MagicDNSEnabled: nm.dns !== null && nm.dns.Proxied === true,
      }
      : null,
    CertDomains: null,
    Peer: nm && s.peers ? peers : null,
    User: nm ? users : null,
    ClientVersion: null,
  };
  if (s.haveNodeKey) status.HaveNodeKey = true;
  if (nm && s.exitNode) {
    status.ExitNodeStatus = {
      ID: s.exitNode.stableId,
      Online: s.exitNode.online === true,
      TailscaleIPs: [...s.exitNode.addresses],
    };
  }
  if (s.engineStats !== undefined && s.engineStats !== null) status.TailnetEngine = s.engineStats;
  return status;
}

/**
 * The text of `GET status` for a snapshot: exactly `JSON.stringify(buildStatus(s), null, "\t")`
 * and a newline, as tailscaled writes it, but in pieces, each peer's entry made only when its
 * piece is asked for. Among 10,000 peers the whole status is ~10 MB of text over ~60 MB of
 * objects; made at once, each `status --json` raised the daemon's RSS by ~90 MiB for seconds
 * (and what V8 and malloc kept of it stayed), where pieces are short-lived garbage.
 * @param s the snapshot
 * @returns the pieces, in order
 */
export function* statusJsonPieces(s: StatusSnapshot): Generator<string> {
  const nm = s.netmap;
  const streamPeers = nm !== null && s.peers && nm.peers.length > 0 &&
    new Set(nm.peers.map((p) => p.key)).size === nm.peers.length;
  if (!streamPeers) {
    // No peers to stream (or two with one key, where the object keeps one entry at the first
    // one's place): the whole text at once.
    yield JSON.stringify(buildStatus(s), null, "\t") + "\n";
    return;
  }
  const head = buildStatus({ ...s, peers: false });
  head.Peer = {};
  const text = JSON.stringify(head, null, "\t") + "\n";
  // `"Peer": {}` one tab deep is the top-level key: JSON text has no raw newline inside a
  // string, so this match cannot be part of a value.
  const mark = '\n\t"Peer": {}';
  const at = text.indexOf(mark);
  yield text.slice(0, at) + '\n\t"Peer": {';
  let first = true;
  for (const [key, ps] of peerEntries(s, nm)) {
    yield `${first ? "" : ","}\n\t\t${JSON.stringify(key)}: ${
      JSON.stringify(ps, null, "\t").replaceAll("\n", "\n\t\t")
    }`;
    first = false;
  }
  yield "\n\t}" + text.slice(at + mark.length);
}

/** Each peer's key and status entry, in netmap order. */
function* peerEntries(
  s: StatusSnapshot,
  nm: NetworkMap,
): Generator<[string, PeerStatusJson]> {
  for (const p of nm.peers) {
    const ps = peerStatus(p, nm, false);
    if (p === s.exitNode) ps.ExitNode = true;
    s.decoratePeer?.(p, ps);
    yield [p.key, ps];
  }
}

/** The MagicDNS suffix: our DNS name without its first label, or the netmap's domain. */
function magicDnsSuffix(nm: NetworkMap): string {
  const name = nm.self.name.replace(/\.$/, "");
  const dot = name.indexOf(".");
  return dot >= 0 ? name.slice(dot + 1) : nm.domain;
}

function stripPrefix(p: string): string {
  const i = p.indexOf("/");
  return i >= 0 ? p.slice(0, i) : p;
}

function regionCode(nm: NetworkMap, region: number): string {
  if (region === 0 || nm.derpMap === null) return "";
  return nm.derpMap.Regions[String(region)]?.RegionCode ?? "";
}

function peerStatus(n: NetmapNode, nm: NetworkMap, self: boolean): PeerStatusJson {
  const ips = n.addresses.map(stripPrefix);
  const primary = Array.isArray(n.raw.PrimaryRoutes) ? n.raw.PrimaryRoutes as string[] : [];
  const created = typeof n.raw.Created === "string" ? n.raw.Created : ZERO_TIME;
  const exitOption = n.allowedIps.includes("0.0.0.0/0") || n.allowedIps.includes("::/0");
  const ps: PeerStatusJson = {
    ID: n.stableId,
    PublicKey: n.key,
    HostName: n.hostname,
    DNSName: n.name,
    OS: n.os,
    UserID: n.userId,
    TailscaleIPs: ips.length ? ips : null,
    AllowedIPs: n.allowedIps.length ? [...n.allowedIps] : undefined,
    Tags: n.tags.length ? [...n.tags] : undefined,
    PrimaryRoutes: primary.length ? [...primary] : undefined,
    Addrs: n.endpoints.length ? [...n.endpoints] : null,
    CurAddr: "",
    Relay: regionCode(nm, n.homeDerp),
    PeerRelay: "",
    RxBytes: 0,
    TxBytes: 0,
    Created: created,
    LastWrite: ZERO_TIME,
    LastSeen: n.lastSeen ?? ZERO_TIME,
    LastHandshake: ZERO_TIME,
    // Our own node is online by definition while we have a netmap.
    Online: self ? true : n.online === true,
    ExitNode: false,
    ExitNodeOption: !self && exitOption,
    Active: false,
    PeerAPIURL: null,
    TaildropTarget: 0,
    NoFileSharingReason: "",
    Capabilities: n.capabilities.length ? [...n.capabilities] : undefined,
    InNetworkMap: true,
    InMagicSock: false,
    InEngine: false,
  };
  if (n.expired) ps.Expired = true;
  if (n.keyExpiry !== null) ps.KeyExpiry = n.keyExpiry;
  for (const k of Object.keys(ps) as (keyof PeerStatusJson)[]) {
    if (ps[k] === undefined) delete ps[k];
  }
  return ps;
}

function bareSelf(s: StatusSnapshot): PeerStatusJson {
  return {
    ID: "",
    PublicKey: s.nodeKey ?? ZERO_NODE_KEY,
    HostName: s.hostname,
    DNSName: "",
    OS: s.os,
    UserID: 0,
    TailscaleIPs: null,
    Addrs: null,
    CurAddr: "",
    Relay: "",
    PeerRelay: "",
    RxBytes: 0,
    TxBytes: 0,
    Created: ZERO_TIME,
    LastWrite: ZERO_TIME,
    LastSeen: ZERO_TIME,
    LastHandshake: ZERO_TIME,
    Online: false,
    ExitNode: false,
    ExitNodeOption: false,
    Active: false,
    PeerAPIURL: null,
    TaildropTarget: 0,
    NoFileSharingReason: "",
    InNetworkMap: false,
    InMagicSock: false,
    InEngine: false,
  };
}
