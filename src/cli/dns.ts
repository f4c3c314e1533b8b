/**
 * `tailnet dns query [--json] NAME [TYPE]` and `tailnet dns status [--json] [--all]`, as
 * `tailscale dns ...` prints them. `query` asks the daemon's MagicDNS through the LocalAPI's
 * `dns-query` and decodes the answer; `status` reads `status`, `prefs`, `dns-config` and
 * `dns-osconfig`, so both also work against tailscaled's socket.
 * @module
 */
import { UsageError } from "../engine/base/errors.ts";
import { parseDnsMessage } from "../engine/wire/dns.ts";
import { dnsRcodeName, dnsRecordBody, dnsTypeName } from "../engine/wire/dns_text.ts";
import { LocalApiClient, LocalApiClientError } from "../localapi/client.ts";
import { type Command, type CommandContext, parseGoFlags } from "./command.ts";

/** `dnstype.Resolver` JSON. */
interface ResolverJson {
  Addr?: string;
  BootstrapResolution?: string[] | null;
}

/** `jsonoutput.DNSResolverInfo`. */
interface ResolverInfo {
  Addr: string;
  BootstrapResolution?: string[];
}

/** `jsonoutput.DNSAnswer`. */
interface DnsAnswerJson {
  Name: string;
  TTL: number;
  Class: string;
  Type: string;
  Body: string;
}

/** `jsonoutput.DNSQueryResult`. */
export interface DnsQueryResult {
  Name: string;
  QueryType: string;
  Resolvers?: ResolverInfo[];
  ResponseCode: string;
  Answers?: DnsAnswerJson[];
}

const USAGE = `tailnet dns status [--all] [--json]
tailnet dns query [--json] <name> [type]

Diagnoses the internal DNS forwarder (100.100.100.100).

  status  Print the current DNS status and configuration
  query   Perform a DNS query (default type A; e.g. AAAA, CNAME, MX, NS, PTR, SRV, TXT)`;

/** The `dns` command. */
export const dnsCommand: Command = {
  name: "dns",
  summary: "Diagnose the internal DNS forwarder",
  usage: USAGE,
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub === "query") return await runQuery(rest, ctx);
    if (sub === "status") return await runStatus(rest, ctx);
    if (sub === undefined) throw new UsageError("dns: missing subcommand: status or query");
    throw new UsageError(`dns: unknown subcommand: ${sub}`);
  },
};

function resolverInfo(r: ResolverJson): ResolverInfo {
  const bs = r.BootstrapResolution ?? [];
  return { Addr: r.Addr ?? "", ...(bs.length > 0 ? { BootstrapResolution: bs } : {}) };
}

async function runQuery(args: string[], ctx: CommandContext): Promise<number> {
  // Go's flag set stops at the first word: flags after the name are an error.
  const first = args.findIndex((a) => !a.startsWith("-") || a === "-");
  const flagArgs = first < 0 ? args : args.slice(0, first);
  const words = first < 0 ? [] : args.slice(first);
  const f = parseGoFlags(flagArgs, { json: { type: "bool" } });
  if (words.length === 0) throw new Error("missing required argument: name");
  const late = words.slice(1).filter((a) => a.startsWith("-"));
  if (late.length > 0) {
    throw new Error(
      `unexpected flags after query name: ${late.join(", ")}; see 'tailscale dns query --help'`,
    );
  }
  if (words.length > 2) throw new Error(`unexpected extra arguments: ${words.slice(2).join(" ")}`);
  const name = words[0];
  const queryType = (words[1] ?? "A").toUpperCase();
  let res: { Bytes?: string; Resolvers?: ResolverJson[] | null };
  try {
    res = await new LocalApiClient(ctx.socketPath).json(
      "GET",
      `dns-query?name=${encodeURIComponent(name)}&type=${encodeURIComponent(queryType)}`,
    );
  } catch (err) {
    const msg = err instanceof LocalApiClientError ? err.message : String(err);
    throw new Error(`failed to query DNS: ${msg}`);
  }
  const bytes = Uint8Array.from(atob(res.Bytes ?? ""), (c) => c.charCodeAt(0));
  const data = dnsQueryResult(name, queryType, bytes, res.Resolvers ?? []);
  if (f.values.get("json") === true) ctx.out(JSON.stringify(data, null, 2));
  else for (const line of dnsQueryText(data)) ctx.out(line);
  return 0;
}

