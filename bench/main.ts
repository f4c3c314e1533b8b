// deno-lint-ignore-file no-console -- a benchmark prints its figures
/**
 * `deno task bench`: tailnet beside real tailscaled, one run, one table (issue 16).
 *
 * The lab's topology twice, both userspace-networking, against the same real peer: tailnet <->
 * real tailscaled and real tailscaled <-> real tailscaled, each on the path it finds by itself
 * (the headline), then all held on DERP (`TS_DEBUG_NEVER_DIRECT_UDP=1` on every node, a
 * labelled second row). For each pair: bulk TCP both ways through the SOCKS5 proxies (100 MiB,
 * `--quick` 10 MiB) with the path each end used, 64-byte round trips on one connection
 * (p50/p99/p99.9) and short connections per second through the proxy to an echo server on the
 * peer's side, CPU-seconds per GiB and RSS idle and under load of each daemon, time from `up` to
 * Running and to the first packet answered. Then headscale with 1,000 and 10,000 registered
 * nodes (`--quick`: 1,000 only): each daemon's time to Running, RSS with that netmap, one peer
 * change. And the floor, measured in the same run: seals/s and datagrams/s one Deno thread does
 * here, bare Deno's idle RSS, and our direct-path packets/s as a share of that floor.
 *
 * Every figure is printed for both systems with the ratio tailnet / tailscaled and the mark the
 * issue holds it to. Nothing is asserted: the exit code is 0 when the run completed, 1 with one
 * line when the lab cannot start or a step fails, 2 for a bad flag.
 *
 * Our daemon runs as shipped: the minified bundle of main.ts the release binaries are built
 * from (`--sources`: `deno run main.ts`).
 *
 * Run: `deno task bench [--quick] [--json] [--sources]` (BENCH_MIB overrides the transfer size).
 * @module
 */
import { Lab, labAvailable, type LabOptions } from "../tests/lab/mod.ts";
import type { LabNode } from "../tests/lab/tailscaled.ts";
import { PortClaims } from "../tests/lab/ports.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { TAILSCALE_RELEASES } from "../tests/lab/versions.ts";
import { datagramsPerSecond, IDLE_SCRIPT, memoryOfScript, sealsPerSecond } from "./_floor.ts";
import { timeJoin, upOurs, upReal } from "./_join.ts";
import { describeMachine, loadAverage } from "./_machine.ts";
import { bulkBothWays, type BulkFigures, latencyAndConnections, type PairEnd } from "./_pair.ts";
import { startEchoServer } from "./_probe.ts";
import { memoryOf } from "./_proc.ts";
import { measureScale, type ScaleRun } from "./_scale.ts";
import { buildShippedBundle, runLabFrom } from "./_shipped.ts";
import { formatReport, type Report, reportJson, type Row } from "./_table.ts";

if (!import.meta.main) throw new Error("bench/main.ts is a program, not a module");

const RELEASE = TAILSCALE_RELEASES[0].version;
const KNOWN_FLAGS = new Set(["--quick", "--json", "--sources"]);
const bad = Deno.args.find((a) => !KNOWN_FLAGS.has(a));
if (bad !== undefined) {
  console.error(`bench: unknown flag ${bad} (flags: --quick, --json, --sources)`);
  Deno.exit(2);
}
const QUICK = Deno.args.includes("--quick");
const JSON_OUT = Deno.args.includes("--json");
/** Run our daemon from main.ts's module graph rather than the shipped bundle. */
const SOURCES = Deno.args.includes("--sources");

/** Sizes of one run. */
const SIZES = QUICK
  ? { mib: 10, roundTrips: 500, connections: 100, idleS: 2, scale: [1000], settleMs: 2000 }
  : {
    mib: 100,
    roundTrips: 5000,
    connections: 1000,
    idleS: 10,
    scale: [1000, 10000],
    settleMs: 5000,
  };
const MIB = Number(Deno.env.get("BENCH_MIB") ?? SIZES.mib);
/** TCP payload of one tunnel packet at Tailscale's 1280-byte MTU (IPv4, no options). */
const TUNNEL_PAYLOAD_BYTES = 1240;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = performance.now();
const say = (line: string) =>
  console.error(
    `bench: ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s  ${line}`,
  );

