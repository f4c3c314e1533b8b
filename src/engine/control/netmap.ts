/**
 * Applying MapResponses to a netmap (Go: `control/controlclient/map.go`), as one pure function:
 * `applyMapResponse(prev, response, { nowMs })` returns the next immutable snapshot. The order
 * is Go's: peers (full list, or removed, changed, seen, online, patches), self node, user
 * profiles, DERP map, packet filters, DNS and the other replace-when-present fields, then the
 * node fixups (legacy DERP string, nil AllowedIPs, key expiry against control's clock).
 *
 * Each node keeps its tailcfg.Node JSON in `raw`; patches edit a copy of `raw` and the typed
 * fields are derived from it again, so the two never disagree. Top-level fields tailnet does not
 * interpret are kept in `extra` under their Go names.
 * @module
 */
import type { DerpMap, DerpRegion, NetmapNode, NetworkMap, UserProfile } from "./types.ts";
import type {
  DnsConfigJson,
  DnsRecordJson,
  DnsResolverJson,
  FilterRuleJson,
  JsonObject,
  MapResponse,
  NetPortRangeJson,
  PeerChange,
  UserProfileJson,
} from "./tailcfg.ts";
import { ControlError } from "./client.ts";
import { ZERO_TIME } from "./constants.ts";

/** Options for {@linkcode applyMapResponse}. */
export interface ApplyOptions {
  /** Local wall-clock time in ms (for PeerSeenChange and key expiry). Default `Date.now()`. */
  nowMs?: number;
}

/** MapResponse fields that belong to the session, not the netmap: never kept in `extra`. */
const SESSION_FIELDS = new Set([
  "KeepAlive",
  "PingRequest",
  "PopBrowserURL",
  "MapSessionHandle",
  "Seq",
  "Debug",
  "ControlDialPlan",
]);

/** MapResponse fields this module interprets into typed netmap fields. */
const TYPED_FIELDS = new Set([
  "Node",
  "DERPMap",
  "Peers",
  "PeersChanged",
  "PeersRemoved",
  "PeersChangedPatch",
  "PeerSeenChange",
  "OnlineChange",
  "DNSConfig",
  "Domain",
  "PacketFilter",
  "PacketFilters",
  "UserProfiles",
  "ControlTime",
  "Health",
  "DisplayMessages",
]);

/** The legacy filter's name among the named filters. */
export const BASE_FILTER = "base";

/**
 * Applies one MapResponse to the previous netmap (null before the first). A keep-alive returns
 * `prev` unchanged. Throws {@linkcode ControlError} `bad-map-response` when there is no previous
 * netmap and the response has no `Node`.
 * @param prev the current netmap, or null
 * @param resp a decoded MapResponse
 * @param options the local clock
 * @returns the next netmap
 * @example A first response, then a patch
 * ```ts
 * import { applyMapResponse } from "./netmap.ts";
 * const self = { ID: 1, Key: "nodekey:" + "1".repeat(64), Addresses: ["100.64.0.1/32"] };
 * const peer = { ID: 2, Key: "nodekey:" + "2".repeat(64), Addresses: ["100.64.0.2/32"] };
 * let nm = applyMapResponse(null, { Node: self, Peers: [peer] });
 * nm = applyMapResponse(nm, { OnlineChange: { "2": true } });
 * if (nm.peers[0].online !== true || nm.self.allowedIps[0] !== "100.64.0.1/32") throw new Error();
 * ```
 */
