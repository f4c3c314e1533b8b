/**
 * One netcheck report at a time, as tailscaled's `netcheck.Client.GetReport` runs it
 * (`net/netcheck/netcheck.go`, v1.98.10), over a datagram sender it is handed: the daemon's
 * magicsock socket (so the mappings are those peers see) or the CLI's own sockets.
 *
 * 1. Plan: per region (not `NoMeasureNoHome`) and address family, three STUN tries 100 ms
 *    apart, cycling through the region's nodes; a try that would teach nothing new is skipped.
 * 2. Each answer (matched by transaction ID and by the address it was sent to) gives the
 *    region's latency, UDP and the family's reachability, and our mapped `ip:port`. Two IPv4
 *    answers from different servers tell MappingVariesByDestIP; with fewer it stays unknown ("").
 * 3. The STUN phase ends when every region and family answered, when three regions answered
 *    and twice the slowest of them has passed, or after 3 s.
 * 4. No UDP answer at all: each region's latency over HTTPS (`/derp/latency-check` through the
 *    injected {@linkcode HttpsLatencyProbe}), within the report's 5 s.
 * 5. The preferred region, with the old home kept unless clearly beaten ({@linkcode ReportHistory}).
 *
 * Not done (tailscaled does them): the ICMP fallback (needs raw sockets), captive-portal and
 * port-mapping probes, incremental reports (every report here is a full one), DNS lookups of
 * node host names (nodes are probed at their IPv4/IPv6/STUNTestIP literals only).
 * @module
 */
import { type Clock, SYSTEM_CLOCK, type TimerId } from "../base/clock.ts";
import type { Logger } from "../base/logger.ts";
import type { DerpMap, DerpNode, DerpRegion } from "../wire/derp_map.ts";
import { formatIpAddr, parseIpAddr } from "../wire/ip_addr.ts";
import { isStun, parseStunResponse, stunRequest, stunTxid } from "../wire/stun.ts";
import {
  DEFAULT_STUN_PORT,
  ENOUGH_REGIONS,
  INITIAL_RETRANSMIT_MS,
  PROBE_TRIES,
  REPORT_TIMEOUT_MS,
  STUN_PROBE_TIMEOUT_MS,
} from "./constants.ts";
import { type LastDerpActivity, ReportHistory } from "./preferred_derp.ts";
import { type NetcheckReport, newReport } from "./report.ts";

/** Where STUN requests go out: the owner of a UDP socket. */
export interface StunTransport {
  /**
   * Sends one datagram.
   * @returns false when it could not be sent (no socket for that family)
   */
  send(ip: Uint8Array, port: number, packet: Uint8Array): boolean;
  /** Whether IPv6 datagrams can be sent at all. */
  readonly ipv6: boolean;
}

/**
 * Measures one region's latency over HTTPS, as Go's `measureHTTPSLatency`: TLS to a node of
 * the region, then the time of one `GET /derp/latency-check`.
 * @returns the latency and the family of the address reached
 */
export type HttpsLatencyProbe = (
  region: DerpRegion,
  signal: AbortSignal,
) => Promise<{ latencyMs: number; family: 4 | 6 }>;

/** Options for {@linkcode NetcheckClient}. */
export interface NetcheckClientOptions {
  /** Sends the STUN requests; answers come back through {@linkcode NetcheckClient.receiveStun}. */
  transport: StunTransport;
  /** Time for probes, timeouts and latencies; default the system clock. */
  clock?: Clock;
  /** Logger (per-report summary at info, probes at debug). */
  log?: Logger;
  /** The HTTPS fallback when UDP gets no answer; none: no fallback. */
  httpsLatency?: HttpsLatencyProbe;
  /** Whether the OS has IPv6 (Go: a socket binds to ::1). Default: the transport's ipv6. */
  osHasIpv6?: () => boolean;
  /** When each region last sent us a DERP frame, for the home-region hysteresis. */
  lastDerpActivity?: LastDerpActivity;
  /**
   * Which families have a usable (non-loopback, non-link-local) interface address, read at
   * each report: without one, only test nodes (IPv4 127.0.0.1 or a STUNTestIP) are probed in
   * that family, as Go's plan does. Default: both.
   */
  interfaces?: () => InterfaceFamilies;
}