/**
 * The result `tailscale dns query` builds from the daemon's answer.
 * @param name the name asked @param queryType the type asked (upper case)
 * @param bytes the answer @param resolvers the daemon's resolvers for the name
 * @returns the result
 * @throws {Error} when the answer does not parse
 */
export function dnsQueryResult(
  name: string,
  queryType: string,
  bytes: Uint8Array,
  resolvers: readonly ResolverJson[],
): DnsQueryResult {
  let msg;
  try {
    msg = parseDnsMessage(bytes);
  } catch (err) {
    throw new Error(`failed to parse DNS response: ${(err as Error).message}`);
  }
  const data: DnsQueryResult = {
    Name: name,
    QueryType: queryType,
    ...(resolvers.length > 0 ? { Resolvers: resolvers.map(resolverInfo) } : {}),
    ResponseCode: dnsRcodeName(msg.header.rcode),
  };
  if (msg.header.rcode === 0) {
    data.Answers = msg.answers.map((a) => ({
      Name: a.name + ".",
      TTL: a.ttl,
      Class: a.class === 1 ? "ClassINET" : String(a.class),
      Type: "Type" + dnsTypeName(a.type),
      Body: dnsRecordBody(a),
    }));
  }
  return data;
}

/**
 * The lines `tailscale dns query` prints (its `formatDNSQueryText`).
 * @param data the result @returns the lines
 */
export function dnsQueryText(data: DnsQueryResult): string[] {
  const out = [
    `DNS query for ${JSON.stringify(data.Name)} (${data.QueryType}) using internal resolver:`,
    "",
  ];
  const rs = data.Resolvers ?? [];
  if (rs.length === 1) out.push(`Forwarding to resolver: ${resolverText(rs[0])}`);
  else {
    out.push("Multiple resolvers available:");
    for (const r of rs) out.push(`  - ${resolverText(r)}`);
  }
  out.push("", `Response code: ${data.ResponseCode}`, "");
  if (data.Answers === undefined) {
    out.push("No answers were returned.");
    return out;
  }
  if (data.Answers.length === 0) out.push("  (no answers found)");
  const rows = [
    ["Name", "TTL", "Class", "Type", "Body"],
    ["----", "---", "-----", "----", "----"],
    ...data.Answers.map((a) => [a.Name, String(a.TTL), a.Class, a.Type, a.Body]),
  ];
  out.push(...tabwrite(rows), "");
  return out;
}

/** Go's tabwriter (padding 2, spaces): every column but the last padded to its widest cell. */
function tabwrite(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    for (let i = 0; i < r.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, r[i].length);
  }
  return rows.map((r) =>
    r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i] + 2) : c)).join("")
  );
}

function resolverText(r: ResolverInfo): string {
  const bs = r.BootstrapResolution ?? [];
  return bs.length > 0 ? `${r.Addr} (bootstrap: [${bs.join(" ")}])` : r.Addr;
}

/** The parts of `ipnstate.Status` that `dns status` reads. */
interface StatusJson {
  CurrentTailnet?: { MagicDNSEnabled?: boolean; MagicDNSSuffix?: string } | null;
  Self?: { DNSName?: string } | null;
}

/** The parts of `tailcfg.DNSConfig` that `dns status` prints. */
interface DnsConfigJson {
  Resolvers?: ResolverJson[] | null;
  Routes?: Record<string, ResolverJson[] | null> | null;
  FallbackResolvers?: ResolverJson[] | null;
  Domains?: string[] | null;
  Nameservers?: string[] | null;
  CertDomains?: string[] | null;
  ExtraRecords?: { Name: string; Type?: string; Value: string }[] | null;
  ExitNodeFilteredSet?: string[] | null;
}

