/**
 * `tailnet set [flags]`: change only the preferences named on the command line, live, as
 * `tailscale set` does: one `ipn.MaskedPrefs` edit with a `…Set` flag per given flag, checked
 * first with the daemon's `check-prefs`. Unlike `up`, nothing else is reset and the node does
 * not reconnect.
 * @module
 */
import { LocalApiClient } from "../localapi/client.ts";
import {
  applyMaskedPrefs,
  type MaskedPrefs,
  type Prefs,
  prefsFromJson,
  validatePrefs,
} from "../ipn/prefs.ts";
import type { StatusJson } from "../ipn/status.ts";
import { UsageError } from "../engine/base/errors.ts";
import { type Command, type GoFlag, type GoFlags, parseGoFlags } from "./command.ts";

/** The flags of `set`, with Go's names, and the prefs fields each one sets. */
const SET_FLAGS: Record<string, GoFlag & { fields: (keyof Prefs)[] }> = {
  hostname: { type: "string", fields: ["Hostname"] },
  "accept-routes": { type: "bool", fields: ["RouteAll"] },
  "accept-dns": { type: "bool", fields: ["CorpDNS"] },
  "shields-up": { type: "bool", fields: ["ShieldsUp"] },
  "advertise-routes": { type: "string", fields: ["AdvertiseRoutes"] },
  "advertise-exit-node": { type: "bool", fields: ["AdvertiseRoutes"] },
  "exit-node": { type: "string", fields: ["ExitNodeIP", "ExitNodeID"] },
  "exit-node-allow-lan-access": { type: "bool", fields: ["ExitNodeAllowLANAccess"] },
  ssh: { type: "bool", fields: ["RunSSH"] },
  webclient: { type: "bool", fields: ["RunWebClient"] },
};

const EXIT_ROUTES = ["0.0.0.0/0", "::/0"];

/** The `set` command. */
export const setCommand: Command = {
  name: "set",
  summary: "Change specified preferences",
  usage: `tailnet set [flags]

Changes only the preferences given, without reconnecting (unlike 'tailnet up').

  --hostname NAME                 hostname to use instead of the one provided by the OS
  --accept-routes                 accept routes advertised by other nodes
  --accept-dns                    accept DNS configuration from the admin panel
  --shields-up                    don't allow incoming connections
  --advertise-routes LIST         routes to advertise (CIDRs, comma-separated; "" for none)
  --advertise-exit-node           offer to be an exit node
  --exit-node IP|NAME             exit node to use; "" for none
  --exit-node-allow-lan-access    allow direct access to the local network via an exit node
  --ssh                           run an SSH server (not built yet in tailnet)
  --webclient                     run the web client (not built yet in tailnet)`,
  async run(args, ctx) {
    const f = parseGoFlags(args, SET_FLAGS, true);
    if (f.positionals.length) {
      throw new Error(`too many non-flag arguments: ${JSON.stringify(f.positionals)}`);
    }
    if (f.given.length === 0) throw new UsageError("set: no flags given, nothing to change");
    const client = new LocalApiClient(ctx.socketPath);
    const st = await client.json<StatusJson>("GET", "status");
    const cur = prefsFromJson(await client.json<unknown>("GET", "prefs"));
    const masked = maskedFromSetFlags(f, cur, st);
    const next = applyMaskedPrefs(cur, masked);
    const local = validatePrefs(next).filter((e) => !e.includes("not built yet"));
    if (local.length) throw new Error(local[0]);
    const check = await client.json<{ Error?: string }>("POST", "check-prefs", next);
    if (check.Error) throw new Error(check.Error);
    await client.call("PATCH", "prefs", masked);
    return 0;
  },
};

/**
 * The `ipn.MaskedPrefs` edit for the flags given (Go's `updateMaskedPrefsFromUpOrSetFlag` and
 * `calcAdvertiseRoutesForSet`).
 * @param f parsed flags
 * @param cur the daemon's current prefs
 * @param st the daemon's status, to resolve an exit node by name
 * @returns the edit
 */
