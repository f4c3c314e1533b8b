/**
 * `tailnet status`: the node's state and its peers, as `tailscale status` prints them (a
 * table: IP, name, owner, OS, status), or `--json` for the `ipnstate.Status` JSON. Exits 1
 * with a one-line description when the node is not Running or Starting.
 * @module
 */
import { LocalApiClient } from "../localapi/client.ts";
import { type PeerStatusJson, type StatusJson, ZERO_TIME } from "../ipn/status.ts";
import { type Command, parseGoFlags } from "./command.ts";
import { UsageError } from "../engine/base/errors.ts";

/** The `status` command. */
export const statusCommand: Command = {
  name: "status",
  summary: "Show the state of the tailnet daemon and its connections",
  usage: `tailnet status [--json] [--active] [--header] [--self=false] [--peers=false]
       tailnet status --web [--listen 127.0.0.1:8384] [--no-browser]

Shows this node and its peers: IP, name, owner, OS and connection status.

  --json      print ipnstate.Status JSON (tailscaled's field names)
  --active    only peers with active sessions
  --header    print column headers
  --self      show this node (default true)
  --peers     show peers (default true)
  --web       serve a live status page on localhost until interrupted: this node and its
              peers with their paths, updated every second without a reload
  --listen    where --web listens (default 127.0.0.1:8384)
  --browser   accepted as tailscale has it; tailnet cannot start a browser (it has no
              permission to run programs), so it prints the URL to open either way
  --no-browser  the same as --browser=false`,
  async run(args, ctx) {
    const f = parseGoFlags(args, {
      json: { type: "bool" },
      active: { type: "bool" },
      header: { type: "bool" },
      self: { type: "bool" },
      peers: { type: "bool" },
      web: { type: "bool" },
      listen: { type: "string" },
      browser: { type: "bool" },
      "no-browser": { type: "bool" },
    }, true);
    if (f.positionals.length) throw new Error("unexpected non-flag arguments to 'tailnet status'");
    if (f.values.get("web") === true) {
      const listen = f.values.get("listen");
      // The page's module (an HTTP server and the HTML) loads only for --web.
      const web = await import("./_status_web.ts");
      return await web.runStatusWeb(
        ctx,
        web.parseListen(typeof listen === "string" ? listen : "127.0.0.1:8384"),
      );
    }
    if (f.given.includes("listen")) throw new UsageError("--listen is only for --web");
    const peersWanted = f.values.get("peers") !== false;
    const client = new LocalApiClient(ctx.socketPath);
    const st = await client.json<StatusJson>("GET", peersWanted ? "status" : "status?peers=false");
    if (f.values.get("json") === true) {
      if (f.values.get("active") === true && st.Peer) {
        for (const [k, p] of Object.entries(st.Peer)) if (!p.Active) delete st.Peer[k];
      }
      ctx.out(JSON.stringify(st, null, "  "));
      return 0;
    }
    const desc = describeState(st);
    if (desc !== null) {
      if (st.Health?.length && (st.BackendState === "Starting" || st.BackendState === "NoState")) {
        for (const line of healthLines(st.Health)) ctx.out(line);
        ctx.out("");
      }
      for (const line of desc.split("\n")) ctx.out(line);
      return 1;
    }
    for (
      const line of statusTable(st, {
        header: f.values.get("header") === true,
        self: f.values.get("self") !== false,
        peers: peersWanted,
        active: f.values.get("active") === true,
        now: Date.now(),
      })
    ) ctx.out(line);
    if (st.Health?.length) {
      ctx.out("");
      for (const line of healthLines(st.Health)) ctx.out(line);
    }
    return 0;
  },
};

function healthLines(health: string[]): string[] {
  return ["# Health check:", ...health.map((m) => `#     - ${m}`)];
}

/**
 * What `tailscale status` prints instead of the table when not Running or Starting.
 * @param st the status
 * @returns the text, or null for Running and Starting
 */
export function describeState(st: StatusJson): string | null {
  switch (st.BackendState) {
    case "Running":
    case "Starting":
      return null;
    case "Stopped":
      return "Tailscale is stopped.";
    case "NeedsLogin":
      return st.AuthURL ? `Logged out.\nLog in at: ${st.AuthURL}` : "Logged out.";
    case "NeedsMachineAuth":
      return "Machine is not yet approved by tailnet admin.";
    default:
      return `unexpected state: ${st.BackendState}`;
  }
}