export function applyMapResponse(
  prev: NetworkMap | null,
  resp: MapResponse,
  options: ApplyOptions = {},
): NetworkMap {
  if (resp.KeepAlive === true) {
    if (prev === null) {
      throw new ControlError(
        "bad-map-response",
        "Cannot apply MapResponse: keep-alive before the first netmap",
        true,
      );
    }
    return prev;
  }
  const nowMs = options.nowMs ?? Date.now();
  if (prev === null && !isObject(resp.Node)) {
    throw new ControlError(
      "bad-map-response",
      "Cannot apply MapResponse: initial MapResponse lacked node",
      true,
    );
  }

  let skewMs = prev?.controlSkewMs ?? 0;
  if (typeof resp.ControlTime === "string") {
    const t = Date.parse(resp.ControlTime);
    if (Number.isFinite(t)) skewMs = t - nowMs;
  }
  const controlNowMs = nowMs + skewMs;

  // 1. Peers: a full list, or the changes to the previous list (only changed peers are
  // rebuilt; every other node object is kept, so consumers can tell them unchanged).
  let rawPeers: Map<number, JsonObject> | null = null;
  let peerEdits: Map<number, JsonObject | null> | null = null;
  if (prev === null || (Array.isArray(resp.Peers) && resp.Peers.length > 0)) {
    rawPeers = new Map();
    for (const p of arrayOf(resp.Peers)) if (isNode(p)) rawPeers.set(p.ID, p);
  } else {
    peerEdits = peerChanges(prev.peers, resp, nowMs);
  }
  // 2. Self node.
  const selfRaw: JsonObject | null = isObject(resp.Node) ? resp.Node : null;

  // 3. User profiles: merge by ID.
  let userProfiles: ReadonlyMap<number, UserProfile> = prev?.userProfiles ?? new Map();
  if (Array.isArray(resp.UserProfiles) && resp.UserProfiles.length > 0) {
    const m = new Map(userProfiles);
    for (const u of resp.UserProfiles) {
      if (isObject(u) && typeof u.ID === "number") m.set(u.ID, userProfileFromJson(u));
    }
    userProfiles = m;
  }

  // 4. DERP map.
  const derpMap = isObject(resp.DERPMap)
    ? mergeDerpMap(prev?.derpMap ?? null, resp.DERPMap)
    : prev?.derpMap ?? null;

  // 5. Packet filters (the previous ones, same objects, when the response has none).
  const filtersSent = Array.isArray(resp.PacketFilter) || isObject(resp.PacketFilters);
  let filters: Record<string, readonly Readonly<FilterRuleJson>[]> = {
    ...(prev?.packetFilters ?? {}),
  };
  if (prev && prev.packetFilters === undefined && prev.packetFilter.length > 0) {
    filters[BASE_FILTER] = prev.packetFilter;
  }
  if (Array.isArray(resp.PacketFilter)) {
    filters[BASE_FILTER] = filterRulesFromJson(resp.PacketFilter);
  }
  if (isObject(resp.PacketFilters)) {
    const pfs = resp.PacketFilters as Record<string, JsonObject[] | null>;
    if ("*" in pfs && pfs["*"] === null) filters = {};
    for (const [name, rules] of Object.entries(pfs)) {
      if (name === "*" && rules === null) continue;
      if (rules === null) delete filters[name];
      else if (Array.isArray(rules)) filters[name] = filterRulesFromJson(rules);
    }
  }
  const packetFilter = !filtersSent && prev !== null
    ? prev.packetFilter
    : Object.keys(filters).sort().flatMap((n) => filters[n]);

  // 6. DNS, domain and the fields kept as-is.
  const dns = isObject(resp.DNSConfig) ? dnsConfigFromJson(resp.DNSConfig) : prev?.dns ?? null;
  const domain = typeof resp.Domain === "string" && resp.Domain !== ""
    ? resp.Domain
    : prev?.domain ?? "";
  const extra: Record<string, unknown> = { ...(prev?.extra ?? {}) };
  for (const [k, v] of Object.entries(resp)) {
    if (SESSION_FIELDS.has(k) || TYPED_FIELDS.has(k)) continue;
    if (v === null || v === undefined) continue; // nil means unchanged in every such field
    extra[k] = v;
  }
  if (typeof resp.ControlTime === "string") extra.ControlTime = resp.ControlTime;
  if (Array.isArray(resp.Health) && resp.Health.every((h) => typeof h === "string")) {
    if (resp.Health.length === 0) delete extra.Health;
    else extra.Health = resp.Health;
  }
  if (isObject(resp.DisplayMessages)) {
    let dm: Record<string, unknown> = { ...((extra.DisplayMessages as JsonObject) ?? {}) };
    for (const [id, msg] of Object.entries(resp.DisplayMessages)) {
      if (id === "*" && msg === null) dm = {};
      else if (msg === null) delete dm[id];
      else dm[id] = msg;
    }
    if (Object.keys(dm).length === 0) delete extra.DisplayMessages;
    else extra.DisplayMessages = dm;
  }

  // 7. Node fixups, then the typed views.
  const self = selfRaw !== null
    ? nodeFromRaw(selfRaw, controlNowMs)
    : withExpiry(prev!.self, controlNowMs);
  const peers = rawPeers !== null
    ? [...rawPeers.values()].map((raw) => nodeFromRaw(raw, controlNowMs)).sort((a, b) =>
      a.id - b.id
    )
    : editPeers(prev!.peers, peerEdits!, controlNowMs);

  return {
    self,
    peers,
    derpMap,
    dns,
    packetFilter,
    packetFilters: !filtersSent && prev?.packetFilters !== undefined ? prev.packetFilters : filters,
    userProfiles,
    domain,
    extra,
    controlSkewMs: skewMs,
  };
}

