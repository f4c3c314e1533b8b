/**
 * `GET usermetrics` (what `tailscale metrics print` shows) and `GET metrics` (`tailscale debug
 * metrics`): Prometheus text exposition, with tailscaled's user-facing metric names
 * (`tailscaled_inbound_bytes_total{path="derp"}`, …) filled from the engine's counters.
 * tailnet has only DERP paths today, so the direct and peer-relay paths read 0.
 * @module
 */
import type { LocalApiDeps } from "../deps.ts";
import type { EngineStats } from "../../engine/engine.ts";
import type { LocalApiHandler } from "../server.ts";
import { requireMethod } from "./_common.ts";

const PATHS = ["derp", "direct_ipv4", "direct_ipv6", "peer_relay_ipv4", "peer_relay_ipv6"];

/** One metric family: its type, help line and labelled samples. */
interface Family {
  name: string;
  type: "gauge" | "counter";
  help: string;
  samples: [labels: string, value: number][];
}

/**
 * The `usermetrics` handler.
 * @param deps the backend and data plane
 * @returns the handler
 */
export function userMetricsHandler(deps: LocalApiDeps): LocalApiHandler {
  return (req) => {
    requireMethod(req, ["GET"]);
    return promText(userFamilies(deps));
  };
}

/**
 * The `metrics` handler: the same families plus tailnet's own engine counters.
 * @param deps the backend and data plane
 * @returns the handler
 */
export function debugMetricsHandler(deps: LocalApiDeps): LocalApiHandler {
  return (req) => {
    requireMethod(req, ["GET"]);
    return promText([...userFamilies(deps), ...engineFamilies(deps.dataPlane.stats())]);
  };
}

function userFamilies({ backend, dataPlane }: LocalApiDeps): Family[] {
  const stats = dataPlane.stats();
  const nm = backend.netmap;
  const routes = backend.prefs().AdvertiseRoutes?.length ?? 0;
  const wg = peerTotals(stats);
  const byPath = (derp: number): [string, number][] =>
    PATHS.map((p) => [`path="${p}"`, p === "derp" ? derp : 0]);
  return [
    {
      name: "tailscaled_advertised_routes",
      type: "gauge",
      help: "Number of advertised network routes (e.g. by a subnet router)",
      samples: [["", routes]],
    },
    {
      name: "tailscaled_approved_routes",
      type: "gauge",
      help: "Number of approved network routes (e.g. by a subnet router)",
      samples: [["", nm === null ? 0 : approvedRoutes(nm.self.allowedIps, nm.self.addresses)]],
    },
    {
      name: "tailscaled_health_messages",
      type: "gauge",
      help: "Number of health messages broken down by type.",
      samples: [['type="warning"', backend.health().length]],
    },
    {
      name: "tailscaled_home_derp_region_id",
      type: "gauge",
      help: "DERP region ID of this node's home relay server",
      samples: [["", nm?.self.homeDerp ?? 0]],
    },
    {
      name: "tailscaled_inbound_bytes_total",
      type: "counter",
      help: "Counts the number of bytes received from other peers",
      samples: byPath(wg.rxBytes),
    },
    {
      name: "tailscaled_inbound_packets_total",
      type: "counter",
      help: "Counts the number of packets received from other peers",
      samples: byPath(wg.rxPackets),
    },
    {
      name: "tailscaled_outbound_bytes_total",
      type: "counter",
      help: "Counts the number of bytes sent to other peers",
      samples: byPath(wg.txBytes),
    },
    {
      name: "tailscaled_outbound_packets_total",
      type: "counter",
      help: "Counts the number of packets sent to other peers",
      samples: byPath(wg.txPackets),
    },
    {
      name: "tailscaled_inbound_dropped_packets_total",
      type: "counter",
      help: "Counts the number of dropped packets received by the node from other peers",
      // tailscaled counts every packet its filter refuses as "acl".
      samples: [['reason="acl"', stats?.filter.inbound.dropped ?? 0]],
    },
    {
      name: "tailscaled_outbound_dropped_packets_total",
      type: "counter",
      help: "Counts the number of packets dropped while being sent to other peers",
      samples: [
        ['reason="error"', stats === null ? 0 : sumValues(stats.path.drops)],
        ...outboundFilterDrops(stats),
      ],
    },
  ];
}

function engineFamilies(stats: EngineStats | null): Family[] {
  if (stats === null) return [];
  const drops = Object.entries(stats.wireguard.drops);
  return [
    {
      name: "tailnet_wireguard_dropped_packets_total",
      type: "counter",
      help: "WireGuard packets dropped, by reason",
      samples: drops.map(([reason, n]) => [`reason="${reason}"`, n]),
    },
    {
      name: "tailnet_derp_sent_datagrams_total",
      type: "counter",
      help: "Datagrams handed to DERP",
      samples: [["", stats.path.sentDerp]],
    },
    {
      name: "tailnet_derp_received_datagrams_total",
      type: "counter",
      help: "WireGuard datagrams received over DERP",
      samples: [["", stats.path.receivedDerp]],
    },
  ];
}

/** The filter's outbound drops under tailscaled's reason labels, those that happened. */
function outboundFilterDrops(stats: EngineStats | null): [string, number][] {
  if (stats === null) return [];
  const d = stats.filter.outbound.drops;
  const out: [string, number][] = [];
  for (
    const [label, n] of [
      ["link_local_unicast", d.linkLocal],
      ["multicast", d.multicast],
      ["unknown_protocol", d.unknownProto],
    ] as const
  ) if (n > 0) out.push([`reason="${label}"`, n]);
  return out;
}

/** Routes control approved for us: allowed IPs beyond our own addresses. */
function approvedRoutes(allowedIps: readonly string[], addresses: readonly string[]): number {
  return allowedIps.filter((p) => !addresses.includes(p)).length;
}

function peerTotals(stats: EngineStats | null) {
  const t = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 };
  for (const p of Object.values(stats?.wireguard.peers ?? {})) {
    const s = p as Partial<typeof t>;
    t.rxBytes += s.rxBytes ?? 0;
    t.txBytes += s.txBytes ?? 0;
    t.rxPackets += s.rxPackets ?? 0;
    t.txPackets += s.txPackets ?? 0;
  }
  return t;
}

function sumValues(o: Record<string, number>): number {
  return Object.values(o).reduce((a, b) => a + b, 0);
}

function promText(families: Family[]): Response {
  const lines: string[] = [];
  for (const f of [...families].sort((a, b) => a.name.localeCompare(b.name))) {
    lines.push(`# TYPE ${f.name} ${f.type}`, `# HELP ${f.name} ${f.help}`);
    for (const [labels, v] of f.samples) {
      lines.push(`${f.name}${labels === "" ? "" : `{${labels}}`} ${v}`);
    }
  }
  return new Response(lines.join("\n") + "\n", {
    headers: { "content-type": "text/plain; version=0.0.4" },
  });
}
