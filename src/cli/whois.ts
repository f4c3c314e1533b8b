/**
 * `tailnet whois [--json] ip[:port]`: the machine and user behind a Tailscale address, from the
 * daemon's `whois` endpoint, printed as `tailscale whois` prints it (its tab-aligned
 * `Machine:`/`User:` blocks, then the capabilities, sorted).
 * @module
 */
import { LocalApiClient, LocalApiClientError } from "../localapi/client.ts";
import { type Command, parseGoFlags } from "./command.ts";

/** The parts of `apitype.WhoIsResponse` the text output shows. */
interface WhoIsJson {
  Node: {
    Name?: string;
    StableID?: string;
    Addresses?: string[] | null;
    AllowedIPs?: string[] | null;
    Tags?: string[] | null;
  };
  UserProfile: { ID?: number; LoginName?: string };
  CapMap?: Record<string, unknown[] | null> | null;
}

/** The `whois` command. */
export const whoisCommand: Command = {
  name: "whois",
  summary: "Show the machine and user associated with a Tailscale IP (v4 or v6)",
  usage: `tailnet whois [--json] ip[:port]

Shows the machine and user associated with a Tailscale IP (v4 or v6), an IP:port, or a
nodekey:.

  --json         output in JSON format
  --proto PROTO  protocol; one of "tcp" or "udp"; empty means both`,
  async run(args, ctx) {
    const f = parseGoFlags(args, { json: { type: "bool" }, proto: { type: "string" } }, true);
    if (f.positionals.length > 1) throw new Error("too many arguments, expected at most one peer");
    if (f.positionals.length === 0) throw new Error("missing argument, expected one peer");
    const proto = (f.values.get("proto") as string | undefined) ?? "";
    const query = `whois?addr=${encodeURIComponent(f.positionals[0])}` +
      (proto === "" ? "" : `&proto=${encodeURIComponent(proto)}`);
    let who: WhoIsJson;
    try {
      who = await new LocalApiClient(ctx.socketPath).json<WhoIsJson>("GET", query);
    } catch (err) {
      if (err instanceof LocalApiClientError && err.status === 404) {
        throw new Error("peer not found");
      }
      throw err;
    }
    if (f.values.get("json") === true) {
      ctx.out(JSON.stringify(who, null, 2));
      return 0;
    }
    for (const line of whoisText(who)) ctx.out(line);
    return 0;
  },
};

/**
 * The text `tailscale whois` prints for a reply.
 * @param who the `whois` reply
 * @returns the lines
 */
export function whoisText(who: WhoIsJson): string[] {
  const n = who.Node;
  const machine: [string, string][] = [
    ["  Name:", (n.Name ?? "").replace(/\.$/, "")],
    ["  ID:", n.StableID ?? ""],
    ["  Addresses:", goList(n.Addresses)],
  ];
  const allowed = n.AllowedIPs ?? [];
  if (allowed.length > 2) machine.push(["  AllowedIPs:", goList(allowed.slice(2))]);
  const lines = ["Machine:"];
  if ((n.Tags ?? []).length > 0) {
    machine.push(["  Tags:", (n.Tags ?? []).join(", ")]);
    lines.push(...aligned(machine));
  } else {
    lines.push(...aligned(machine), "User:");
    lines.push(...aligned([
      ["  Name:", who.UserProfile.LoginName ?? ""],
      ["  ID:", String(who.UserProfile.ID ?? 0)],
    ]));
  }
  const caps = Object.entries(who.CapMap ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (caps.length > 0) lines.push("Capabilities:");
  for (const [cap, vals] of caps) {
    if (vals && vals.length > 0) {
      lines.push(
        `  - ${cap}:`,
        `      ${JSON.stringify(vals, null, 2).replaceAll("\n", "\n      ")}`,
      );
    } else {
      lines.push(`  - ${cap}`);
    }
  }
  return lines;
}

/** Go's `%s` of a slice: `[a b c]`. */
function goList(items: readonly string[] | null | undefined): string {
  return `[${(items ?? []).join(" ")}]`;
}

/** Go's tabwriter as whois sets it up: a column as wide as its widest cell plus 5, at least 10. */
function aligned(rows: [string, string][]): string[] {
  const width = Math.max(10, ...rows.map(([k]) => k.length + 5));
  return rows.map(([k, v]) => k.padEnd(width) + v);
}
