/**
 * `ipn.Prefs`: a node's user preferences, in tailscaled's JSON shape (Go field names), with
 * the defaults of Go's `ipn.NewPrefs`, validation, and `ipn.MaskedPrefs` edits.
 *
 * The persisted login state (Go's `Prefs.Persist`, JSON `Config`) is not part of
 * {@linkcode Prefs} here: the backend keeps it as the control contract's `Persist` and
 * {@linkcode prefsToJson} adds it back, private keys zeroed, for the LocalAPI.
 *
 * This file holds JSON types and pure functions only, so CLI commands may import it.
 * @module
 */

/** Go's `ipn.DefaultControlURL`, used when `ControlURL` is empty. */
export const DEFAULT_CONTROL_URL = "https://controlplane.tailscale.com";

/** `preftype.NetfilterMode`: 0 off, 1 nodivert, 2 on. */
export type NetfilterMode = 0 | 1 | 2;

/** `ipn.AutoUpdatePrefs`. */
export interface AutoUpdatePrefs {
  /** Check for updates. */
  Check: boolean;
  /** Apply updates (opt.Bool: null when unset). */
  Apply: boolean | null;
}

/** `ipn.AppConnectorPrefs`. */
export interface AppConnectorPrefs {
  /** Advertise this node as an app connector. */
  Advertise: boolean;
}

/** `persist.Persist` as JSON (`Prefs.Config`). */
export interface PersistJson {
  /** `privkey:…`; zeroed on the LocalAPI. */
  PrivateNodeKey: string;
  /** `privkey:…`; zeroed on the LocalAPI. */
  OldPrivateNodeKey: string;
  /** The logged-in user. */
  UserProfile: UserProfileJson;
  /** Tailnet lock key; tailnet has none (zero). */
  NetworkLockKey: string;
  /** Control's stable node ID. */
  NodeID: string;
}

/** `tailcfg.UserProfile` as JSON. */
export interface UserProfileJson {
  /** Numeric user ID. */
  ID: number;
  /** Login name. */
  LoginName: string;
  /** Display name. */
  DisplayName: string;
  /** Picture URL; left out when empty (Go's omitzero). */
  ProfilePicURL?: string;
}

/** `ipn.Prefs` without `Config` (the persist), with Go's JSON field names. */
export interface Prefs {
  /** Control server URL; "" until first `up` (relaxes the `up` flag check). */
  ControlURL: string;
  /** Accept subnet routes from peers (`--accept-routes`). */
  RouteAll: boolean;
  /** Exit node by stable ID, "" for none. */
  ExitNodeID: string;
  /** Exit node by IP, "" for none. */
  ExitNodeIP: string;
  /** An automatic exit node expression (`auto:any`); omitted when "" (Go's omitempty). */
  AutoExitNode?: string;
  /** The last exit node used, for toggling. */
  InternalExitNodePrior: string;
  /** Allow LAN access while using an exit node. */
  ExitNodeAllowLANAccess: boolean;
  /** Accept DNS configuration from control (`--accept-dns`). */
  CorpDNS: boolean;
  /** Run Tailscale SSH. tailnet has no SSH server: always false. */
  RunSSH: boolean;
  /** Run the web client. tailnet has none: always false. */
  RunWebClient: boolean;
  /** Whether the user wants the node up. */
  WantRunning: boolean;
  /** Set by logout; cleared by a successful login. */
  LoggedOut: boolean;
  /** Refuse incoming connections (`--shields-up`). */
  ShieldsUp: boolean;
  /** ACL tags to request, `tag:…`. */
  AdvertiseTags: string[] | null;
  /** Hostname to use instead of the OS's, "" for the OS's. */
  Hostname: string;
  /** Unused on Linux. */
  NotepadURLs: boolean;
  /** Windows unattended mode; unused. */
  ForceDaemon?: boolean;
  /** An easter egg; kept for JSON fidelity. */
  Egg?: boolean;
  /** Routes to advertise, CIDR strings. */
  AdvertiseRoutes: string[] | null;
  /** Services to advertise. */
  AdvertiseServices: string[] | null;
  /** opt.Bool: null when unset. */
  Sync: boolean | null;
  /** Disable source NAT for subnet routes. */
  NoSNAT: boolean;
  /** opt.Bool. */
  NoStatefulFiltering?: boolean | null;
  /** Linux netfilter mode. */
  NetfilterMode: NetfilterMode;
  /** Operator user; unused (no peer credentials in Deno). */
  OperatorUser?: string;
  /** Profile name. */
  ProfileName?: string;
  /** Auto-update settings; unused. */
  AutoUpdate: AutoUpdatePrefs;
  /** App connector settings; unused. */
  AppConnector: AppConnectorPrefs;
  /** Allow posture checks; unused. */
  PostureChecking: boolean;
  /** Netfilter implementation; unused. */
  NetfilterKind: string;
  /** Taildrive shares; unused. */
  DriveShares: unknown[] | null;
  /** UDP port of this node's peer relay server; omitted when unset. tailnet has none. */
  RelayServerPort?: number | null;
  /** Extra `ip:port` endpoints of the peer relay server; omitted when empty. */
  RelayServerStaticEndpoints?: string[] | null;
  /** Always true in JSON (`marshalAsTrueInJSON`). */
  AllowSingleHosts: true;
}

