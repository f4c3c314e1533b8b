/**
 * `tailnet ip [-1|-4|-6] [peer]`: this node's (or a peer's) Tailscale addresses, one a line.
 * @module
 */
import { LocalApiClient } from "../localapi/client.ts";
import type { PeerStatusJson, StatusJson } from "../ipn/status.ts";
import { type Command, parseGoFlags } from "./command.ts";
import { dnsOrQuoteHostname } from "./status.ts";

/** The `ip` command. */
export const ipCommand: Command = {
  name: "ip",
  summary: "Show Tailscale IP addresses",
  usage: `tailnet ip [-1] [-4] [-6] [--assert IP] [peer hostname or ip address]

Shows this node's Tailscale IP addresses, or a peer's.

  -1           only print one IP address
  -4           only print the IPv4 address
  -6           only print the IPv6 address
  --assert IP  exit 1 unless one of this node's addresses is IP`,
  async run(args, ctx) {
    const f = parseGoFlags(args, {
      "1": { type: "bool" },
      "4": { type: "bool" },
      "6": { type: "bool" },
      assert: { type: "string" },
    }, true);
    if (f.positionals.length > 1) throw new Error("too many arguments, expected at most one peer");
    const want1 = f.values.get("1") === true;
    let v4 = f.values.get("4") === true;
    let v6 = f.values.get("6") === true;
    if ([want1, v4, v6].filter((b) => b).length > 1) {
      throw new Error("tailnet ip -1, -4, and -6 are mutually exclusive");
    }
    if (!v4 && !v6) v4 = v6 = true;
    const st = await new LocalApiClient(ctx.socketPath).json<StatusJson>("GET", "status");
    let ips = st.TailscaleIPs ?? [];
    const assertIp = f.values.get("assert") as string | undefined;
    if (assertIp !== undefined) {
      if (ips.includes(assertIp)) return 0;
      throw new Error(
        `assertion failed: IP ${JSON.stringify(assertIp)} not found among [${ips.join(" ")}]`,
      );
    }
    const of = f.positionals[0];
    if (of !== undefined) {
      const peer = findPeer(st, of);
      if (peer === null) throw new Error(`no peer found with IP or name ${JSON.stringify(of)}`);
      ips = peer.TailscaleIPs ?? [];
    }
    if (ips.length === 0) throw new Error(`no current Tailscale IPs; state: ${st.BackendState}`);
    if (want1) ips = ips.slice(0, 1);
    let match = false;
    for (const ip of ips) {
      const is6 = ip.includes(":");
      if ((!is6 && v4) || (is6 && v6)) {
        match = true;
        ctx.out(ip);
      }
    }
    if (!match && f.values.get("4") === true) throw new Error("no Tailscale IPv4 address");
    if (!match && f.values.get("6") === true) throw new Error("no Tailscale IPv6 address");
    return 0;
  },
};

/**
 * Finds a peer (or ourselves) by IP, DNS name, or DNS base name, as `tailscale ip` does.
 * @param st the status
 * @param arg what the user typed
 * @returns the node, or null
 */
export function findPeer(st: StatusJson, arg: string): PeerStatusJson | null {
  const all = [...Object.values(st.Peer ?? {}), ...(st.Self ? [st.Self] : [])];
  for (const ps of all) if ((ps.TailscaleIPs ?? []).includes(arg)) return ps;
  for (const ps of all) {
    if (arg.toLowerCase() === dnsOrQuoteHostname(st, ps).toLowerCase() || arg === ps.DNSName) {
      return ps;
    }
  }
  return null;
}