/** A lab failing to start is the one failure named as such. */
class LabStartError extends Error {}

async function startLab(opts: LabOptions): Promise<Lab> {
  try {
    return await Lab.start({ tailscaleVersion: RELEASE, ...opts });
  } catch (err) {
    throw new LabStartError(err instanceof Error ? err.message : String(err));
  }
}

function v4Of(ips: string[]): string {
  const ip = ips.find((i) => i.includes("."));
  if (ip === undefined) throw new Error(`no IPv4 among ${ips.join(" ")}`);
  return ip;
}

async function ourIp(daemon: TailnetDaemon): Promise<string> {
  return v4Of((await daemon.cli(["ip"])).stdout.trim().split("\n"));
}

function realEnd(node: LabNode, ip: string): PairEnd {
  return { node, socks5: node.socks5Addr, ip, pid: node.process!.pid };
}

/** Figures of one daemon on the direct (self-found) path. */
interface DirectFigures {
  runningMs: number;
  firstPacketMs: number;
  idleMiB: number;
  bulk: BulkFigures;
  p50: number;
  p99: number;
  p999: number;
  connsPerS: number;
  peakMiB: number;
}

/** The headline: both pairs on the path each finds, against the same real peer. */
async function measureDirect(): Promise<{ real: DirectFigures; ours: DirectFigures }> {
  await using lab = await startLab({ tailscaleds: 1 });
  const peer = lab.nodes[0];
  const peerEnd = realEnd(peer, v4Of(await peer.ips()));
  using echo = startEchoServer();
  const ports = new PortClaims(`bench-${Deno.pid}`);
  await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };
  const at = (proxy: string) => ({ proxy, host: peerEnd.ip, port: echo.port });

  say("direct: joining a real tailscaled, then ours");
  const real = await lab.addTailscaled({ authKey: "" });
  const realJoin = await timeJoin(() => upReal(lab, real), at(real.socks5Addr));
  const socks5 = `127.0.0.1:${await ports.claim()}`;
  await using ours = await TailnetDaemon.create({ args: ["--socks5-server", socks5] });
  const ourJoin = await timeJoin(() => upOurs(lab, ours, "tn-bench"), at(socks5));
  await sleep(SIZES.idleS * 1000);
  const realIdle = memoryOf(real.process!.pid).total;
  const ourIdle = memoryOf(ours.pid!).total;

  const realSubject = realEnd(real, v4Of(await real.ips()));
  const ourSubject: PairEnd = { node: ours, socks5, ip: await ourIp(ours), pid: ours.pid! };
  // Disco pings let each pair settle on its path before anything is timed.
  await real.cli(["ping", "-c", "10", peerEnd.ip]);
  await ours.cli(["ping", "-c", "10", peerEnd.ip]);

  const measure = async (s: PairEnd, join: typeof realJoin, idleMiB: number, name: string) => {
    say(`direct: ${name}, ${MIB} MiB each way`);
    const bulk = await bulkBothWays(s, peerEnd, MIB << 20);
    say(`direct: ${name}, ${SIZES.roundTrips} round trips, ${SIZES.connections} connections`);
    const lat = await latencyAndConnections(s, at(s.socks5), SIZES.roundTrips, SIZES.connections);
    return { ...join, idleMiB, bulk, ...lat, peakMiB: Math.max(bulk.peakMiB, lat.peakMiB) };
  };
  return {
    real: await measure(realSubject, realJoin, realIdle, "real <-> real"),
    ours: await measure(ourSubject, ourJoin, ourIdle, "tailnet <-> real"),
  };
}