/** `ipn.Prefs` JSON as tailscaled serves it: {@linkcode Prefs} plus `Config`. */
export interface PrefsJson extends Prefs {
  /** The persist, private keys zeroed; null before any login. */
  Config: PersistJson | null;
}

/** `ipn.MaskedPrefs` JSON: prefs fields plus `<Field>Set: true` for each to change. */
export type MaskedPrefs = Partial<Prefs> & { [setFlag: `${string}Set`]: unknown };

/** Every field of {@linkcode Prefs}, in Go's order. */
export const PREF_FIELDS: readonly (keyof Prefs)[] = [
  "ControlURL",
  "RouteAll",
  "ExitNodeID",
  "ExitNodeIP",
  "AutoExitNode",
  "InternalExitNodePrior",
  "ExitNodeAllowLANAccess",
  "CorpDNS",
  "RunSSH",
  "RunWebClient",
  "WantRunning",
  "LoggedOut",
  "ShieldsUp",
  "AdvertiseTags",
  "Hostname",
  "NotepadURLs",
  "ForceDaemon",
  "Egg",
  "AdvertiseRoutes",
  "AdvertiseServices",
  "Sync",
  "NoSNAT",
  "NoStatefulFiltering",
  "NetfilterMode",
  "OperatorUser",
  "ProfileName",
  "AutoUpdate",
  "AppConnector",
  "PostureChecking",
  "NetfilterKind",
  "DriveShares",
  "RelayServerPort",
  "RelayServerStaticEndpoints",
  "AllowSingleHosts",
];

type FieldKind =
  | "string"
  | "bool"
  | "optbool"
  | "strings"
  | "netfilter"
  | "object"
  | "list"
  | "port";
const FIELD_KIND: Record<keyof Prefs, FieldKind> = {
  ControlURL: "string",
  RouteAll: "bool",
  ExitNodeID: "string",
  ExitNodeIP: "string",
  AutoExitNode: "string",
  InternalExitNodePrior: "string",
  ExitNodeAllowLANAccess: "bool",
  CorpDNS: "bool",
  RunSSH: "bool",
  RunWebClient: "bool",
  WantRunning: "bool",
  LoggedOut: "bool",
  ShieldsUp: "bool",
  AdvertiseTags: "strings",
  Hostname: "string",
  NotepadURLs: "bool",
  ForceDaemon: "bool",
  Egg: "bool",
  AdvertiseRoutes: "strings",
  AdvertiseServices: "strings",
  Sync: "optbool",
  NoSNAT: "bool",
  NoStatefulFiltering: "optbool",
  NetfilterMode: "netfilter",
  OperatorUser: "string",
  ProfileName: "string",
  AutoUpdate: "object",
  AppConnector: "object",
  PostureChecking: "bool",
  NetfilterKind: "string",
  DriveShares: "list",
  RelayServerPort: "port",
  RelayServerStaticEndpoints: "strings",
  AllowSingleHosts: "bool",
};