/**
 * The peers a delta response changes, by node ID: the node's new JSON, or null when removed.
 * Go's order: removed, changed (whole nodes), seen, online, then patches.
 */
function peerChanges(
  prev: readonly NetmapNode[],
  resp: MapResponse,
  nowMs: number,
): Map<number, JsonObject | null> {
  const edits = new Map<number, JsonObject | null>();
  const current = (id: number): JsonObject | undefined => {
    const e = edits.get(id);
    if (e !== undefined) return e ?? undefined;
    if (edits.has(id)) return undefined;
    return peerById(prev, id)?.raw as JsonObject | undefined;
  };
  for (const id of arrayOf(resp.PeersRemoved)) {
    if (typeof id === "number" && peerById(prev, id) !== undefined) edits.set(id, null);
  }
  for (const p of arrayOf(resp.PeersChanged)) if (isNode(p)) edits.set(p.ID, p);
  for (const [key, seen] of entriesOf(resp.PeerSeenChange)) {
    const id = Number(key);
    const p = current(id);
    if (!p) continue;
    const next = { ...p };
    if (seen) next.LastSeen = new Date(nowMs).toISOString();
    else delete next.LastSeen;
    edits.set(id, next);
  }
  for (const [key, online] of entriesOf(resp.OnlineChange)) {
    const id = Number(key);
    const p = current(id);
    if (p && typeof online === "boolean") edits.set(id, { ...p, Online: online });
  }
  for (const pc of arrayOf(resp.PeersChangedPatch)) {
    if (!isObject(pc) || typeof pc.NodeID !== "number") continue;
    const p = current(pc.NodeID);
    if (p) edits.set(pc.NodeID, patchNode(p, pc as PeerChange));
  }
  return edits;
}

