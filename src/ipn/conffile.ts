/**
 * tailscaled's declarative config file (`tailscaled --config`, Go's `ipn/conffile` and
 * `ipn.ConfigVAlpha`): HuJSON or JSON with `"version": "alpha0"`, decoded as strictly as Go's
 * decoder with unknown fields disallowed, and turned into the `ipn.MaskedPrefs` edit that is
 * merged over the persisted prefs.
 * @module
 */
import { TailnetError } from "../engine/base/errors.ts";
import { formatIp, parsePrefix } from "../engine/wg/allowed_ips.ts";
import type { MaskedPrefs } from "./prefs.ts";

/** Go's `opt.Bool` as a config holds it: absent (""), true, false, or `null` ("unset"). */
export type OptBool = "" | "true" | "false" | "unset";

/** A decoded `alpha0` config: the fields tailnet reads; absent ones are undefined / "". */
export interface ConfigAlpha0 {
  /** Whether `tailnet set` / `up` may change prefs; Go defaults to locked. */
  locked: OptBool;
  /** Control server URL. */
  serverUrl?: string;
  /** A pre-auth key, or `file:PATH` naming a file that holds one. */
  authKey?: string;
  /** WantRunning; absent means true. */
  enabled: OptBool;
  /** Operator user (kept in prefs; tailnet has no peer credentials to check). */
  operatorUser?: string;
  /** Hostname to use. */
  hostname?: string;
  /** `--accept-dns`. */
  acceptDns: OptBool;
  /** `--accept-routes`. */
  acceptRoutes: OptBool;
  /** Exit node: an IP or a stable node ID. */
  exitNode?: string;
  /** `--exit-node-allow-lan-access`. */
  allowLanWhileUsingExitNode: OptBool;
  /** Routes to advertise, as given (checked to have no host bits). */
  advertiseRoutes?: string[];
  /** `--snat-subnet-routes=false`. */
  disableSnat: OptBool;
  /** Services to advertise. */
  advertiseServices?: string[];
  /** `{ "Advertise": bool }`. */
  appConnector?: { Advertise: boolean };
  /** "on", "off" or "nodivert". */
  netfilterMode?: string;
  /** `--stateful-filtering=false`. */
  noStatefulFiltering: OptBool;
  /** `--report-posture`. */
  postureChecking: OptBool;
  /** `--ssh`. */
  runSshServer: OptBool;
  /** `--webclient`. */
  runWebClient: OptBool;
  /** `--shields-up`. */
  shieldsUp: OptBool;
  /** `{ "Check": bool, "Apply": bool|null }`. */
  autoUpdate?: { Check: boolean; Apply: boolean | null };
  /**
   * tailnet only (tailscaled has no such field): `LocalDNSRecords`, names MagicDNS answers on
   * this node alone, in tailcfg.DNSRecord's shape (`{"Name", "Type": ""|"A"|"AAAA", "Value"}`).
   */
  localDnsRecords?: LocalDnsRecord[];
}

/** One `LocalDNSRecords` entry. */
export interface LocalDnsRecord {
  /** The name, without a trailing dot. */
  name: string;
  /** `A`, `AAAA` or "" (from the value). */
  type: string;
  /** The address. */
  value: string;
}

/** A config file that cannot be read or decoded; the message is one line, naming the file. */
export class ConfigFileError extends TailnetError {
  /**
   * @param message one line
   * @param options cause
   */
  constructor(message: string, options?: ErrorOptions) {
    super("config-file", message, options);
    this.name = "ConfigFileError";
  }
}

type FieldKind =
  | "string"
  | "optbool"
  | "prefixes"
  | "strings"
  | "appconnector"
  | "autoupdate"
  | "dnsrecords"
  | "notbuilt";

/** ConfigVAlpha's JSON names (Go matches them case-insensitively) and how each decodes. */
const FIELDS: ReadonlyArray<readonly [jsonName: string, kind: FieldKind]> = [
  ["Version", "string"],
  ["Locked", "optbool"],
  ["ServerURL", "string"],
  ["AuthKey", "string"],
  ["Enabled", "optbool"],
  ["OperatorUser", "string"],
  ["Hostname", "string"],
  ["acceptDNS", "optbool"],
  ["acceptRoutes", "optbool"],
  ["exitNode", "string"],
  ["allowLANWhileUsingExitNode", "optbool"],
  ["AdvertiseRoutes", "prefixes"],
  ["DisableSNAT", "optbool"],
  ["AdvertiseServices", "strings"],
  ["AppConnector", "appconnector"],
  ["NetfilterMode", "string"],
  ["NoStatefulFiltering", "optbool"],
  ["PostureChecking", "optbool"],
  ["RunSSHServer", "optbool"],
  ["RunWebClient", "optbool"],
  ["ShieldsUp", "optbool"],
  ["AutoUpdate", "autoupdate"],
  ["LocalDNSRecords", "dnsrecords"],
  ["ServeConfigTemp", "notbuilt"],
  ["StaticEndpoints", "notbuilt"],
];