/**
 * The prefs of a fresh node, as Go's `ipn.NewPrefs` on Linux.
 * @returns new default prefs
 *
 * @example Defaults
 * ```ts
 * import { defaultPrefs } from "./prefs.ts";
 * const p = defaultPrefs();
 * if (p.CorpDNS !== true || p.WantRunning !== false || p.ControlURL !== "") throw new Error();
 * ```
 */
export function defaultPrefs(): Prefs {
  return {
    ControlURL: "",
    RouteAll: false,
    ExitNodeID: "",
    ExitNodeIP: "",
    InternalExitNodePrior: "",
    ExitNodeAllowLANAccess: false,
    CorpDNS: true,
    RunSSH: false,
    RunWebClient: false,
    WantRunning: false,
    LoggedOut: false,
    ShieldsUp: false,
    AdvertiseTags: null,
    Hostname: "",
    NotepadURLs: false,
    AdvertiseRoutes: null,
    AdvertiseServices: null,
    Sync: null,
    NoSNAT: false,
    NoStatefulFiltering: true,
    NetfilterMode: 2,
    AutoUpdate: { Check: true, Apply: null },
    AppConnector: { Advertise: false },
    PostureChecking: false,
    NetfilterKind: "",
    DriveShares: null,
    AllowSingleHosts: true,
  };
}

/** A deep copy of `p`. @param p prefs @returns the copy */
export function clonePrefs(p: Prefs): Prefs {
  return structuredClone(p);
}

/**
 * Reads prefs JSON (from the state file, `start`'s `UpdatePrefs`, `check-prefs`): fields
 * missing take their defaults, unknown fields (such as `Config`) are ignored, a field of the
 * wrong type is an error.
 * @param value parsed JSON
 * @returns the prefs
 * @throws {TypeError} naming the field when a value has the wrong type
 */
export function prefsFromJson(value: unknown): Prefs {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError("Cannot read prefs: not a JSON object");
  }
  const src = value as Record<string, unknown>;
  const out = defaultPrefs() as unknown as Record<string, unknown>;
  for (const field of PREF_FIELDS) {
    if (!(field in src)) continue;
    out[field] = checkField(field, src[field]);
  }
  out.AllowSingleHosts = true;
  omitEmpty(out);
  return out as unknown as Prefs;
}

/** The fields Go writes with `omitempty`, and the zero value that leaves each out. */
const OMIT_WHEN: Partial<Record<keyof Prefs, unknown>> = {
  AutoExitNode: "",
  ForceDaemon: false,
  Egg: false,
  OperatorUser: "",
  ProfileName: "",
  RelayServerPort: null,
  RelayServerStaticEndpoints: null,
};

/** Drops the `omitempty` fields at their zero value, so the JSON has Go's shape. */
function omitEmpty(out: Record<string, unknown>): void {
  for (const [field, zero] of Object.entries(OMIT_WHEN)) {
    if (out[field] === zero) delete out[field];
  }
}

function checkField(field: keyof Prefs, v: unknown): unknown {
  const kind = FIELD_KIND[field];
  const bad = (want: string) =>
    new TypeError(`Cannot read prefs: ${field} must be ${want}, got ${JSON.stringify(v)}`);
  switch (kind) {
    case "string":
      if (v === null || v === undefined) return "";
      if (typeof v !== "string") throw bad("a string");
      return v;
    case "bool":
      if (v === null || v === undefined) return false;
      if (typeof v !== "boolean") throw bad("a boolean");
      return v;
    case "optbool":
      if (v === null || v === undefined || v === "") return null;
      if (typeof v !== "boolean") throw bad("true, false or null");
      return v;
    case "strings":
      if (v === null || v === undefined) return null;
      if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
        throw bad("a list of strings");
      }
      return v.length === 0 ? null : [...v];
    case "netfilter":
      if (v !== 0 && v !== 1 && v !== 2) throw bad("0, 1 or 2");
      return v;
    case "port":
      if (v === null || v === undefined) return null;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 65535) {
        throw bad("a port number or null");
      }
      return v;
    case "list":
      if (v === null || v === undefined) return null;
      if (!Array.isArray(v)) throw bad("a list");
      return structuredClone(v);
    case "object":
      return checkObjectField(field, v, bad);
  }
}