/** The peer with node ID `id` in a list sorted by ID (binary search). */
function peerById(peers: readonly NetmapNode[], id: number): NetmapNode | undefined {
  let lo = 0;
  let hi = peers.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = peers[mid].id;
    if (m === id) return peers[mid];
    if (m < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/**
 * The previous peer list with `edits` applied, sorted by ID. Unchanged peers keep their node
 * objects (only a key that has since expired by control's clock makes a new one).
 */
function editPeers(
  prev: readonly NetmapNode[],
  edits: ReadonlyMap<number, JsonObject | null>,
  controlNowMs: number,
): readonly NetmapNode[] {
  let out: NetmapNode[] | null = null;
  for (let i = 0; i < prev.length; i++) {
    const p = prev[i];
    const next = withExpiry(p, controlNowMs);
    if (next !== p && out === null) out = prev.slice(0, i);
    if (out !== null) out.push(next);
  }
  if (edits.size === 0) return out ?? prev;
  const kept = out ?? prev;
  const added: NetmapNode[] = [];
  for (const [id, raw] of edits) {
    if (raw !== null && peerById(kept, id) === undefined) {
      added.push(nodeFromRaw(raw, controlNowMs));
    }
  }
  const merged: NetmapNode[] = [];
  for (const p of kept) {
    const raw = edits.get(p.id);
    if (raw === undefined) merged.push(p);
    else if (raw !== null) merged.push(nodeFromRaw(raw, controlNowMs));
  }
  if (added.length === 0) return merged;
  return merged.concat(added).sort((a, b) => a.id - b.id);
}

/** `n`, or a copy marked expired when its key expiry has passed by control's clock. */
function withExpiry(n: NetmapNode, controlNowMs: number): NetmapNode {
  if (n.expired || n.keyExpiry === null || Date.parse(n.keyExpiry) > controlNowMs) return n;
  return { ...n, expired: true };
}

/**
 * Applies one PeersChangedPatch entry to a node's JSON (only the fields present change).
 * @param raw the node's tailcfg.Node JSON
 * @param pc the patch
 * @returns a patched copy
 */
export function patchNode(raw: JsonObject, pc: PeerChange): JsonObject {
  const n: JsonObject = { ...raw };
  if (typeof pc.DERPRegion === "number" && pc.DERPRegion !== 0) {
    n.HomeDERP = pc.DERPRegion;
    delete n.DERP;
  }
  if (typeof pc.Cap === "number" && pc.Cap !== 0) n.Cap = pc.Cap;
  if (isObject(pc.CapMap)) n.CapMap = pc.CapMap;
  if (Array.isArray(pc.Endpoints)) n.Endpoints = pc.Endpoints;
  if (typeof pc.Key === "string") n.Key = pc.Key;
  if (typeof pc.KeySignature === "string") n.KeySignature = pc.KeySignature;
  if (typeof pc.DiscoKey === "string") n.DiscoKey = pc.DiscoKey;
  if (typeof pc.Online === "boolean") n.Online = pc.Online;
  if (typeof pc.LastSeen === "string") n.LastSeen = pc.LastSeen;
  if (typeof pc.KeyExpiry === "string") n.KeyExpiry = pc.KeyExpiry;
  return n;
}

/**
 * The typed view of a tailcfg.Node, with Go's `upgradeNode` fixups: the legacy `DERP` string
 * becomes the home region, a nil `AllowedIPs` means `Addresses`, and a key whose expiry has
 * passed (by control's clock) is marked expired.
 * @param raw the node JSON
 * @param controlNowMs control's idea of now, in ms
 * @returns the node
 */
export function nodeFromRaw(raw: JsonObject, controlNowMs: number): NetmapNode {
  const hi = isObject(raw.Hostinfo) ? raw.Hostinfo : {};
  const addresses = strings(raw.Addresses);
  const allowed = Array.isArray(raw.AllowedIPs) ? strings(raw.AllowedIPs) : addresses;
  let homeDerp = typeof raw.HomeDERP === "number" ? raw.HomeDERP : 0;
  if (homeDerp === 0 && typeof raw.DERP === "string") {
    const m = /^127\.3\.3\.40:(\d+)$/.exec(raw.DERP);
    if (m) homeDerp = Number(m[1]);
  }
  const keyExpiry = typeof raw.KeyExpiry === "string" && raw.KeyExpiry !== ZERO_TIME &&
      !raw.KeyExpiry.startsWith("0001-01-01")
    ? raw.KeyExpiry
    : null;
  const expiredByTime = keyExpiry !== null && Date.parse(keyExpiry) <= controlNowMs;
  const caps = new Set(strings(raw.Capabilities));
  if (isObject(raw.CapMap)) { for (const k of Object.keys(raw.CapMap)) caps.add(k); }
  const lastSeen = typeof raw.LastSeen === "string" ? raw.LastSeen : null;
  return {
    id: typeof raw.ID === "number" ? raw.ID : 0,
    stableId: typeof raw.StableID === "string" ? raw.StableID : "",
    name: typeof raw.Name === "string" ? raw.Name : "",
    hostname: typeof hi.Hostname === "string" ? hi.Hostname : "",
    userId: typeof raw.User === "number" ? raw.User : 0,
    key: typeof raw.Key === "string" ? raw.Key : "",
    keyExpiry,
    machine: typeof raw.Machine === "string" ? raw.Machine : "",
    discoKey: typeof raw.DiscoKey === "string" ? raw.DiscoKey : "",
    addresses,
    allowedIps: allowed,
    endpoints: strings(raw.Endpoints),
    homeDerp,
    online: typeof raw.Online === "boolean" ? raw.Online : null,
    lastSeen,
    os: typeof hi.OS === "string" ? hi.OS : "",
    tags: strings(raw.Tags),
    capabilities: [...caps].sort(),
    machineAuthorized: raw.MachineAuthorized === true,
    expired: raw.Expired === true || expiredByTime,
    raw,
  };
}

/**
 * Merges a DERPMap update into the previous map: null regions are dropped; absent `Regions`
 * keeps the old regions (and `omitDefaultRegions`); absent `HomeParams` keeps the old ones, and
 * absent `HomeParams.RegionScore` keeps the old score.
 * @param prev the previous DERP map or null
 * @param update the DERPMap JSON from control
 * @returns the merged map
 */
export function mergeDerpMap(prev: DerpMap | null, update: JsonObject): DerpMap {
  let regions: Record<string, DerpRegion>;
  let omit: boolean | undefined;
  if (isObject(update.Regions)) {
    regions = {};
    for (const [id, r] of Object.entries(update.Regions)) {
      if (!isObject(r)) continue;
      // Nodes is what every consumer iterates: make it an array of objects whatever was sent.
      const nodes = Array.isArray(r.Nodes) ? r.Nodes.filter(isObject) : [];
      regions[id] = { ...r, Nodes: nodes } as unknown as DerpRegion;
    }
    omit = update.omitDefaultRegions === true ? true : undefined;
  } else {
    regions = { ...(prev?.Regions ?? {}) };
    omit = prev?.OmitDefaultRegions;
  }
  let homeParams: unknown = prev?.HomeParams;
  if (isObject(update.HomeParams)) {
    const hp = { ...update.HomeParams };
    if (hp.RegionScore === undefined || hp.RegionScore === null) {
      const old = isObject(prev?.HomeParams) ? prev.HomeParams.RegionScore : undefined;
      if (old !== undefined) hp.RegionScore = old;
    }
    homeParams = hp;
  }
  const out: DerpMap = { Regions: regions };
  if (omit !== undefined) out.OmitDefaultRegions = omit;
  if (homeParams !== undefined) out.HomeParams = homeParams;
  return out;
}

/**
 * Converts a tailcfg.UserProfile.
 * @param u the JSON
 * @returns the profile
 */
export function userProfileFromJson(u: UserProfileJson): UserProfile {
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  return {
    id: u.ID,
    loginName: str(u.LoginName),
    displayName: str(u.DisplayName),
    profilePicUrl: str(u.ProfilePicURL),
  };
}

/**
 * The MagicDNS suffix of a node name (`host.tailnet.test.` gives `tailnet.test`), as Go's
 * `MagicDNSSuffixOfNodeName`.
 * @param name FQDN with or without trailing dot
 * @returns the suffix, "" when the name has a single label
 */
export function magicDnsSuffix(name: string): string {
  const trimmed = name.replace(/^\.+|\.+$/g, "");
  const i = trimmed.indexOf(".");
  return i < 0 ? "" : trimmed.slice(i + 1);
}

/**
 * The packet filter rules of a MapResponse, read leniently: entries that are not objects are
 * skipped, and in each rule a known field of the wrong type is dropped (unknown fields stay).
 * A well-formed rule comes back as the same object.
 * @param rules the `PacketFilter` (or one named filter) JSON array
 * @returns the typed rules
 */
export function filterRulesFromJson(rules: readonly unknown[]): FilterRuleJson[] {
  const out: FilterRuleJson[] = [];
  for (const r of rules) {
    if (!isObject(r)) continue;
    out.push(
      keepTyped(r, {
        SrcIPs: isStrings,
        SrcBits: isNumbers,
        DstPorts: (v) => Array.isArray(v) && v.every(isNetPortRange),
        IPProto: isNumbers,
        CapGrant: (v) => Array.isArray(v) && v.every(isObject),
      }) as FilterRuleJson,
    );
  }
  return out;
}

/**
 * A MapResponse's DNSConfig, read leniently: a known field of the wrong type is dropped,
 * unknown fields stay. A well-formed config comes back as the same object.
 * @param dns the `DNSConfig` JSON object
 * @returns the typed config
 */
export function dnsConfigFromJson(dns: JsonObject): DnsConfigJson {
  const resolvers = (v: unknown) => Array.isArray(v) && v.every(isResolver);
  return keepTyped(dns, {
    Resolvers: resolvers,
    Routes: (v) => isObject(v) && Object.values(v).every((r) => r === null || resolvers(r)),
    FallbackResolvers: resolvers,
    Domains: isStrings,
    Proxied: (v) => typeof v === "boolean",
    Nameservers: isStrings,
    CertDomains: isStrings,
    ExtraRecords: (v) => Array.isArray(v) && v.every(isDnsRecord),
  }) as DnsConfigJson;
}

/** `o` with every present field whose check fails removed; `o` itself when none fails. */
function keepTyped(o: JsonObject, checks: Record<string, (v: unknown) => boolean>): JsonObject {
  let out = o;
  for (const [k, ok] of Object.entries(checks)) {
    if (o[k] === undefined || ok(o[k])) continue;
    if (out === o) out = { ...o };
    delete out[k];
  }
  return out;
}

function isNetPortRange(v: unknown): v is NetPortRangeJson {
  return isObject(v) && typeof v.IP === "string" && isObject(v.Ports) &&
    typeof v.Ports.First === "number" && typeof v.Ports.Last === "number";
}

function isResolver(v: unknown): v is DnsResolverJson {
  return isObject(v) && typeof v.Addr === "string";
}

function isDnsRecord(v: unknown): v is DnsRecordJson {
  return isObject(v) && typeof v.Name === "string" && typeof v.Value === "string";
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function isNumbers(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === "number");
}

function isNode(v: unknown): v is JsonObject & { ID: number } {
  return isObject(v) && typeof v.ID === "number";
}

function arrayOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function entriesOf(v: unknown): [string, unknown][] {
  return isObject(v) ? Object.entries(v) : [];
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}
