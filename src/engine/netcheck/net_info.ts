/**
 * What a report tells control: `Hostinfo.NetInfo` as tailscaled's magicsock builds it
 * (`updateNetInfo`, v1.98.10): `DERPLatency` in seconds keyed `"<region>-v4"`/`"<region>-v6"`,
 * opt.Bool fields as JSON booleans (`opt.Bool.MarshalJSON`), unknown ones left out (`omitzero`).
 * @module
 */
import type { NetcheckReport } from "./report.ts";

/** tailcfg.NetInfo's fields that a report fills, JSON names. */
export interface NetInfoJson {
  MappingVariesByDestIP?: boolean;
  WorkingIPv6?: boolean;
  OSHasIPv6?: boolean;
  WorkingUDP?: boolean;
  WorkingICMPv4?: boolean;
  PreferredDERP?: number;
  DERPLatency?: Record<string, number>;
}

/**
 * NetInfo from a report.
 * @param r the report
 * @param homeDerp the home region actually in use (tailscaled sends that, not the report's)
 * @returns the NetInfo JSON
 */
export function netInfoFromReport(r: NetcheckReport, homeDerp: number): NetInfoJson {
  const ni: NetInfoJson = {};
  if (r.mappingVariesByDestIp !== "") {
    ni.MappingVariesByDestIP = r.mappingVariesByDestIp === "true";
  }
  ni.WorkingIPv6 = r.ipv6;
  ni.OSHasIPv6 = r.osHasIpv6;
  ni.WorkingUDP = r.udp;
  ni.WorkingICMPv4 = false;
  if (homeDerp !== 0) ni.PreferredDERP = homeDerp;
  const lat: Record<string, number> = {};
  for (const [id, ms] of r.regionV4LatencyMs) lat[`${id}-v4`] = ms / 1000;
  for (const [id, ms] of r.regionV6LatencyMs) lat[`${id}-v6`] = ms / 1000;
  if (Object.keys(lat).length > 0) ni.DERPLatency = lat;
  return ni;
}