function checkObjectField(field: keyof Prefs, v: unknown, bad: (w: string) => TypeError): unknown {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad("an object");
  const o = v as Record<string, unknown>;
  if (field === "AutoUpdate") {
    const check = o.Check ?? true;
    const apply = o.Apply ?? null;
    if (typeof check !== "boolean" || (apply !== null && typeof apply !== "boolean")) {
      throw bad("{Check: bool, Apply: bool|null}");
    }
    return { Check: check, Apply: apply };
  }
  const adv = o.Advertise ?? false;
  if (typeof adv !== "boolean") throw bad("{Advertise: bool}");
  return { Advertise: adv };
}

/**
 * Applies an `ipn.MaskedPrefs` edit: each `<Field>Set: true` copies `<Field>`.
 * @param cur the current prefs (not modified)
 * @param masked the edit, as JSON
 * @returns the new prefs
 * @throws {TypeError} on a non-object or a wrong type (unknown fields are ignored, as in Go)
 *
 * @example Bring a node down
 * ```ts
 * import { applyMaskedPrefs, defaultPrefs } from "./prefs.ts";
 * const p = applyMaskedPrefs({ ...defaultPrefs(), WantRunning: true },
 *   { WantRunning: false, WantRunningSet: true, Hostname: "ignored" });
 * if (p.WantRunning !== false || p.Hostname !== "") throw new Error();
 * ```
 */
export function applyMaskedPrefs(cur: Prefs, masked: unknown): Prefs {
  if (typeof masked !== "object" || masked === null || Array.isArray(masked)) {
    throw new TypeError("Cannot apply prefs edit: not a JSON object");
  }
  const m = masked as Record<string, unknown>;
  const out = clonePrefs(cur) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(m)) {
    if (!k.endsWith("Set") || k === "Set") continue;
    const field = k.slice(0, -3) as keyof Prefs;
    // Go's JSON decoder ignores fields it does not know, so a newer client's ...Set flag is
    // ignored here too rather than failing the whole edit.
    if (!(field in FIELD_KIND)) continue;
    if (field === "AutoUpdate" && typeof v === "object" && v !== null) {
      const set = v as Record<string, unknown>;
      const au = (m.AutoUpdate ?? {}) as Record<string, unknown>;
      const next = { ...(out.AutoUpdate as AutoUpdatePrefs) };
      if (set.CheckSet === true) next.Check = au.Check === true;
      if (set.ApplySet === true) next.Apply = typeof au.Apply === "boolean" ? au.Apply : null;
      out.AutoUpdate = next;
      continue;
    }
    if (v !== true) continue;
    out[field] = checkField(field, m[field]);
  }
  out.AllowSingleHosts = true;
  omitEmpty(out);
  return out as unknown as Prefs;
}

/**
 * Checks prefs for values tailnet cannot accept. Returns one line per problem (empty when
 * fine): bad hostname, bad tag, bad route, bad control URL, features tailnet lacks.
 * @param p prefs
 * @returns problems, empty when none
 */
