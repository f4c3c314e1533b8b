/**
 * netcheck: what the network lets this node do (UDP, IPv4/IPv6, its address as others see it,
 * whether that mapping varies by destination, latency to each DERP region) and which DERP
 * region should be home, as tailscale's `net/netcheck` reports it.
 *
 * @example The home-region rule: a new region must be clearly better
 * ```ts
 * import { ReportHistory } from "./mod.ts";
 * const h = new ReportHistory();
 * const derpMap = { Regions: {} };
 * h.add(new Map([[1, 30], [2, 40]]), { now: 0, startedAt: 0, derpMap });
 * // Region 2 is now 5 ms faster: not enough to move.
 * const home = h.add(new Map([[1, 30], [2, 25]]), { now: 1000, startedAt: 1000, derpMap });
 * if (home !== 1) throw new Error("moved home for 5 ms");
 * ```
 * @module
 */
export {
  addrPortText,
  type HttpsLatencyProbe,
  type InterfaceFamilies,
  NetcheckClient,
  type NetcheckClientOptions,
  type NetcheckStats,
  probePlan,
  stunAddress,
  type StunTransport,
} from "./client.ts";
export * from "./constants.ts";
export { netInfoFromReport, type NetInfoJson } from "./net_info.ts";
export { type LastDerpActivity, ReportHistory } from "./preferred_derp.ts";
export {
  formatLatency,
  type NetcheckReport,
  type NetcheckReportJson,
  newReport,
  type OptBool,
  type OptBoolJson,
  optBoolJson,
  reportToJson,
} from "./report.ts";
export { interfaceFamilies, osHasIpv6, StandaloneStunSocket } from "./standalone.ts";
export { PeriodicNetcheck, type PeriodicNetcheckOptions } from "./periodic.ts";
