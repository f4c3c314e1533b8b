/**
 * A netcheck report (tailscale's `netcheck.Report`) and its JSON form, which `tailscale
 * netcheck --format json` prints from Go's `encoding/json`: durations are integer nanoseconds,
 * maps keyed by region ID have string keys, `opt.Bool` is true, false or null (unknown), an
 * unset `netip.AddrPort` is `""`, and a nil map is `null`.
 * @module
 */

/** An `opt.Bool`: unknown (""), or a known true/false. */
export type OptBool = "" | "true" | "false";

/** The result of one netcheck run. Latencies in milliseconds, keyed by DERP region ID. */
export interface NetcheckReport {
  /** Wall time the report finished (Unix ms). */
  nowWallMs: number;
  /** A STUN round trip completed. */
  udp: boolean;
  /** An IPv6 STUN round trip (or HTTPS over IPv6) completed. */
  ipv6: boolean;
  /** An IPv4 STUN round trip (or HTTPS over IPv4) completed. */
  ipv4: boolean;
  /** An IPv6 STUN request could be sent. */
  ipv6CanSend: boolean;
  /** An IPv4 STUN request could be sent. */
  ipv4CanSend: boolean;
  /** A socket could be bound to ::1. */
  osHasIpv6: boolean;
  /** Whether STUN servers at different addresses saw different IPv4 mappings; "" when fewer than two answered. */
  mappingVariesByDestIp: OptBool;
  /** The preferred (home) region, 0 for none. */
  preferredDerp: number;
  /** Best latency per region over any family (STUN, or HTTPS when UDP got no answer). */
  regionLatencyMs: Map<number, number>;
  /** Best IPv4 STUN latency per region. */
  regionV4LatencyMs: Map<number, number>;
  /** Best IPv6 STUN latency per region. */
  regionV6LatencyMs: Map<number, number>;
  /** How often each IPv4 `ip:port` was seen, or null when none was. */
  globalV4Counters: Map<string, number> | null;
  /** How often each IPv6 `[ip]:port` was seen, or null when none was. */
  globalV6Counters: Map<string, number> | null;
  /** The first IPv4 mapping seen, `ip:port`, or "". */
  globalV4: string;
  /** The last IPv6 mapping seen, `[ip]:port`, or "". */
  globalV6: string;
}

/** A fresh, empty report. */
export function newReport(): NetcheckReport {
  return {
    nowWallMs: 0,
    udp: false,
    ipv6: false,
    ipv4: false,
    ipv6CanSend: false,
    ipv4CanSend: false,
    osHasIpv6: false,
    mappingVariesByDestIp: "",
    preferredDerp: 0,
    regionLatencyMs: new Map(),
    regionV4LatencyMs: new Map(),
    regionV6LatencyMs: new Map(),
    globalV4Counters: null,
    globalV6Counters: null,
    globalV4: "",
    globalV6: "",
  };
}

/** An `opt.Bool` as Go's encoding/json writes it: null when unknown. */
export type OptBoolJson = boolean | null;

/**
 * An `opt.Bool` in JSON (`opt.Bool.MarshalJSON`: true, false, or null when unset).
 * @param b the value
 * @returns its JSON value
 */
export function optBoolJson(b: OptBool): OptBoolJson {
  return b === "" ? null : b === "true";
}

/** `netcheck.Report` as Go's encoding/json writes it (field order as Go's struct). */
export interface NetcheckReportJson {
  Now: string;
  UDP: boolean;
  IPv6: boolean;
  IPv4: boolean;
  IPv6CanSend: boolean;
  IPv4CanSend: boolean;
  OSHasIPv6: boolean;
  ICMPv4: boolean;
  MappingVariesByDestIP: OptBoolJson;
  UPnP: OptBoolJson;
  PMP: OptBoolJson;
  PCP: OptBoolJson;
  PreferredDERP: number;
  RegionLatency: Record<string, number>;
  RegionV4Latency: Record<string, number>;
  RegionV6Latency: Record<string, number>;
  GlobalV4Counters: Record<string, number> | null;
  GlobalV6Counters: Record<string, number> | null;
  GlobalV4: string;
  GlobalV6: string;
  CaptivePortal: OptBoolJson;
}

/**
 * A report in Go's JSON shape. Port mapping and captive-portal checks are not run: null (not
 * checked), as Go reports a check it did not run.
 * @param r the report
 * @returns the JSON object
 */
export function reportToJson(r: NetcheckReport): NetcheckReportJson {
  return {
    Now: goTime(r.nowWallMs),
    UDP: r.udp,
    IPv6: r.ipv6,
    IPv4: r.ipv4,
    IPv6CanSend: r.ipv6CanSend,
    IPv4CanSend: r.ipv4CanSend,
    OSHasIPv6: r.osHasIpv6,
    ICMPv4: false,
    MappingVariesByDestIP: optBoolJson(r.mappingVariesByDestIp),
    UPnP: null,
    PMP: null,
    PCP: null,
    PreferredDERP: r.preferredDerp,
    RegionLatency: nanosByRegion(r.regionLatencyMs),
    RegionV4Latency: nanosByRegion(r.regionV4LatencyMs),
    RegionV6Latency: nanosByRegion(r.regionV6LatencyMs),
    GlobalV4Counters: r.globalV4Counters === null ? null : Object.fromEntries(r.globalV4Counters),
    GlobalV6Counters: r.globalV6Counters === null ? null : Object.fromEntries(r.globalV6Counters),
    GlobalV4: r.globalV4,
    GlobalV6: r.globalV6,
    CaptivePortal: null,
  };
}

/** Go sorts map keys as strings when encoding; numeric-string keys keep that order here. */
function nanosByRegion(m: Map<number, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of [...m.keys()].map(String).sort()) {
    out[id] = Math.round((m.get(Number(id)) as number) * 1e6);
  }
  return out;
}

/** Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros dropped, UTC "Z"). */
function goTime(wallMs: number): string {
  const iso = new Date(wallMs).toISOString(); // 2026-12-07T11:20:27.123Z
  return iso.replace(/\.?0+Z$/, "Z").replace(/\.Z$/, "Z");
}

/**
 * Go's `time.Duration.String()` of a latency rounded to 0.1 ms, as `tailscale netcheck`
 * prints the DERP latency table ("1.2ms", "850µs", "1.5s").
 * @param ms milliseconds
 * @returns the text
 */
export function formatLatency(ms: number): string {
  const ns = Math.round(ms * 10) * 100_000; // round to 100 µs
  if (ns === 0) return "0s";
  if (ns < 1_000_000) return `${trimZeros(ns / 1_000)}µs`;
  if (ns < 1_000_000_000) return `${trimZeros(ns / 1_000_000)}ms`;
  return `${trimZeros(ns / 1_000_000_000)}s`;
}

function trimZeros(v: number): string {
  return String(Number(v.toFixed(9)));
}