/** The second row: both pairs held on DERP. */
async function measureDerp(): Promise<{ real: BulkFigures; ours: BulkFigures }> {
  const env = { TS_DEBUG_NEVER_DIRECT_UDP: "1" };
  await using lab = await startLab({ tailscaleds: 2, nodeEnv: env });
  await lab.waitForPeers();
  const [peer, real] = lab.nodes;
  const ports = new PortClaims(`bench-derp-${Deno.pid}`);
  await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };
  const socks5 = `127.0.0.1:${await ports.claim()}`;
  await using ours = await TailnetDaemon.create({ args: ["--socks5-server", socks5], env });
  const { v4 } = await ours.up(lab.controlUrl, lab.authKey, "tn-bench-derp");
  await sleep(2000); // let the real nodes learn our home DERP
  const peerEnd = realEnd(peer, v4Of(await peer.ips()));
  say(`DERP: real <-> real, ${MIB} MiB each way`);
  const realBulk = await bulkBothWays(realEnd(real, v4Of(await real.ips())), peerEnd, MIB << 20);
  say(`DERP: tailnet <-> real, ${MIB} MiB each way`);
  const ourBulk = await bulkBothWays(
    { node: ours, socks5, ip: v4, pid: ours.pid! },
    peerEnd,
    MIB << 20,
  );
  return { real: realBulk, ours: ourBulk };
}

/** How long one control-plane size may take, fill included, before it is reported unfinished. */
const SCALE_BUDGET_S = 300;

/** Figures of a size that did not finish in time. */
const UNFINISHED = {
  runningMs: NaN,
  allPeersMs: NaN,
  joinCpuS: NaN,
  rss: NaN,
  statusMs: NaN,
  changeMs: NaN,
};

/**
 * One control-plane size in a lab of its own, given {@linkcode SCALE_BUDGET_S}: past it the lab
 * is closed under the measurement (which then fails, unheard) and the size is reported as not
 * finished, so the run stays bounded whatever headscale does.
 */
async function measureScaleLab(nodes: number): Promise<{ run: ScaleRun; unfinished: boolean }> {
  await using lab = await startLab({ tailscaleds: 0 });
  await using ours = await TailnetDaemon.create();
  const measured = measureScale(lab, ours, nodes, SIZES.settleMs, say);
  measured.catch(() => {}); // after the budget, the lab is closed under it
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((r) => timer = setTimeout(() => r(null), SCALE_BUDGET_S * 1000));
  try {
    const run = await Promise.race([measured, late]);
    if (run !== null) return { run, unfinished: false };
    say(`scale ${nodes}: not finished within ${SCALE_BUDGET_S} s, stopped`);
    return {
      run: { nodes, headscaleLoadMs: NaN, real: UNFINISHED, ours: UNFINISHED },
      unfinished: true,
    };
  } finally {
    clearTimeout(timer);
  }
}

