/**
 * `tailnet exit-node list [--filter COUNTRY]`: the peers offering an exit node, as
 * `tailscale exit-node list` prints them (Go's tabwriter with minwidth 10 and padding 5,
 * sorted by DNS name; "-" for a country or city control did not send; STATUS "selected" for
 * the one in use, "offline" with when last seen).
 * @module
 */
import { LocalApiClient } from "../localapi/client.ts";
import type { PeerStatusJson, StatusJson } from "../ipn/status.ts";
import { type Command, parseGoFlags } from "./command.ts";
import { lastSeenFmt } from "./status.ts";

/** The `exit-node` command (its `list` subcommand). */
export const exitNodeCommand: Command = {
  name: "exit-node",
  summary: "Show machines on your tailnet configured as exit nodes",
  usage: `tailnet exit-node list [--filter COUNTRY]

Shows the peers that offer to be an exit node.

  --filter COUNTRY    only exit nodes in this country (by name)`,
  async run(args, ctx) {
    if (args[0] !== "list") {
      throw new Error(
        args.length === 0
          ? "exit-node: missing subcommand: list"
          : `exit-node: unknown subcommand: ${args[0]}`,
      );
    }
    const f = parseGoFlags(args.slice(1), { filter: { type: "string" } }, true);
    if (f.positionals.length) {
      throw new Error("unexpected non-flag arguments to 'tailscale exit-node list'");
    }
    const st = await new LocalApiClient(ctx.socketPath).json<StatusJson>("GET", "status");
    const filter = (f.values.get("filter") as string | undefined) ?? "";
    for (const line of exitNodeList(st, filter, Date.now())) ctx.out(line);
    return 0;
  },
};

interface Located extends PeerStatusJson {
  Location?: { Country?: string; City?: string };
}

/**
 * The lines `tailscale exit-node list` prints.
 * @param st the status @param filter a country name, "" for all @param now ms for "last seen"
 * @returns the lines
 * @throws {Error} "no exit nodes found" (with the filter, when one was given)
 */
export function exitNodeList(st: StatusJson, filter: string, now: number): string[] {
  const peers = Object.values(st.Peer ?? {}).filter((p) => p.ExitNodeOption) as Located[];
  if (peers.length === 0) throw new Error("no exit nodes found");
  peers.sort((a, b) => (a.DNSName < b.DNSName ? -1 : a.DNSName > b.DNSName ? 1 : 0));
  const shown = peers.filter((p) =>
    filter === "" || (p.Location?.Country ?? "").toLowerCase() === filter.toLowerCase()
  );
  if (shown.length === 0) throw new Error(`no exit nodes found for ${JSON.stringify(filter)}`);
  // Go prints " %s\t%s\t…": the first cell starts with a space.
  const rows = [[" IP", "HOSTNAME", "COUNTRY", "CITY", "STATUS"]];
  for (const p of shown) {
    rows.push([
      " " + (p.TailscaleIPs?.[0] ?? ""),
      p.DNSName.replace(/^\.+|\.+$/g, ""),
      p.Location?.Country || "-",
      p.Location?.City || "-",
      exitPeerStatus(p, now),
    ]);
  }
  // Every cell ends in a tab: each column is padded to its widest cell + 5, at least 10.
  const widths = rows[0].map((_, i) => Math.max(10, ...rows.map((r) => r[i].length + 5)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("");
  return [
    "",
    ...rows.map(line),
    "",
    "# To view the complete list of exit nodes for a country, use `tailscale exit-node list --filter=` followed by the country name.",
    "# To use an exit node, use `tailscale set --exit-node=` followed by the IP or hostname.",
  ];
}

function exitPeerStatus(p: PeerStatusJson, now: number): string {
  if (!p.Active) {
    const seen = lastSeenFmt(p.LastSeen, now);
    if (p.ExitNode) return "selected but offline" + seen;
    if (!p.Online) return "offline" + seen;
  }
  return p.ExitNode ? "selected" : "-";
}