/** Whether the host has a usable address of each family (netmon's HaveV4/HaveV6). */
export interface InterfaceFamilies {
  /** A non-loopback, non-link-local IPv4 address. */
  haveV4: boolean;
  /** A global unicast or ULA (not Tailscale's) IPv6 address. */
  haveV6: boolean;
}

/** Counters of a client, across reports. */
export interface NetcheckStats {
  /** Reports run. */
  reports: number;
  /** STUN requests sent. */
  stunSent: number;
  /** STUN answers accepted. */
  stunAnswers: number;
  /** STUN datagrams that were no answer of ours, or did not parse. */
  stunBad: number;
}

interface Probe {
  node: DerpNode;
  family: 4 | 6;
  delayMs: number;
}

interface InFlight {
  node: DerpNode;
  setKey: string;
  dest: string;
  sentAt: number;
}

/** The state of the report being run. */
interface RunState {
  startedAt: number;
  report: NetcheckReport;
  inFlight: Map<string, InFlight>;
  /** Probe sets (region and family) not answered and not given up. */
  openSets: Set<string>;
  timers: TimerId[];
  /** The first IPv4 mapping: later ones are compared with it. */
  firstV4: string;
  stunDone: () => void;
  stunFinished: boolean;
}

/** Runs netcheck reports over a {@linkcode StunTransport}; keeps the home-region history. */
export class NetcheckClient {
  /** Counters. */
  readonly stats: NetcheckStats = { reports: 0, stunSent: 0, stunAnswers: 0, stunBad: 0 };
  readonly #opts: NetcheckClientOptions;
  readonly #clock: Clock;
  readonly #history = new ReportHistory();
  #run: RunState | null = null;
  #last: NetcheckReport | null = null;

  /** @param opts the transport and hooks */
  constructor(opts: NetcheckClientOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
  }

  /** The last finished report, or null. */
  get last(): NetcheckReport | null {
    return this.#last;
  }

  /** Whether a report is being run. */
  get running(): boolean {
    return this.#run !== null;
  }

  /**
   * Offers a received STUN datagram. Counts it as bad when it is STUN but no answer of ours.
   * @param data the datagram
   * @param ip the address it came from (4 or 16 bytes, IPv4-mapped unmapped)
   * @param port its port
   * @returns true when it answered a request of the current report
   */
  receiveStun(data: Uint8Array, ip: Uint8Array, port: number): boolean {
    const rs = this.#run;
    if (!isStun(data)) return false;
    const key = hex(stunTxid(data));
    const sent = rs?.inFlight.get(key);
    if (rs === null || sent === undefined) {
      this.stats.stunBad++;
      return false;
    }
    // The answer must come from where the request went (a spoofed answer moves nothing).
    if (addrPortText(ip, port) !== sent.dest) {
      this.stats.stunBad++;
      return false;
    }
    let mapped: string;
    try {
      const r = parseStunResponse(data, stunTxid(data));
      mapped = addrPortText(r.ip, r.port);
    } catch {
      this.stats.stunBad++;
      return false;
    }
    rs.inFlight.delete(key);
    this.stats.stunAnswers++;
    const latencyMs = this.#clock.now() - sent.sentAt;
    this.#opts.log?.debug(`STUN answer from ${sent.dest}: ${mapped} in ${latencyMs.toFixed(1)}ms`);
    this.#addNodeLatency(rs, sent.node, mapped, latencyMs);
    this.#closeSet(rs, sent.setKey);
    return true;
  }

