/**
 * `tailnet netcheck`: an analysis of local network conditions, as `tailscale netcheck`
 * (`cmd/tailscale/cli/netcheck.go`, v1.98.10) prints it. Like Go's CLI it runs the report in
 * this process over its own UDP socket, against the DERP map the daemon has (`GET
 * /localapi/v0/derpmap`), so it works against tailscaled's socket too. Without a daemon (or
 * before it has a map) it says so in one line and exits 1: Go then fetches Tailscale's public
 * map from login.tailscale.com, which an offline node cannot reach and a self-hosted tailnet
 * does not use.
 *
 * Output: the `Report:` block (or `--format json|json-line`: Go's netcheck.Report JSON, after
 * the same warning on stderr), once, or again every `--every` duration.
 * @module
 */
import { LocalApiClient } from "../localapi/client.ts";
import { Logger } from "../engine/base/logger.ts";
import type { DerpMap } from "../engine/wire/derp_map.ts";
import { measureHttpsLatency } from "../engine/derp/mod.ts";
import {
  formatLatency,
  interfaceFamilies,
  NetcheckClient,
  type NetcheckReport,
  osHasIpv6,
  reportToJson,
  StandaloneStunSocket,
} from "../engine/netcheck/mod.ts";
import { type Command, type CommandContext, parseDurationFlag, parseGoFlags } from "./command.ts";

/** The `netcheck` command. */
export const netcheckCommand: Command = {
  name: "netcheck",
  summary: "Print an analysis of local network conditions",
  usage: `tailnet netcheck [flags]

Measures UDP reachability, our address as STUN servers see it, whether that mapping varies
by destination, and the latency to each DERP region of the daemon's DERP map.

  --format FORMAT       output format; empty (for human-readable), "json" or "json-line"
  --every DURATION      if non-zero, do an incremental report with the given frequency
  --verbose             verbose logs
  --bind-address ADDR   send and receive connectivity probes using this locally bound IP address
  --bind-port PORT      send and receive connectivity probes using this UDP port`,
  async run(args, ctx) {
    const f = parseGoFlags(args, {
      format: { type: "string" },
      every: { type: "string" },
      verbose: { type: "bool" },
      "bind-address": { type: "string" },
      "bind-port": { type: "string" },
    });
    const format = (f.values.get("format") as string | undefined) ?? "";
    const everyMs = f.values.has("every")
      ? parseDurationFlag("every", f.values.get("every") as string)
      : 0;
    const verbose = f.values.get("verbose") === true;
    const bindPortText = (f.values.get("bind-port") as string | undefined) ?? "0";
    const bindPort = Number(bindPortText);
    if (!/^\d+$/.test(bindPortText) || bindPort > 65535) {
      throw new Error(`invalid bind port ${bindPortText}`);
    }
    if (format !== "" && format !== "json" && format !== "json-line") {
      throw new Error(`unknown output format "${format}"`);
    }
    if (format.startsWith("json")) {
      ctx.err("# Warning: this JSON format is not yet considered a stable interface");
    }
    const log = new Logger({ verbosity: verbose ? 1 : -1, sink: (l) => ctx.err(l) })
      .child("netcheck");
    let sock: StandaloneStunSocket | null = null;
    try {
      sock = StandaloneStunSocket.open(
        (f.values.get("bind-address") as string | undefined) ?? "",
        bindPort,
        log,
      );
    } catch (err) {
      ctx.err(`netcheck: UDP test failure: ${err instanceof Error ? err.message : err}`);
    }
    try {
      const derpMap = await daemonDerpMap(ctx);
      const client = new NetcheckClient({
        transport: sock ?? { ipv6: false, send: () => false },
        log: verbose ? log : undefined,
        osHasIpv6,
        interfaces: interfaceFamilies,
        httpsLatency: (region, signal) => measureHttpsLatency(region, { signal }),
      });
      sock?.feed(client);
      for (;;) {
        const t0 = performance.now();
        const report = await client.getReport(derpMap);
        if (verbose) {
          log.info(`GetReport took ${Math.round(performance.now() - t0)}ms; err=<nil>`);
          explainMapping(report, log);
        }
        for (const line of formatReport(derpMap, report, format, verbose)) ctx.out(line);
        if (everyMs === 0) return 0;
        await new Promise((r) => setTimeout(r, everyMs));
      }
    } finally {
      await sock?.close();
    }
  },
};