/** Options of {@linkcode statusTable}. */
export interface TableOptions {
  /** Print column headers. */
  header: boolean;
  /** Include this node. */
  self: boolean;
  /** Include peers. */
  peers: boolean;
  /** Only active peers. */
  active: boolean;
  /** Now, in ms, for "last seen". */
  now: number;
}

/**
 * The peers table, laid out as Go's tabwriter does (each column padded to its widest cell
 * plus two spaces).
 * @param st the status
 * @param o options
 * @returns lines
 */
export function statusTable(st: StatusJson, o: TableOptions): string[] {
  const rows: string[][] = [];
  if (o.header) {
    rows.push(["IP", "Hostname", "Owner", "OS", "Status"], [
      "--",
      "--------",
      "-----",
      "--",
      "------",
    ]);
  }
  const row = (ps: PeerStatusJson) => [
    ps.TailscaleIPs?.[0] ?? "",
    dnsOrQuoteHostname(st, ps),
    ownerLogin(st, ps),
    ps.OS,
    peerStatusText(ps, o.now),
  ];
  if (o.self && st.Self) rows.push(row(st.Self));
  if (o.peers && st.Peer) {
    const peers = Object.values(st.Peer).filter((p) => !o.active || p.Active);
    // ipnstate.SortPeers: by DNS name, host name, first IP, then key, comparing bytes.
    peers.sort((a, b) =>
      cmp(a.DNSName, b.DNSName) || cmp(a.HostName, b.HostName) ||
      cmp(a.TailscaleIPs?.[0] ?? "", b.TailscaleIPs?.[0] ?? "") || cmp(a.PublicKey, b.PublicKey)
    );
    for (const p of peers) rows.push(row(p));
  }
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(0, ...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] + 2)).join(""));
}

function peerStatusText(ps: PeerStatusJson, now: number): string {
  const anyTraffic = ps.TxBytes !== 0 || ps.RxBytes !== 0;
  const offline = ps.Online ? "" : "; offline" + lastSeenFmt(ps.LastSeen, now);
  let s: string;
  if (!ps.Active) {
    if (ps.ExitNode) s = `idle; exit node${offline}`;
    else if (ps.ExitNodeOption) s = `idle; offers exit node${offline}`;
    else if (anyTraffic) s = `idle${offline}`;
    else if (!ps.Online) s = `offline${lastSeenFmt(ps.LastSeen, now)}`;
    else s = "-";
  } else {
    s = "active; ";
    if (ps.ExitNode) s += "exit node; ";
    else if (ps.ExitNodeOption) s += "offers exit node; ";
    if (ps.Relay && !ps.CurAddr && !ps.PeerRelay) s += `relay ${JSON.stringify(ps.Relay)}`;
    else if (ps.CurAddr) s += `direct ${ps.CurAddr}`;
    else if (ps.PeerRelay) s += `peer-relay ${ps.PeerRelay}`;
    if (!ps.Online) s += offline;
  }
  if (anyTraffic) s += `, tx ${ps.TxBytes} rx ${ps.RxBytes}`;
  return s;
}

/**
 * Go's `lastSeenFmt`: ", last seen 5m ago", or "" when never seen.
 * @param t RFC 3339 time @param now ms since the epoch @returns the suffix
 */
export function lastSeenFmt(t: string, now: number): string {
  if (!t || t === ZERO_TIME) return "";
  const d = Math.max(now - Date.parse(t), 60_000);
  if (d < 3_600_000) return `, last seen ${Math.floor(d / 60_000)}m ago`;
  if (d < 86_400_000) return `, last seen ${Math.floor(d / 3_600_000)}h ago`;
  return `, last seen ${Math.floor(d / 86_400_000)}d ago`;
}

/**
 * The name column: the DNS name without the MagicDNS suffix, or the quoted hostname.
 * @param st the status
 * @param ps the peer
 * @returns the name
 */
export function dnsOrQuoteHostname(st: StatusJson, ps: PeerStatusJson): string {
  let base = ps.DNSName.replace(/\.$/, "");
  const suffix = st.MagicDNSSuffix.replace(/\.$/, "");
  if (suffix && base.endsWith("." + suffix)) base = base.slice(0, -(suffix.length + 1));
  else if (suffix && base === suffix) base = "";
  if (base !== "") return base;
  return `(${JSON.stringify(ps.HostName)})`;
}

function ownerLogin(st: StatusJson, ps: PeerStatusJson): string {
  if (!ps.UserID) return "-";
  const u = st.User?.[String(ps.UserID)];
  if (!u) return String(ps.UserID);
  const at = u.LoginName.indexOf("@");
  return at >= 0 ? u.LoginName.slice(0, at + 1) : u.LoginName;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