/**
 * Reads and decodes a config file as tailscaled's `conffile.Load` does.
 * @param path the file
 * @returns the decoded config
 * @throws ConfigFileError naming the file and the first problem
 */
export async function loadConfigFile(path: string): Promise<ConfigAlpha0> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigFileError(`error reading config file ${path}: ${why}`, { cause: err });
  }
  try {
    return parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigFileError) {
      throw new ConfigFileError(`error parsing config file ${path}: ${err.message}`);
    }
    throw err;
  }
}

/**
 * Decodes config text (HuJSON: JSON plus comments and trailing commas).
 * @param text the file's contents
 * @returns the decoded config
 * @throws ConfigFileError for bad JSON, a missing or unsupported version, an unknown field or
 *   a value of the wrong type, each named
 * @example
 * ```ts
 * import { parseConfig } from "./conffile.ts";
 * const c = parseConfig('{"version": "alpha0", "Hostname": "a", /* ok *\/}');
 * ```
 */
export function parseConfig(text: string): ConfigAlpha0 {
  let doc: unknown;
  try {
    doc = JSON.parse(standardizeHuJson(text));
  } catch (err) {
    throw new ConfigFileError(err instanceof Error ? err.message : String(err));
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new ConfigFileError("want a JSON object");
  }
  const byLower = new Map(FIELDS.map(([name, kind]) => [name.toLowerCase(), { name, kind }]));
  const values = new Map<string, unknown>();
  for (const [key, value] of Object.entries(doc)) {
    const f = byLower.get(key.toLowerCase());
    if (f === undefined) throw new ConfigFileError(`json: unknown field ${JSON.stringify(key)}`);
    values.set(f.name, checkKind(f.name, f.kind, value));
  }
  const version = values.get("Version");
  if (version === undefined || version === "") {
    throw new ConfigFileError(`no "version" field defined`);
  }
  if (version !== "alpha0") {
    throw new ConfigFileError(
      `unsupported "version" value ${JSON.stringify(version)}; want "alpha0" for now`,
    );
  }
  const str = (k: string) => values.get(k) as string | undefined;
  const opt = (k: string) => (values.get(k) ?? "") as OptBool;
  const routes = values.get("AdvertiseRoutes") as string[] | undefined;
  return {
    locked: opt("Locked"),
    serverUrl: str("ServerURL"),
    authKey: str("AuthKey"),
    enabled: opt("Enabled"),
    operatorUser: str("OperatorUser"),
    hostname: str("Hostname"),
    acceptDns: opt("acceptDNS"),
    acceptRoutes: opt("acceptRoutes"),
    exitNode: str("exitNode"),
    allowLanWhileUsingExitNode: opt("allowLANWhileUsingExitNode"),
    advertiseRoutes: routes,
    disableSnat: opt("DisableSNAT"),
    advertiseServices: values.get("AdvertiseServices") as string[] | undefined,
    appConnector: values.get("AppConnector") as ConfigAlpha0["appConnector"],
    netfilterMode: str("NetfilterMode"),
    noStatefulFiltering: opt("NoStatefulFiltering"),
    postureChecking: opt("PostureChecking"),
    runSshServer: opt("RunSSHServer"),
    runWebClient: opt("RunWebClient"),
    shieldsUp: opt("ShieldsUp"),
    autoUpdate: values.get("AutoUpdate") as ConfigAlpha0["autoUpdate"],
    localDnsRecords: values.get("LocalDNSRecords") as LocalDnsRecord[] | undefined,
  };
}

/**
 * Whether the config wants the node running (Go's `Config.WantRunning`): unless
 * `Enabled` is false.
 * @param c the config
 * @returns true unless disabled
 */
export function configWantsRunning(c: ConfigAlpha0): boolean {
  return c.enabled !== "false";
}

/**
 * Whether `tailnet set` and `up` are refused while this config is in force (Go's
 * `isConfigLocked`): unless `Locked` is false.
 * @param c the config
 * @returns true unless unlocked
 */
export function configLocked(c: ConfigAlpha0): boolean {
  return c.locked !== "false";
}

/**
 * Go's `ConfigVAlpha.ToPrefs`: the prefs edit a config makes, merged over the persisted prefs.
 * @param c the config
 * @returns the `ipn.MaskedPrefs` edit
 * @throws ConfigFileError for a route with host bits or a bad netfilter mode
 */