function rowsOf(
  direct: { real: DirectFigures; ours: DirectFigures },
  derp: { real: BulkFigures; ours: BulkFigures },
  scale: ScaleRun[],
  floor: { seals: number; nodeSeals: number; sent: number; received: number; bareMiB: number },
): Row[] {
  const { real: r, ours: o } = direct;
  const bulk = `bulk TCP, ${MIB} MiB through SOCKS5, path found by itself`;
  const derpS = `bulk TCP, ${MIB} MiB, all held on DERP (second row)`;
  const lat = "latency through SOCKS5 to an echo on the peer's side";
  const res = "CPU and memory of each daemon";
  const join = "joining";
  const rows: Row[] = [
    row(bulk, "us -> peer", "MiB/s", o.bulk.outMiBs, r.bulk.outMiBs, "higher", 0.8),
    row(bulk, "peer -> us", "MiB/s", o.bulk.backMiBs, r.bulk.backMiBs, "higher", 0.8),
    row(derpS, "us -> peer", "MiB/s", derp.ours.outMiBs, derp.real.outMiBs, "higher", 1.0),
    row(derpS, "peer -> us", "MiB/s", derp.ours.backMiBs, derp.real.backMiBs, "higher", 1.0),
    row(lat, "64 B round trip p50", "µs", o.p50, r.p50, "lower", 1.2),
    row(lat, "64 B round trip p99", "µs", o.p99, r.p99, "lower", 1.5),
    row(lat, "64 B round trip p99.9", "µs", o.p999, r.p999, "lower"),
    row(lat, `short connections (${SIZES.connections})`, "/s", o.connsPerS, r.connsPerS, "higher"),
    row(
      res,
      "CPU per GiB moved (direct)",
      "s/GiB",
      o.bulk.cpuSPerGiB,
      r.bulk.cpuSPerGiB,
      "lower",
      1.5,
    ),
    row(
      res,
      "CPU per GiB moved (DERP)",
      "s/GiB",
      derp.ours.cpuSPerGiB,
      derp.real.cpuSPerGiB,
      "lower",
    ),
    row(res, `RSS idle ${SIZES.idleS} s after up`, "MiB", o.idleMiB, r.idleMiB, "lower", 1.0),
    row(res, "RSS peak under load (sampled VmRSS)", "MiB", o.peakMiB, r.peakMiB, "lower", 1.5),
    row(join, "time from up to Running", "ms", o.runningMs, r.runningMs, "lower", 1.0),
    row(
      join,
      "time from up to first packet answered",
      "ms",
      o.firstPacketMs,
      r.firstPacketMs,
      "lower",
    ),
  ];
  for (const s of scale) {
    const sec = `control plane, headscale with ${s.nodes.toLocaleString("en-US")} more nodes`;
    const mark = s.nodes >= 10000 ? 1.0 : undefined;
    rows.push(
      row(
        sec,
        "time from up (registered) to Running",
        "ms",
        s.ours.runningMs,
        s.real.runningMs,
        "lower",
        mark,
      ),
      row(
        sec,
        "time until status lists all peers",
        "ms",
        s.ours.allPeersMs,
        s.real.allPeersMs,
        "lower",
      ),
      row(
        sec,
        "daemon CPU from up until all peers",
        "s",
        s.ours.joinCpuS,
        s.real.joinCpuS,
        "lower",
      ),
      row(sec, "RSS with that netmap", "MiB", s.ours.rss, s.real.rss, "lower", mark),
      row(
        sec,
        "one peer renamed: until whois names it anew",
        "ms",
        s.ours.changeMs,
        s.real.changeMs,
        "lower",
      ),
    );
  }
  // The floor: one Deno thread's per-packet costs here. Sending a packet costs a seal and a
  // send, receiving one a receive and an open (about a seal), one after the other on one thread.
  const sendFloor = 1 / (1 / floor.seals + 1 / floor.sent);
  const recvFloor = 1 / (1 / floor.seals + 1 / floor.received);
  const fl = "the floor: one Deno thread on this machine, same run";
  rows.push(
    row(fl, "ChaCha20-Poly1305 seals of 1420 B (WebAssembly)", "/s", floor.seals, NaN, "higher"),
    row(fl, "  the same through node:crypto (not used)", "/s", floor.nodeSeals, NaN, "higher"),
    row(fl, "datagrams sent (Deno.listenDatagram)", "/s", floor.sent, NaN, "higher"),
    row(fl, "datagrams received, reader in the same process", "/s", floor.received, NaN, "higher"),
    row(fl, "seal + send, one after the other", "/s", sendFloor, NaN, "higher"),
    row(fl, "bare Deno idle RSS", "MiB", floor.bareMiB, NaN, "lower"),
    shareRow("us -> peer (seal + send)", o.bulk.outMiBs, r.bulk.outMiBs, sendFloor),
    shareRow("peer -> us (receive + open)", o.bulk.backMiBs, r.bulk.backMiBs, recvFloor),
  );
  return rows;
}

/** Packets/s on the direct path (MiB/s over the TCP payload a packet) as a % of a floor. */
function shareRow(figure: string, ours: number, real: number, floorPps: number): Row {
  const pct = (mibs: number) => (100 * mibs * (1 << 20)) / TUNNEL_PAYLOAD_BYTES / floorPps;
  return {
    ...row(
      "packets/s on the direct path as a share of that floor",
      figure,
      "%",
      pct(ours),
      pct(real),
      "higher",
    ),
    heldTo: { of: "tailnet", op: ">=", bound: 80 },
  };
}

function row(
  section: string,
  figure: string,
  unit: string,
  tailnet: number,
  tailscaled: number,
  better: Row["better"],
  bound?: number,
): Row {
  return {
    section,
    figure,
    unit,
    tailnet,
    tailscaled,
    better,
    heldTo: bound === undefined
      ? undefined
      : { of: "ratio", op: better === "higher" ? ">=" : "<=", bound },
  };
}