  /**
   * Runs one report. One at a time: a second call while one runs is refused.
   * @param derpMap the DERP map whose STUN servers and regions to measure
   * @param signal ends the report early (what was learned so far is kept)
   * @returns the report, its preferred region chosen
   */
  async getReport(derpMap: DerpMap, signal?: AbortSignal): Promise<NetcheckReport> {
    if (this.#run !== null) throw new Error("netcheck: a report is already running");
    const clock = this.#clock;
    let stunDone!: () => void;
    const stunPhase = new Promise<void>((resolve) => stunDone = resolve);
    const rs: RunState = {
      startedAt: clock.now(),
      report: newReport(),
      inFlight: new Map(),
      openSets: new Set(),
      timers: [],
      firstV4: "",
      stunDone,
      stunFinished: false,
    };
    this.#run = rs;
    this.stats.reports++;
    rs.report.osHasIpv6 = this.#opts.osHasIpv6?.() ?? this.#opts.transport.ipv6;
    const onAbort = () => this.#finishStun(rs);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const families = this.#opts.interfaces?.() ?? { haveV4: true, haveV6: true };
      const plan = probePlan(derpMap, this.#opts.transport.ipv6, families);
      for (const [setKey, probes] of plan) {
        rs.openSets.add(setKey);
        for (const p of probes) {
          const fire = () => this.#runProbe(rs, setKey, p);
          if (p.delayMs === 0) fire();
          else rs.timers.push(clock.setTimeout(fire, p.delayMs));
        }
      }
      if (rs.openSets.size === 0 || signal?.aborted) this.#finishStun(rs);
      rs.timers.push(clock.setTimeout(() => this.#finishStun(rs), STUN_PROBE_TIMEOUT_MS));
      await stunPhase;
      if (!rs.report.udp && this.#opts.httpsLatency !== undefined && !signal?.aborted) {
        await this.#measureHttps(rs, derpMap, signal);
      }
      return this.#finish(rs, derpMap);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      for (const t of rs.timers) clock.clearTimeout(t);
      this.#run = null;
    }
  }

  #runProbe(rs: RunState, setKey: string, p: Probe): void {
    if (rs.stunFinished || !rs.openSets.has(setKey)) return;
    if (!probeWouldHelp(rs.report, p)) {
      this.#closeSet(rs, setKey);
      return;
    }
    const dest = stunAddress(p.node, p.family);
    if (dest === null) return;
    const txid = crypto.getRandomValues(new Uint8Array(12));
    const destText = addrPortText(dest.ip, dest.port);
    rs.inFlight.set(hex(txid), { node: p.node, setKey, dest: destText, sentAt: this.#clock.now() });
    const sent = this.#opts.transport.send(dest.ip, dest.port, stunRequest(txid));
    this.stats.stunSent++;
    if (sent) {
      if (p.family === 4) rs.report.ipv4CanSend = true;
      else rs.report.ipv6CanSend = true;
    }
    this.#opts.log?.debug(`STUN request to ${destText} (region ${p.node.RegionID})`);
  }

  #closeSet(rs: RunState, setKey: string): void {
    rs.openSets.delete(setKey);
    if (rs.openSets.size === 0) this.#finishStun(rs);
  }

  #finishStun(rs: RunState): void {
    if (rs.stunFinished) return;
    rs.stunFinished = true;
    rs.stunDone();
  }

  #addNodeLatency(rs: RunState, node: DerpNode, mapped: string, latencyMs: number): void {
    const r = rs.report;
    r.udp = true;
    updateLatency(r.regionLatencyMs, node.RegionID, latencyMs);
    if (r.regionLatencyMs.size === ENOUGH_REGIONS) {
      // Enough regions: give the rest twice the slowest one's time (a full report's rule).
      let slowest = 0;
      for (const ms of r.regionLatencyMs.values()) slowest = Math.max(slowest, ms);
      rs.timers.push(this.#clock.setTimeout(() => this.#finishStun(rs), slowest * 2));
    }
    if (mapped.startsWith("[")) {
      updateLatency(r.regionV6LatencyMs, node.RegionID, latencyMs);
      r.ipv6 = true;
      r.globalV6 = mapped;
      r.globalV6Counters ??= new Map();
      r.globalV6Counters.set(mapped, (r.globalV6Counters.get(mapped) ?? 0) + 1);
    } else {
      updateLatency(r.regionV4LatencyMs, node.RegionID, latencyMs);
      r.ipv4 = true;
      r.globalV4Counters ??= new Map();
      r.globalV4Counters.set(mapped, (r.globalV4Counters.get(mapped) ?? 0) + 1);
      if (rs.firstV4 === "") {
        rs.firstV4 = mapped;
        r.globalV4 = mapped;
      } else if (rs.firstV4 !== mapped) {
        r.mappingVariesByDestIp = "true";
      } else if (r.mappingVariesByDestIp === "") {
        r.mappingVariesByDestIp = "false";
      }
    }
  }

  async #measureHttps(rs: RunState, derpMap: DerpMap, signal?: AbortSignal): Promise<void> {
    const probe = this.#opts.httpsLatency as HttpsLatencyProbe;
    const need = Object.values(derpMap.Regions).filter((reg) =>
      reg !== null && !rs.report.regionLatencyMs.has(reg.RegionID) &&
      (reg.Nodes ?? []).some((n) => !n.STUNOnly) && !reg.Avoid && !reg.NoMeasureNoHome
    );
    if (need.length === 0) return;
    this.#opts.log?.info("UDP is blocked, trying HTTPS");
    const left = Math.max(0, REPORT_TIMEOUT_MS - (this.#clock.now() - rs.startedAt));
    const deadline = new AbortController();
    const timer = this.#clock.setTimeout(() => deadline.abort(), left);
    const budget = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
    try {
      await Promise.all(need.map(async (reg) => {
        try {
          const { latencyMs, family } = await probe(reg, budget);
          if (budget.aborted) return;
          updateLatency(rs.report.regionLatencyMs, reg.RegionID, latencyMs);
          if (family === 4) rs.report.ipv4 = true;
          else rs.report.ipv6 = true;
        } catch (err) {
          this.#opts.log?.debug(
            `HTTPS latency of ${reg.RegionCode} (${reg.RegionID}): ${
              err instanceof Error ? err.message : String(err)
            }`,
          );
        }
      }));
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  #finish(rs: RunState, derpMap: DerpMap): NetcheckReport {
    const r = rs.report;
    r.nowWallMs = this.#clock.wallNow();
    r.preferredDerp = this.#history.add(r.regionLatencyMs, {
      now: this.#clock.now(),
      startedAt: rs.startedAt,
      derpMap,
      lastDerpActivity: this.#opts.lastDerpActivity,
    });
    this.#last = r;
    this.#opts.log?.info(conciseReport(r));
    return r;
  }
}

/**
 * The probes of a full report: per region and family, three tries 100 ms apart cycling
 * through its nodes (Go's `makeProbePlanInitial`). A family with no usable interface address
 * probes only test nodes (Go's `IsTestNode`: a STUNTestIP, or IPv4 127.0.0.1).
 * @param map the DERP map
 * @param ipv6 whether the transport can send over IPv6
 * @param families which families have a usable interface address
 * @returns probe sets by key (`region-<id>-v4`)
 */
export function probePlan(
  map: DerpMap,
  ipv6: boolean,
  families: InterfaceFamilies = { haveV4: true, haveV6: true },
): Map<string, Probe[]> {
  const plan = new Map<string, Probe[]>();
  const regions = Object.values(map.Regions ?? {}).filter((r) => r !== null)
    .sort((a, b) => a.RegionID - b.RegionID);
  for (const reg of regions) {
    const nodes = reg.Nodes ?? [];
    if (reg.NoMeasureNoHome || nodes.length === 0) continue;
    const p4: Probe[] = [];
    const p6: Probe[] = [];
    for (let t = 0; t < PROBE_TRIES; t++) {
      const node = nodes[t % nodes.length];
      const delayMs = t * INITIAL_RETRANSMIT_MS;
      const test = isTestNode(node);
      if ((families.haveV4 || test) && stunAddress(node, 4) !== null) {
        p4.push({ node, family: 4, delayMs });
      }
      if (ipv6 && (families.haveV6 || test) && stunAddress(node, 6) !== null) {
        p6.push({ node, family: 6, delayMs });
      }
    }
    if (p4.length > 0) plan.set(`region-${reg.RegionID}-v4`, p4);
    if (p6.length > 0) plan.set(`region-${reg.RegionID}-v6`, p6);
  }
  return plan;
}

/**
 * Where to send a node's STUN request over a family (Go's `nodeAddrPort`, without DNS):
 * `STUNTestIP` when set, else the node's `IPv4`/`IPv6`, else `HostName` when it is an IP literal.
 * @param node the DERP node
 * @param family 4 or 6
 * @returns the address and port, or null (STUN off, no address of that family)
 */
export function stunAddress(
  node: DerpNode,
  family: 4 | 6,
): { ip: Uint8Array; port: number } | null {
  const stunPort = node.STUNPort ?? 0;
  if (stunPort < 0 || stunPort > 65535) return null;
  const port = stunPort === 0 ? DEFAULT_STUN_PORT : stunPort;
  const want = family === 4 ? 4 : 16;
  const forced = family === 4 ? node.IPv4 ?? "" : node.IPv6 ?? "";
  const candidates = node.STUNTestIP
    ? [node.STUNTestIP]
    : forced === "none"
    ? []
    : forced !== ""
    ? [forced]
    : [node.HostName];
  for (const text of candidates) {
    let ip: Uint8Array;
    try {
      ip = parseIpAddr(text);
    } catch {
      continue;
    }
    if (ip.length === want) return { ip, port };
  }
  return null;
}

/** Go's `DERPNode.IsTestNode`: probed even without a usable interface address. */
function isTestNode(n: DerpNode): boolean {
  return (n.STUNTestIP ?? "") !== "" || n.IPv4 === "127.0.0.1";
}

/** Go's `probeWouldHelp`: a new region, the first IPv6 answer, or a second IPv4 mapping. */
function probeWouldHelp(r: NetcheckReport, p: Probe): boolean {
  if (!r.regionLatencyMs.has(p.node.RegionID)) return true;
  if (p.family === 6 && r.regionV6LatencyMs.size === 0) return true;
  if (p.family === 4 && r.mappingVariesByDestIp === "") return true;
  return false;
}

function updateLatency(m: Map<number, number>, regionId: number, ms: number): void {
  const prev = m.get(regionId);
  if (prev === undefined || ms < prev) m.set(regionId, ms);
}

/**
 * `ip:port`, or `[ip]:port` for IPv6, as Go's netip.AddrPort prints it.
 * @param ip 4 or 16 bytes
 * @param port the port
 * @returns the text
 */
export function addrPortText(ip: Uint8Array, port: number): string {
  return ip.length === 16 ? `[${formatIpAddr(ip)}]:${port}` : `${formatIpAddr(ip)}:${port}`;
}

/** One log line per report, as tailscaled's `logConciseReport`. */
function conciseReport(r: NetcheckReport): string {
  const parts = [`udp=${r.udp}`];
  if (r.mappingVariesByDestIp !== "") parts.push(`mapvarydest=${r.mappingVariesByDestIp}`);
  parts.push(`v4=${r.ipv4}`);
  if (r.globalV4 !== "") parts.push(`v4a=${r.globalV4}`);
  parts.push(`v6=${r.ipv6}`);
  if (r.globalV6 !== "") parts.push(`v6a=${r.globalV6}`);
  parts.push(`derp=${r.preferredDerp}`);
  const lat = [...r.regionLatencyMs].sort((a, b) => a[0] - b[0])
    .map(([id, ms]) => `${id}:${Math.round(ms)}ms`);
  if (lat.length > 0) parts.push(`derpdist=${lat.join(",")}`);
  return `report: ${parts.join(" ")}`;
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