async function runStatus(args: string[], ctx: CommandContext): Promise<number> {
  const f = parseGoFlags(args, { json: { type: "bool" }, all: { type: "bool" } });
  const client = new LocalApiClient(ctx.socketPath);
  const st = await client.json<StatusJson>("GET", "status");
  const prefs = await client.json<{ CorpDNS?: boolean }>("GET", "prefs");
  const data: Record<string, unknown> = { TailscaleDNS: prefs.CorpDNS === true };
  let cfg: DnsConfigJson | null = null;
  let systemError = "";
  if (st.CurrentTailnet) {
    data.CurrentTailnet = {
      MagicDNSEnabled: st.CurrentTailnet.MagicDNSEnabled === true,
      MagicDNSSuffix: st.CurrentTailnet.MagicDNSSuffix ?? "",
      SelfDNSName: st.Self?.DNSName ?? "",
    };
    try {
      cfg = (await client.json<DnsConfigJson | null>("GET", "dns-config")) ?? {};
    } catch (err) {
      throw new Error(`failed to fetch DNS config: ${(err as Error).message}`);
    }
    try {
      await client.json("GET", "dns-osconfig");
    } catch (err) {
      const m = (err as Error).message;
      systemError = m.includes("not supported") ? "not supported on this platform" : m;
    }
  }
  if (f.values.get("json") === true) {
    if (cfg !== null) Object.assign(data, statusJsonOf(cfg), { SystemDNSError: systemError });
    ctx.out(JSON.stringify(data, null, 2));
    return 0;
  }
  for (const line of dnsStatusText(data, cfg, systemError, f.values.get("all") === true)) {
    ctx.out(line);
  }
  return 0;
}

function statusJsonOf(cfg: DnsConfigJson): Record<string, unknown> {
  const routes: Record<string, ResolverInfo[]> = {};
  for (const [k, v] of Object.entries(cfg.Routes ?? {})) {
    for (const r of v ?? []) (routes[k] ??= []).push(resolverInfo(r));
  }
  return {
    Resolvers: (cfg.Resolvers ?? []).map(resolverInfo),
    SplitDNSRoutes: routes,
    FallbackResolvers: (cfg.FallbackResolvers ?? []).map(resolverInfo),
    SearchDomains: [...(cfg.Domains ?? [])].sort(),
    Nameservers: cfg.Nameservers ?? [],
    CertDomains: cfg.CertDomains ?? [],
    ExtraRecords: cfg.ExtraRecords ?? [],
  };
}

/**
 * The lines `tailscale dns status` prints (its `formatDNSStatusText`), for a userspace node
 * (no OS DNS configuration to show).
 * @param data TailscaleDNS and CurrentTailnet @param cfg the DNS config, null when not in a tailnet
 * @param systemError why the OS config is missing @param all `--all`
 * @returns the lines
 */