async function run(): Promise<void> {
  const avail = labAvailable(RELEASE);
  if (!avail.ok) throw new LabStartError(avail.reason);
  const t0 = performance.now();
  const loadStart = loadAverage();
  const machine = await describeMachine(RELEASE);
  await using shipped = SOURCES ? null : await buildShippedBundle();
  if (shipped !== null) await runLabFrom(shipped);
  say("floor: seals, datagrams, bare Deno");
  const floorSeals = sealsPerSecond("wasm", 1000);
  const floorNodeSeals = sealsPerSecond("node:crypto", 500);
  const floorDgrams = await datagramsPerSecond(1000);
  const bare = await memoryOfScript(IDLE_SCRIPT, 3000);
  const direct = await measureDirect();
  const derp = await measureDerp();
  const scale: ScaleRun[] = [];
  const unfinished: number[] = [];
  for (const n of SIZES.scale) {
    const m = await measureScaleLab(n);
    scale.push(m.run);
    if (m.unfinished) unfinished.push(n);
  }
  const rows = rowsOf(direct, derp, scale, {
    seals: floorSeals,
    nodeSeals: floorNodeSeals,
    sent: floorDgrams.sent,
    received: floorDgrams.received,
    bareMiB: bare.total,
  });
  const report: Report = {
    machine,
    loadStart,
    loadEnd: loadAverage(),
    quick: QUICK,
    seconds: (performance.now() - t0) / 1000,
    rows,
    paths: {
      "real -> peer, found": direct.real.bulk.outPath,
      "peer -> real, found": direct.real.bulk.backPath,
      "tailnet -> peer, found": direct.ours.bulk.outPath,
      "peer -> tailnet, found": direct.ours.bulk.backPath,
      "real -> peer, DERP held": derp.real.outPath,
      "peer -> real, DERP held": derp.real.backPath,
      "tailnet -> peer, DERP held": derp.ours.outPath,
      "peer -> tailnet, DERP held": derp.ours.backPath,
    },
    notes: [
      'ratio = tailnet / tailscaled; "held to" is issue 16\'s mark; nothing is asserted.',
      "Both pairs run against the same real peer, one after the other (real <-> real first).",
      SOURCES
        ? "tailnet ran from its sources (deno run main.ts, --sources), not the shipped form."
        : "tailnet ran as shipped: the one minified bundle of main.ts the release binaries " +
          "are compiled from, under deno run with the daemon's flags (--sources: main.ts).",
      `CPU per GiB: the daemon's utime+stime (/proc/PID/stat) over both transfers / GiB moved.`,
      "Control plane: both daemons come up at once (headscale's time dominates among 10,000 " +
      "nodes and it answers one first); the daemon CPU row is each one's own work.",
      `Share of the floor: MiB/s over ${TUNNEL_PAYLOAD_BYTES} B of TCP payload a packet ` +
      "(MTU 1280), over the one-thread floor; tailscaled's share is for comparison (Go uses " +
      "every core and batches).",
      ...scale.filter((s) => !unfinished.includes(s.nodes)).map((s) =>
        `headscale took ${(s.headscaleLoadMs / 1000).toFixed(1)} s to load ${s.nodes} nodes.`
      ),
      ...unfinished.map((n) =>
        `headscale with ${n} nodes: not finished within ${SCALE_BUDGET_S} s ("-" above); ` +
        "here headscale's first map answer among 10,000 nodes can outlast tailscaled's 120 s " +
        "long-poll. `deno task bench:scale --nodes " + n + "` runs that size without a limit."
      ),
      ...(QUICK
        ? [
          "--quick: 10 MiB transfers, 500 round trips, 100 connections, and " +
          "control-plane scale at 1,000 nodes only (10,000 in the full run).",
        ]
        : []),
    ],
  };
  console.log(JSON_OUT ? reportJson(report) : formatReport(report));
}

try {
  await run();
} catch (err) {
  const msg = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  console.error(
    err instanceof LabStartError ? `bench: the lab cannot start: ${msg}` : `bench: ${msg}`,
  );
  Deno.exit(1);
}