export function validatePrefs(p: Prefs): string[] {
  const errs: string[] = [];
  if (p.ControlURL !== "") {
    let u: URL | null = null;
    try {
      u = new URL(p.ControlURL);
    } catch { /* reported below */ }
    if (u === null || (u.protocol !== "http:" && u.protocol !== "https:")) {
      errs.push(`invalid control URL ${JSON.stringify(p.ControlURL)}: want http:// or https://`);
    }
  }
  if (p.Hostname !== "") {
    const e = hostnameError(p.Hostname);
    if (e) errs.push(e);
  }
  for (const t of p.AdvertiseTags ?? []) {
    const e = tagError(t);
    if (e) errs.push(`tag: ${JSON.stringify(t)}: ${e}`);
  }
  for (const r of p.AdvertiseRoutes ?? []) {
    if (!isPrefix(r)) errs.push(`invalid route ${JSON.stringify(r)}: want a CIDR prefix`);
  }
  if (p.RunSSH) errs.push("--ssh is not built yet in this version of tailnet");
  if (p.RunWebClient) errs.push("--webclient is not built yet in this version of tailnet");
  if (p.AppConnector.Advertise) {
    errs.push("--advertise-connector is not built yet in this version of tailnet");
  }
  if ((p.AutoExitNode ?? "") !== "") {
    errs.push("--exit-node=auto:any is not built yet in this version of tailnet");
  }
  if (
    (p.RelayServerPort ?? null) !== null || (p.RelayServerStaticEndpoints ?? []).length > 0
  ) {
    errs.push("--relay-server-port is not built yet in this version of tailnet");
  }
  return errs;
}

/**
 * Go's `dnsname.ValidHostname` as one message, or null when valid.
 * @param h hostname
 * @returns the problem, or null
 */
export function hostnameError(h: string): string | null {
  const name = h.endsWith(".") ? h.slice(0, -1) : h;
  if (name.length > 253) return `${JSON.stringify(h)} is too long to be a DNS name`;
  for (const label of name.split(".")) {
    if (label.length === 0) return "empty DNS label";
    if (label.length > 63) {
      return `${JSON.stringify(label)} is too long, max length is 63 bytes`;
    }
    if (!isAlnum(label[0])) {
      return `${
        JSON.stringify(label)
      } is not a valid DNS label: must start with a letter or number`;
    }
    if (!isAlnum(label[label.length - 1])) {
      return `${JSON.stringify(label)} is not a valid DNS label: must end with a letter or number`;
    }
    for (const c of label) {
      if (!isAlnum(c) && c !== "-") {
        return `${JSON.stringify(label)} is not a valid DNS label: contains invalid character ${
          JSON.stringify(c)
        }`;
      }
    }
  }
  return null;
}

/**
 * Go's `tailcfg.CheckTag`, or null when valid.
 * @param tag e.g. `tag:server`
 * @returns the problem, or null
 */
export function tagError(tag: string): string | null {
  if (!tag.startsWith("tag:")) return "tags must start with 'tag:'";
  const name = tag.slice(4);
  if (name === "") return "tag names must not be empty";
  if (!/^[A-Za-z]/.test(name)) return "tag names must start with a letter, after 'tag:'";
  if (!/^[A-Za-z0-9-]+$/.test(name)) {
    return "tag names can only contain numbers, letters, or dashes";
  }
  return null;
}

function isAlnum(c: string): boolean {
  return /^[A-Za-z0-9]$/.test(c);
}

function isPrefix(s: string): boolean {
  const m = s.match(/^([^/]+)\/(\d{1,3})$/);
  if (!m) return false;
  const bits = Number(m[2]);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(m[1])) {
    return bits <= 32 && m[1].split(".").every((o) => Number(o) <= 255 && String(Number(o)) === o);
  }
  if (!m[1].includes(":")) return false;
  try {
    new URL(`http://[${m[1]}]/`);
  } catch {
    return false;
  }
  return bits <= 128;
}

/** The control URL in effect: `ControlURL`, or the default when empty. @param p prefs */
export function controlUrlOrDefault(p: Prefs): string {
  return p.ControlURL === "" ? DEFAULT_CONTROL_URL : p.ControlURL;
}

/**
 * Go's `ipn.IsLoginServerSynonym`: whether `url` means Tailscale's own control server.
 * @param url a control URL
 * @returns true for "" and the default URLs
 */
export function isLoginServerSynonym(url: unknown): boolean {
  return url === "" || url === DEFAULT_CONTROL_URL ||
    url === "https://login.tailscale.com";
}