export function configToMaskedPrefs(c: ConfigAlpha0): MaskedPrefs {
  const mp: MaskedPrefs = {};
  const wantRunning = c.enabled !== "false";
  if (wantRunning || c.enabled !== "") {
    Object.assign(mp, { WantRunning: wantRunning, WantRunningSet: true });
  }
  if (c.serverUrl !== undefined) {
    Object.assign(mp, { ControlURL: c.serverUrl, ControlURLSet: true });
  }
  if (c.authKey !== undefined && c.authKey !== "") {
    Object.assign(mp, { LoggedOut: false, LoggedOutSet: true });
  }
  if (c.operatorUser !== undefined) {
    Object.assign(mp, { OperatorUser: c.operatorUser, OperatorUserSet: true });
  }
  if (c.hostname !== undefined) Object.assign(mp, { Hostname: c.hostname, HostnameSet: true });
  if (c.acceptDns !== "") Object.assign(mp, { CorpDNS: c.acceptDns === "true", CorpDNSSet: true });
  if (c.acceptRoutes !== "") {
    Object.assign(mp, { RouteAll: c.acceptRoutes === "true", RouteAllSet: true });
  }
  if (c.exitNode !== undefined) {
    if (isIp(c.exitNode)) Object.assign(mp, { ExitNodeIP: c.exitNode, ExitNodeIPSet: true });
    else Object.assign(mp, { ExitNodeID: c.exitNode, ExitNodeIDSet: true });
  }
  if (c.allowLanWhileUsingExitNode !== "") {
    Object.assign(mp, {
      ExitNodeAllowLANAccess: c.allowLanWhileUsingExitNode === "true",
      ExitNodeAllowLANAccessSet: true,
    });
  }
  if (c.advertiseRoutes !== undefined) {
    for (const r of c.advertiseRoutes) {
      // parsePrefix clears host bits; Go refuses a route that had any.
      const p = parsePrefix(r);
      if (formatIp(parsePrefix(r.split("/")[0]).addr) !== formatIp(p.addr)) {
        throw new ConfigFileError(
          `route ${r} has non-address bits set; expected ${formatIp(p.addr)}/${p.bits}`,
        );
      }
    }
    Object.assign(mp, { AdvertiseRoutes: c.advertiseRoutes, AdvertiseRoutesSet: true });
  }
  if (c.disableSnat !== "") {
    Object.assign(mp, { NoSNAT: c.disableSnat === "true", NoSNATSet: true });
  }
  if (c.noStatefulFiltering !== "") {
    Object.assign(mp, {
      NoStatefulFiltering: c.noStatefulFiltering === "unset"
        ? null
        : c.noStatefulFiltering === "true",
      NoStatefulFilteringSet: true,
    });
  }
  if (c.netfilterMode !== undefined) {
    const modes: Record<string, number> = { off: 0, nodivert: 1, on: 2 };
    const m = modes[c.netfilterMode];
    if (m === undefined) {
      throw new ConfigFileError(
        `invalid value ${
          JSON.stringify(c.netfilterMode)
        } for NetfilterMode: want on, off or nodivert`,
      );
    }
    Object.assign(mp, { NetfilterMode: m, NetfilterModeSet: true });
  }
  if (c.postureChecking !== "") {
    Object.assign(mp, { PostureChecking: c.postureChecking === "true", PostureCheckingSet: true });
  }
  if (c.runSshServer !== "") {
    Object.assign(mp, { RunSSH: c.runSshServer === "true", RunSSHSet: true });
  }
  if (c.runWebClient !== "") {
    Object.assign(mp, { RunWebClient: c.runWebClient === "true", RunWebClientSet: true });
  }
  if (c.shieldsUp !== "") {
    Object.assign(mp, { ShieldsUp: c.shieldsUp === "true", ShieldsUpSet: true });
  }
  if (c.autoUpdate !== undefined) {
    Object.assign(mp, {
      AutoUpdate: c.autoUpdate,
      AutoUpdateSet: { ApplySet: true, CheckSet: true },
    });
  }
  if (c.appConnector !== undefined) {
    Object.assign(mp, { AppConnector: c.appConnector, AppConnectorSet: true });
  }
  // The config is the source of truth for advertised services, an absent list clearing them.
  Object.assign(mp, { AdvertiseServices: c.advertiseServices ?? null, AdvertiseServicesSet: true });
  return mp;
}

/**
 * The pre-auth key a config names: the literal, or the trimmed contents of `file:PATH`.
 * @param c the config
 * @returns the key, or "" when the config has none
 * @throws ConfigFileError when the key file cannot be read
 */
export async function configAuthKey(c: ConfigAlpha0): Promise<string> {
  const v = c.authKey ?? "";
  if (!v.startsWith("file:")) return v;
  const path = v.slice("file:".length);
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigFileError(`error reading config file authKey: ${why}`, { cause: err });
  }
}