/** The daemon's DERP map, or an error saying why there is none. */
async function daemonDerpMap(ctx: CommandContext): Promise<DerpMap> {
  let map: DerpMap | null;
  try {
    map = await new LocalApiClient(ctx.socketPath).json<DerpMap | null>("GET", "derpmap");
  } catch (err) {
    throw new Error(
      `netcheck needs the DERP map from the daemon, and the daemon at ${ctx.socketPath} did ` +
        `not answer (${err instanceof Error ? err.message : err}); tailscale would fetch ` +
        `Tailscale's public map instead, which tailnet does not`,
    );
  }
  if (map === null || Object.keys(map.Regions ?? {}).length === 0) {
    throw new Error("netcheck: the daemon has no DERP map yet (is it logged in?)");
  }
  return map;
}

/** Says in the verbose log why MappingVariesByDestIP is unknown, when it is. */
function explainMapping(r: NetcheckReport, log: Logger): void {
  if (r.mappingVariesByDestIp !== "") return;
  const answered = [...(r.globalV4Counters?.values() ?? [])].reduce((a, b) => a + b, 0);
  log.info(
    `MappingVariesByDestIP unknown: it needs IPv4 STUN answers from two servers at different ` +
      `addresses; ${answered} IPv4 answer${answered === 1 ? "" : "s"} this report`,
  );
}

/**
 * The lines `tailscale netcheck` prints for a report.
 * @param dm the DERP map the report measured
 * @param r the report
 * @param format "", "json" or "json-line"
 * @param verbose adds `derpN, ` to the latency table
 * @returns output lines
 */
export function formatReport(
  dm: DerpMap,
  r: NetcheckReport,
  format: string,
  verbose = false,
): string[] {
  if (format === "json") return [JSON.stringify(reportToJson(r), null, "\t")];
  if (format === "json-line") return [JSON.stringify(reportToJson(r))];
  const out = ["", "Report:"];
  out.push(`\t* Time: ${goRfc3339Nano(r.nowWallMs)}`);
  out.push(`\t* UDP: ${r.udp}`);
  out.push(r.globalV4 !== "" ? `\t* IPv4: yes, ${r.globalV4}` : "\t* IPv4: (no addr found)");
  if (r.globalV6 !== "") out.push(`\t* IPv6: yes, ${r.globalV6}`);
  else if (r.ipv6) out.push("\t* IPv6: (no addr found)");
  else if (r.osHasIpv6) out.push("\t* IPv6: no, but OS has support");
  else out.push("\t* IPv6: no, unavailable in OS");
  out.push(`\t* MappingVariesByDestIP: ${r.mappingVariesByDestIp}`);
  out.push("\t* PortMapping: not checked");
  if (r.regionLatencyMs.size === 0) {
    out.push("\t* Nearest DERP: unknown (no response to latency probes)");
    return out;
  }
  if (r.preferredDerp !== 0) {
    const region = dm.Regions[String(r.preferredDerp)];
    out.push(
      region !== undefined
        ? `\t* Nearest DERP: ${region.RegionName}`
        : `\t* Nearest DERP: ${r.preferredDerp} (region not found in map)`,
    );
  } else {
    out.push("\t* Nearest DERP: [none]");
  }
  out.push("\t* DERP latency:");
  const ids = Object.keys(dm.Regions).map(Number).sort((a, b) => {
    const la = r.regionLatencyMs.get(a);
    const lb = r.regionLatencyMs.get(b);
    if ((la === undefined) !== (lb === undefined)) return la !== undefined ? -1 : 1;
    if (la === undefined || lb === undefined) return a - b;
    return la - lb;
  });
  for (const id of ids) {
    const region = dm.Regions[String(id)];
    const ms = r.regionLatencyMs.get(id);
    const latency = ms === undefined ? "" : formatLatency(ms);
    const num = verbose ? `derp${id}, ` : "";
    out.push(
      `\t\t- ${region.RegionCode.padStart(3)}: ${latency.padEnd(7)} (${num}${region.RegionName})`,
    );
  }
  return out;
}

/** Go's time.RFC3339Nano in UTC (trailing zeros of the fraction dropped). */
function goRfc3339Nano(wallMs: number): string {
  return new Date(wallMs).toISOString().replace(/\.?0+Z$/, "Z");
}