export function dnsStatusText(
  data: Record<string, unknown>,
  cfg: DnsConfigJson | null,
  systemError: string,
  all: boolean,
): string[] {
  const o: string[] = ["", "=== 'Use Tailscale DNS' status ===", ""];
  if (data.TailscaleDNS === true) {
    o.push(
      "Tailscale DNS: enabled.",
      "",
      "Tailscale is configured to handle DNS queries on this device.",
      "Run 'tailscale set --accept-dns=false' to revert to your system default DNS resolver.",
    );
  } else {
    o.push(
      "Tailscale DNS: disabled.",
      "",
      "(Run 'tailscale set --accept-dns=true' to start sending DNS queries to the Tailscale DNS resolver)",
    );
  }
  o.push("", "=== MagicDNS configuration ===", "");
  o.push("This is the DNS configuration provided by the coordination server to this device.", "");
  const tn = data.CurrentTailnet as
    | { MagicDNSEnabled: boolean; MagicDNSSuffix: string; SelfDNSName: string }
    | undefined;
  if (tn === undefined || cfg === null) {
    o.push("No tailnet information available; make sure you're logged in to a tailnet.");
    return o;
  }
  if (tn.MagicDNSEnabled) {
    o.push(`MagicDNS: enabled tailnet-wide (suffix = ${tn.MagicDNSSuffix})`, "");
    o.push(`Other devices in your tailnet can reach this device at ${tn.SelfDNSName}`);
  } else o.push("MagicDNS: disabled tailnet-wide.");
  o.push("", "Resolvers (in preference order):");
  const rs = (cfg.Resolvers ?? []).map(resolverInfo);
  if (rs.length === 0) {
    o.push(
      "  (no resolvers configured, system default will be used: see 'System DNS configuration' below)",
    );
  }
  for (const r of rs) o.push(`  - ${resolverText(r)}`);
  o.push("", "Split DNS Routes:");
  const routes = Object.entries(cfg.Routes ?? {}).filter(([, v]) => (v ?? []).length > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (routes.length === 0) o.push("  (no routes configured: split DNS disabled)");
  for (const [k, v] of routes) {
    for (const r of v ?? []) o.push(`  - ${k.padEnd(30)} -> ${resolverText(resolverInfo(r))}`);
  }
  o.push("");
  if (all) {
    o.push("Fallback Resolvers:");
    const fb = (cfg.FallbackResolvers ?? []).map(resolverInfo);
    if (fb.length === 0) o.push("  (no fallback resolvers configured)");
    fb.forEach((r, i) => o.push(`  ${i}: ${resolverText(r)}`));
    o.push("");
  }
  o.push("Search Domains:");
  const sd = [...(cfg.Domains ?? [])].sort();
  if (sd.length === 0) o.push("  (no search domains configured)");
  for (const d of sd) o.push(`  - ${d}`);
  o.push("");
  if (all) {
    o.push("Nameservers IP Addresses:");
    const ns = cfg.Nameservers ?? [];
    if (ns.length === 0) o.push("  (none were provided)");
    for (const n of ns) o.push(`  - ${n}`);
    o.push("", "Certificate Domains:");
    const cd = cfg.CertDomains ?? [];
    if (cd.length === 0) o.push("  (no certificate domains are configured)");
    for (const d of cd) o.push(`  - ${d}`);
    o.push("", "Additional DNS Records:");
    const er = cfg.ExtraRecords ?? [];
    if (er.length === 0) o.push("  (no extra records are configured)");
    for (const r of er) {
      o.push(
        (r.Type ?? "") === ""
          ? `  - ${r.Name.padEnd(50)} -> ${r.Value}`
          : `  - [${r.Type}] ${r.Name.padEnd(50)} -> ${r.Value}`,
      );
    }
    o.push("", "Filtered suffixes when forwarding DNS queries as an exit node:");
    const fs = cfg.ExitNodeFilteredSet ?? [];
    if (fs.length === 0) o.push("  (no suffixes are filtered)");
    for (const s of fs) o.push(`  - ${s}`);
    o.push("");
  }
  o.push("=== System DNS configuration ===", "");
  o.push(
    "This is the DNS configuration that Tailscale believes your operating system is using.",
    "Tailscale may use this configuration if 'Override Local DNS' is disabled in the admin console,",
    "or if no resolvers are provided by the coordination server.",
    "",
  );
  if (systemError.includes("not supported")) {
    o.push("  (reading the system DNS configuration is not supported on this platform)");
  } else if (systemError !== "") {
    o.push(`  (failed to read system DNS configuration: ${systemError})`);
  } else o.push("  (no OS DNS configuration available)");
  o.push(
    "",
    "[this is a preliminary version of this command; the output format may change in the future]",
  );
  return o;
}