function checkKind(name: string, kind: FieldKind, v: unknown): unknown {
  const bad = (want: string) =>
    new ConfigFileError(`invalid value ${JSON.stringify(v)} for ${name}: want ${want}`);
  switch (kind) {
    case "string":
      if (v === null) return undefined;
      if (typeof v !== "string") throw bad("a string");
      return v;
    case "optbool":
      if (v === null) return "unset";
      if (typeof v !== "boolean") throw bad("true, false or null");
      return v ? "true" : "false";
    case "strings":
    case "prefixes": {
      if (v === null) return undefined;
      if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
        throw bad("a list of strings");
      }
      if (kind === "prefixes") {
        for (const s of v as string[]) {
          if (!s.includes("/") || !isPrefixText(s)) {
            throw new ConfigFileError(
              `invalid value ${JSON.stringify(s)} in ${name}: want a CIDR prefix like 10.0.0.0/24`,
            );
          }
        }
      }
      return v;
    }
    case "appconnector": {
      if (v === null) return undefined;
      const o = objectWith(v, { Advertise: "boolean" }, bad);
      return { Advertise: o.Advertise ?? false };
    }
    case "autoupdate": {
      if (v === null) return undefined;
      const o = objectWith(v, { Check: "boolean", Apply: "optbool" }, bad);
      return { Check: o.Check ?? false, Apply: o.Apply ?? null };
    }
    case "dnsrecords":
      if (v === null) return undefined;
      if (!Array.isArray(v)) throw bad("a list of {Name, Type, Value}");
      return v.map((r) => dnsRecord(name, r));
    case "notbuilt":
      if (v === null) return undefined;
      throw new ConfigFileError(`${name} is not built yet in this version of tailnet`);
  }
}

/** One `LocalDNSRecords` entry, checked: a DNS name, a known type, an address of that type. */
function dnsRecord(field: string, r: unknown): LocalDnsRecord {
  const bad = (why: string) =>
    new ConfigFileError(`invalid value ${JSON.stringify(r)} in ${field}: ${why}`);
  if (typeof r !== "object" || r === null || Array.isArray(r)) {
    throw bad("want {Name, Type, Value}");
  }
  const byLower = new Map(["Name", "Type", "Value"].map((k) => [k.toLowerCase(), k]));
  const o: Record<string, string> = {};
  for (const [key, value] of Object.entries(r)) {
    const k = byLower.get(key.toLowerCase());
    if (k === undefined) throw new ConfigFileError(`json: unknown field ${JSON.stringify(key)}`);
    if (typeof value !== "string") throw bad(`${k} must be a string`);
    o[k] = value;
  }
  const name = (o.Name ?? "").replace(/\.$/, "");
  const labels = name.split(".");
  if (
    name === "" || name.length > 253 ||
    labels.some((l) => !/^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l))
  ) {
    throw bad("Name must be a DNS name");
  }
  const type = (o.Type ?? "").toUpperCase();
  if (type !== "" && type !== "A" && type !== "AAAA") throw bad("Type must be A, AAAA or empty");
  const value = o.Value ?? "";
  if (!isPrefixText(`${value}/${value.includes(":") ? 128 : 32}`)) {
    throw bad("Value must be an IP address");
  }
  if ((type === "A" && value.includes(":")) || (type === "AAAA" && !value.includes(":"))) {
    throw bad(`Value is not an ${type} address`);
  }
  return { name, type, value };
}

function objectWith(
  v: unknown,
  shape: Record<string, "boolean" | "optbool">,
  bad: (want: string) => ConfigFileError,
): Record<string, boolean | null | undefined> {
  const want = `an object with ${Object.keys(shape).join(", ")}`;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(want);
  const out: Record<string, boolean | null | undefined> = {};
  const byLower = new Map(Object.keys(shape).map((k) => [k.toLowerCase(), k]));
  for (const [key, value] of Object.entries(v)) {
    const k = byLower.get(key.toLowerCase());
    if (k === undefined) throw new ConfigFileError(`json: unknown field ${JSON.stringify(key)}`);
    if (value === null && shape[k] === "optbool") out[k] = null;
    else if (typeof value === "boolean") out[k] = value;
    else throw bad(want);
  }
  return out;
}

function isPrefixText(s: string): boolean {
  try {
    parsePrefix(s);
    return true;
  } catch {
    return false;
  }
}

function isIp(s: string): boolean {
  return !s.includes("/") && isPrefixText(s);
}

/**
 * HuJSON to JSON: drops `//` and `/* *\/` comments and commas before `}` or `]`, leaving
 * strings alone. Lengths change, so JSON.parse's positions refer to the standardized text.
 */
function standardizeHuJson(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new ConfigFileError("unterminated /* comment");
      i = end + 2;
    } else {
      // A comma before a closing bracket (outside strings, which are copied above) goes.
      if ((c === "}" || c === "]") && out.trimEnd().endsWith(",")) {
        out = out.trimEnd().slice(0, -1);
      }
      out += c;
      i++;
    }
  }
  return out;
}
