/**
 * One pair of nodes measured through the tunnel between them: bulk TCP both ways through each
 * node's SOCKS5 proxy, with the sending daemon's CPU time and resident peak around it, the path
 * each end used, request/response latency and short connections per second. `main.ts` runs it
 * for tailnet <-> real tailscaled and real tailscaled <-> real tailscaled against the same peer.
 * @module
 */
import { assertTransferWhole, socks5Transfer } from "../tests/lab/transfer.ts";
import { keyOf, pathTo, type StatusNode } from "./_paths.ts";
import { type ProbeTarget, quantile, roundTripsUs, shortConnectionsPerSecond } from "./_probe.ts";
import { cpuSeconds, RssSampler } from "./_proc.ts";

/** One end of a pair. */
export interface PairEnd {
  /** Its status (for the path it uses). */
  node: StatusNode;
  /** Its SOCKS5 proxy, "127.0.0.1:port". */
  socks5: string;
  /** Its tailnet IPv4. */
  ip: string;
  /** Its process id. */
  pid: number;
}

/** Bulk TCP both ways between `subject` and `peer`. */
export interface BulkFigures {
  /** subject -> peer, MiB/s. */
  outMiBs: number;
  /** peer -> subject, MiB/s. */
  backMiBs: number;
  /** The subject's CPU seconds over both transfers, per GiB moved. */
  cpuSPerGiB: number;
  /** The subject's highest VmRSS during the transfers, MiB. */
  peakMiB: number;
  /** "subject's path / peer's path" after each transfer. */
  outPath: string;
  backPath: string;
}

const GIB = 1 << 30;

/**
 * Moves `bytes` from the subject to the peer (through the subject's proxy) and back (through
 * the peer's), each checked whole; reads the paths both ends used after each.
 * @param subject the daemon measured
 * @param peer the other end
 * @param bytes bytes each way
 * @returns rates, CPU per GiB, peak RSS and paths
 */
export async function bulkBothWays(
  subject: PairEnd,
  peer: PairEnd,
  bytes: number,
): Promise<BulkFigures> {
  const [subjectKey, peerKey] = [await keyOf(subject.node), await keyOf(peer.node)];
  const paths = async () =>
    `${await pathTo(subject.node, peerKey)} / ${await pathTo(peer.node, subjectKey)}`;
  const sampler = new RssSampler(subject.pid);
  const cpu0 = cpuSeconds(subject.pid);
  const out = await socks5Transfer(subject.socks5, peer.ip, bytes);
  const cpu1 = cpuSeconds(subject.pid);
  assertTransferWhole(out, "bulk out");
  const outPath = await paths();
  const cpu2 = cpuSeconds(subject.pid);
  const back = await socks5Transfer(peer.socks5, subject.ip, bytes);
  const cpu3 = cpuSeconds(subject.pid);
  assertTransferWhole(back, "bulk back");
  const peakMiB = sampler.stop();
  const backPath = await paths();
  const mibs = (ms: number) => bytes / (1 << 20) / (ms / 1000);
  return {
    outMiBs: mibs(out.ms),
    backMiBs: mibs(back.ms),
    cpuSPerGiB: (cpu1 - cpu0 + cpu3 - cpu2) / ((2 * bytes) / GIB),
    peakMiB,
    outPath,
    backPath,
  };
}

/** Latency and connection rate from the subject through the tunnel to the peer's side. */
export interface LatencyFigures {
  /** 64-byte round trips on one connection, microseconds. */
  p50: number;
  p99: number;
  p999: number;
  /** Short connections (open, 64-byte request and echo, close) per second. */
  connsPerS: number;
  /** The subject's highest VmRSS meanwhile, MiB. */
  peakMiB: number;
}

/**
 * Round trips and short connections through the subject's proxy to an echo server reached at
 * the peer's address.
 * @param subject the daemon measured
 * @param target its proxy, the peer's IP and the echo port
 * @param roundTrips how many round trips
 * @param connections how many short connections
 * @returns quantiles, connections per second, peak RSS
 */
export async function latencyAndConnections(
  subject: PairEnd,
  target: ProbeTarget,
  roundTrips: number,
  connections: number,
): Promise<LatencyFigures> {
  const sampler = new RssSampler(subject.pid);
  await roundTripsUs(target, Math.min(200, roundTrips)); // warm up: paths, JIT, buffers
  const us = await roundTripsUs(target, roundTrips);
  const connsPerS = await shortConnectionsPerSecond(target, connections);
  return {
    p50: quantile(us, 0.5),
    p99: quantile(us, 0.99),
    p999: quantile(us, 0.999),
    connsPerS,
    peakMiB: sampler.stop(),
  };
}