export function maskedFromSetFlags(f: GoFlags, cur: Prefs, st: StatusJson): MaskedPrefs {
  const m: Record<string, unknown> = {};
  const str = (n: string) => (f.values.get(n) as string | undefined) ?? "";
  const bool = (n: string) => f.values.get(n) === true;
  for (const name of f.given) {
    for (const field of SET_FLAGS[name].fields) m[`${field}Set`] = true;
  }
  if (f.given.includes("hostname")) m.Hostname = str("hostname");
  if (f.given.includes("accept-routes")) m.RouteAll = bool("accept-routes");
  if (f.given.includes("accept-dns")) m.CorpDNS = bool("accept-dns");
  if (f.given.includes("shields-up")) m.ShieldsUp = bool("shields-up");
  if (f.given.includes("exit-node-allow-lan-access")) {
    m.ExitNodeAllowLANAccess = bool("exit-node-allow-lan-access");
  }
  if (f.given.includes("ssh")) m.RunSSH = bool("ssh");
  if (f.given.includes("webclient")) m.RunWebClient = bool("webclient");
  if (f.given.includes("exit-node")) {
    m.ExitNodeIP = exitNodeIp(str("exit-node"), st);
    m.ExitNodeID = "";
  }
  if (f.given.includes("advertise-routes") || f.given.includes("advertise-exit-node")) {
    const base = f.given.includes("advertise-routes")
      ? str("advertise-routes").split(",").map((r) => r.trim()).filter((r) => r !== "")
      : (cur.AdvertiseRoutes ?? []);
    const wantExit = f.given.includes("advertise-exit-node")
      ? bool("advertise-exit-node")
      : (cur.AdvertiseRoutes ?? []).some((r) => EXIT_ROUTES.includes(r));
    const routes = base.filter((r) => !EXIT_ROUTES.includes(r));
    if (wantExit) routes.push(...EXIT_ROUTES);
    m.AdvertiseRoutes = routes.length ? routes : null;
  }
  return m as MaskedPrefs;
}

/**
 * The exit node's IP for `--exit-node IP|NAME` (Go's `exitNodeIPOfArg`): an IP must not be
 * ours and, once Running, must be a peer offering an exit node; a name is a peer's short name,
 * FQDN or FQDN without the dot, matched case-insensitively, and must be unique.
 * @param arg the flag value ("" for none)
 * @param st the daemon's status
 * @returns the IP, "" for none
 * @throws {Error} the message tailscale prints
 */
export function exitNodeIp(arg: string, st: StatusJson): string {
  if (arg === "") return "";
  const self = st.Self?.TailscaleIPs ?? [];
  const localErr = () =>
    new Error(
      `cannot use ${arg} as an exit node as it is a local IP address; did you mean --advertise-exit-node?`,
    );
  const peers = Object.values(st.Peer ?? {});
  if (/^[\d.]+$/.test(arg) || arg.includes(":")) {
    if (self.includes(arg)) throw localErr();
    if (st.BackendState === "Running") {
      const ps = peers.find((p) => (p.TailscaleIPs ?? []).includes(arg));
      if (ps === undefined) throw new Error(`no node found in netmap with IP ${arg}`);
      if (!ps.ExitNodeOption) throw new Error(`node ${arg} is not advertising an exit node`);
    }
    return arg;
  }
  const suffix = st.MagicDNSSuffix.replace(/\.$/, "");
  const want = arg.toLowerCase();
  let ip = "";
  let match = 0;
  for (const ps of peers) {
    const fqdn = ps.DNSName.toLowerCase();
    const sansDot = fqdn.replace(/\.$/, "");
    const base = suffix !== "" && sansDot.endsWith("." + suffix.toLowerCase())
      ? sansDot.slice(0, -(suffix.length + 1))
      : sansDot;
    if (want !== base && want !== fqdn && want !== sansDot) continue;
    match++;
    const first = ps.TailscaleIPs?.[0];
    if (first === undefined) throw new Error(`node ${JSON.stringify(arg)} has no Tailscale IP?`);
    if (!ps.ExitNodeOption) {
      throw new Error(`node ${JSON.stringify(arg)} is not advertising an exit node`);
    }
    ip = first;
  }
  if (match === 0) {
    throw new Error(`invalid value ${JSON.stringify(arg)} for --exit-node; must be IP or hostname`);
  }
  if (match > 1) throw new Error(`ambiguous exit node name ${JSON.stringify(arg)}`);
  if (self.includes(ip)) throw localErr();
  return ip;
}
