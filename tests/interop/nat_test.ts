/**
 * Issue 13, NAT lab: which path two nodes end on behind real NATs (nftables routers in network
 * namespaces, see `tests/lab/nat_lab.ts`), for every topology of the issue, run twice in the
 * same test: two real tailscaled, then our daemon with a real tailscaled (ours on either side of
 * the asymmetric topologies). The outcome (direct or relayed, seen from both sides) must be the
 * same as the real pair's; behind the same NAT the direct path uses the private addresses; with
 * UDP blocked the pair is relayed and a transfer through the proxies still arrives whole. Times
 * to direct are printed, never asserted. The outcome table goes to stderr as `[nat] …`.
 *
 * The path-fault test: on a topology that goes direct, a 50 MiB transfer through the proxies
 * while UDP between the two routers is dropped (nft): it moves to DERP and arrives whole; once
 * the rule is gone the pair is direct again within 15 s; derper killed while direct: a second
 * transfer does not notice.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import { Lab, labAvailable, type LabNode, sleep, waitFor } from "../lab/mod.ts";
import { TAILSCALE_RELEASES } from "../lab/versions.ts";
import { TailnetDaemon } from "../lab/tailnet_daemon.ts";
import { spawnTailnet } from "../lab/tailnet_process.ts";
import { CONE_PORT, type NatHost, type NatKind, NatLab } from "../lab/nat_lab.ts";
import { assertTransferWhole, socks5ConnectUnix, transferVia } from "../lab/transfer.ts";
import { closedPort as freePort } from "../../src/engine/proxy/testing/loopback.ts";

const MIB = 1 << 20;
/** How long a pair gets from its first ping until its path is read. */
const SETTLE_MS = 30_000;
const ADDR_PORT = String.raw`\d+\.\d+\.\d+\.\d+:\d+`;

function report(line: string): void {
  // deno-lint-ignore no-console -- the outcome table is the point of this test's output
  console.error(`[nat] ${line}`);
}

/** One topology of the issue: router A's and router B's NAT, or both nodes behind one router. */
interface Topology {
  name: string;
  a: NatKind;
  /** B's router; absent: B sits behind A's router (same NAT, LAN peers). */
  b?: NatKind;
  /** Run ours on B too (asymmetric topologies). */
  asymmetric: boolean;
}

const TOPOLOGIES: Topology[] = [
  { name: "easy: masquerade <-> masquerade", a: "masquerade", b: "masquerade", asymmetric: false },
  { name: "cone <-> masquerade", a: "cone", b: "masquerade", asymmetric: true },
  { name: "cone <-> masquerade random", a: "cone", b: "masquerade-random", asymmetric: true },
  {
    name: "hard: masquerade random <-> masquerade random",
    a: "masquerade-random",
    b: "masquerade-random",
    asymmetric: false,
  },
  { name: "same NAT (LAN peers)", a: "masquerade", asymmetric: false },
  { name: "UDP blocked <-> masquerade", a: "udp-blocked", b: "masquerade", asymmetric: true },
];

/** A node of either kind, as the test drives it. */
interface PairNode {
  kind: "tailscaled" | "tailnet";
  host: NatHost;
  ip4: string;
  socksPort: number;
  /** The peer's direct address as this node's status shows it ("" when relayed). */
  curAddr(peerIp: string): Promise<string>;
  /** `ping -c N` the peer until direct; the CLI's lines, each with when it came, and exit code. */
  ping(peerIp: string, count: number): Promise<TimedRun>;
  /** Waits until this node sees `peerIp` online with a home DERP region. */
  waitForPeer(peerIp: string): Promise<unknown>;
  stop(): Promise<void>;
  /** Our daemon's datagram counters per path (tailnet only). */
  pathStats?: () => Promise<PathStats>;
}

/** `TailnetEngine.path` in our `status --json`: datagrams per path. */
interface PathStats {
  sentUdp: number;
  sentDerp: number;
  receivedUdp: number;
  receivedDerp: number;
}

/** A CLI run whose output lines carry the time they arrived (performance.now() ms). */
interface TimedRun {
  code: number;
  lines: Array<{ at: number; text: string }>;
}

/** Runs a spawned CLI to its end, timing each stdout line; killed after two minutes. */
async function timedRun(child: Deno.ChildProcess): Promise<TimedRun> {
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited.
    }
  }, 120_000);
  const lines: TimedRun["lines"] = [];
  let partial = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    const at = performance.now();
    const parts = (partial + dec.decode(chunk, { stream: true })).split("\n");
    partial = parts.pop() ?? "";
    for (const text of parts) lines.push({ at, text });
  }
  if (partial !== "") lines.push({ at: performance.now(), text: partial });
  const { code } = await child.status;
  clearTimeout(timer);
  return { code, lines };
}

function pingArgs(peerIp: string, count: number): string[] {
  return ["ping", "-c", String(count), "--timeout", "2s", peerIp];
}

let nodeCount = 0;

async function startTailscaled(lab: Lab, host: NatHost): Promise<PairNode> {
  const node: LabNode = await lab.addTailscaled({
    netns: host.netns,
    port: CONE_PORT,
    name: `ts${++nodeCount}`,
  });
  const ip4 = (await node.ips()).find((i) => i.includes("."))!;
  const peerOf = async (ip: string) =>
    Object.values((await node.status()).Peer ?? {}).find((p) => p.TailscaleIPs?.includes(ip));
  return {
    kind: "tailscaled",
    host,
    ip4,
    socksPort: Number(node.socks5Addr.split(":")[1]),
    curAddr: async (ip) => (await peerOf(ip))?.CurAddr ?? "",
    ping: (ip, count) => timedRun(node.cliCommand(pingArgs(ip, count)).spawn()),
    waitForPeer: (ip) =>
      waitFor(`${node.name} to see ${ip}`, async () => {
        const p = await peerOf(ip);
        return p !== undefined && p.Online && p.Relay !== "";
      }, { timeoutMs: 60_000, details: () => lab.logs() }),
    stop: () => node.stop(),
  };
}

async function startTailnet(lab: Lab, host: NatHost): Promise<PairNode> {
  const socksPort = freePort();
  const tn = await TailnetDaemon.create({
    netns: host.netns,
    args: [`--port=${CONE_PORT}`, `--socks5-server=127.0.0.1:${socksPort}`],
  });
  try {
    const { v4 } = await tn.up(lab.controlUrl, lab.authKey, `tn${++nodeCount}`);
    const peerOf = async (ip: string) =>
      Object.values((await tn.status()).Peer ?? {}).find((p) => p.TailscaleIPs?.includes(ip));
    return {
      kind: "tailnet",
      host,
      ip4: v4,
      socksPort,
      curAddr: async (ip) => (await peerOf(ip))?.CurAddr ?? "",
      ping: (ip, count) =>
        timedRun(
          spawnTailnet(["--socket", tn.socket, ...pingArgs(ip, count)], { stdout: "piped" }),
        ),
      waitForPeer: (ip) =>
        waitFor(`tailnet to see ${ip}`, async () => {
          const p = await peerOf(ip);
          return p !== undefined && p.Online && p.Relay !== "";
        }, { timeoutMs: 60_000 }),
      pathStats: async () =>
        ((await tn.status()) as unknown as { TailnetEngine: { path: PathStats } }).TailnetEngine
          .path,
      stop: async () => {
        const log = await tn.stop();
        await tn[Symbol.asyncDispose]();
        if (Deno.env.get("NAT_TEST_LOG")) report(`tailnet log:\n${log}`);
      },
    };
  } catch (err) {
    await tn[Symbol.asyncDispose]();
    throw err;
  }
}

/** Where a pair ended. */
interface Outcome {
  /** A's view of B: "direct ADDR:PORT" or "relay". */
  aSees: string;
  /** B's view of A. */
  bSees: string;
  /** Seconds from A's first ping to its first pong over a direct path, or null. */
  toDirectS: number | null;
  /** A's ping: exit code and its last two lines (for the report). */
  pingTail: string;
}

function pathOf(curAddr: string): string {
  return curAddr === "" ? "relay" : `direct ${curAddr}`;
}

function kindOf(path: string): string {
  return path.split(" ")[0];
}

/**
 * Seconds from the first ping sent (its pong's arrival less its round trip) to the first pong
 * over a direct path, from the ping's timed lines; null when none was direct. Timing from the
 * first pong leaves out the CLI's start (a Deno program starts slower than a Go one).
 */
function timeToDirectS(run: TimedRun): number | null {
  const pongs = run.lines.map((l) => ({ ...l, m: / in (\d+(?:\.\d+)?)ms$/.exec(l.text) }))
    .filter((l) => l.m !== null && l.text.startsWith("pong from"));
  const first = pongs[0];
  const direct = pongs.find((l) => new RegExp(`via ${ADDR_PORT} in`).test(l.text));
  if (first === undefined || direct === undefined) return null;
  const firstSent = first.at - Number(first.m![1]);
  return (direct.at - firstSent) / 1000;
}

/**
 * Both nodes joined; A pings B until direct (or 20 pings), then B pings A likewise; after the
 * settle time (from A's first ping) both views are read.
 */
async function runPair(a: PairNode, b: PairNode): Promise<Outcome> {
  await a.waitForPeer(b.ip4);
  await b.waitForPeer(a.ip4);
  const t0 = performance.now();
  const ping = await a.ping(b.ip4, 20);
  const toDirectS = timeToDirectS(ping);
  // Then B pings A, so each side's view comes from its own path discovery, not from being idle.
  await b.ping(a.ip4, 10);
  const rest = SETTLE_MS - (performance.now() - t0);
  if (rest > 0) await sleep(rest);
  return {
    aSees: pathOf(await a.curAddr(b.ip4)),
    bSees: pathOf(await b.curAddr(a.ip4)),
    toDirectS,
    pingTail: `exit ${ping.code}: ${ping.lines.slice(-2).map((l) => l.text).join(" | ")}`,
  };
}

/**
 * A way from A's SOCKS5 proxy to a listener on B's side: A's proxy and a port on B's host are
 * forwarded to Unix sockets in the lab's folder, which this process (outside the namespaces)
 * reaches.
 */
async function channelAB(nat: NatLab, a: PairNode, b: PairNode) {
  const tag = crypto.randomUUID().slice(0, 8);
  const socks = nat.path(`socks-${tag}.sock`);
  const inbound = nat.path(`in-${tag}.sock`);
  const port = freePort();
  await a.host.forward("unix-to-tcp", socks, a.socksPort);
  const listener = Deno.listen({ transport: "unix", path: inbound });
  await b.host.forward("tcp-to-unix", inbound, port);
  return { connect: () => socks5ConnectUnix(socks, b.ip4, port), listener };
}

async function transferAB(nat: NatLab, a: PairNode, b: PairNode, bytes: number) {
  return await transferVia(await channelAB(nat, a, b), bytes);
}

const release = TAILSCALE_RELEASES[0];
const available = labAvailable(release.version);
const isRoot = Deno.uid() === 0;

Deno.test({
  name: `NAT lab: tailnet ends on the same path as two real tailscaled ${release.version}`,
  ignore: !available.ok || !isRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using nat = await NatLab.create([]);
    await using lab = await Lab.start({
      tailscaleds: 0,
      tailscaleVersion: release.version,
      host: nat.publicAddress,
    });
    const only = Deno.env.get("NAT_TEST_ONLY");
    const rows: string[] = [];
    for (const topo of TOPOLOGIES) {
      if (only && !topo.name.includes(only)) continue;
      const pairs: Array<["tailscaled" | "tailnet", "tailscaled" | "tailnet"]> = [
        ["tailscaled", "tailscaled"],
        ["tailnet", "tailscaled"],
      ];
      if (topo.asymmetric) pairs.push(["tailscaled", "tailnet"]);
      await t.step(topo.name, async () => {
        const outcomes: Outcome[] = [];
        for (const [ka, kb] of pairs) {
          const ra = await nat.addRouter({ nat: topo.a, nodes: topo.b ? 1 : 2 });
          const rb = topo.b ? await nat.addRouter({ nat: topo.b }) : ra;
          const hostA = ra.hosts[0];
          const hostB = topo.b ? rb.hosts[0] : ra.hosts[1];
          const nodes: PairNode[] = [];
          try {
            const start = (k: string, h: NatHost) =>
              k === "tailnet" ? startTailnet(lab, h) : startTailscaled(lab, h);
            const a = await start(ka, hostA);
            nodes.push(a);
            const b = await start(kb, hostB);
            nodes.push(b);
            const o = await runPair(a, b);
            const label = `${topo.name}: ${ka}(A, ${topo.a}) <-> ${kb}(B, ${topo.b ?? topo.a})`;
            report(
              `${label}: A sees ${o.aSees}, B sees ${o.bSees}, to direct ${
                o.toDirectS === null ? "-" : `${o.toDirectS.toFixed(2)} s`
              }; A's ping ${o.pingTail}`,
            );
            if (topo.b === undefined && kindOf(o.aSees) === "direct") {
              // Behind the same NAT the peers reach each other by their private addresses.
              assertMatch(o.aSees, new RegExp(`^direct ${hostB.address}:`), label);
              assertMatch(o.bSees, new RegExp(`^direct ${hostA.address}:`), label);
            }
            if (topo.a === "udp-blocked") {
              assertEquals([kindOf(o.aSees), kindOf(o.bSees)], ["relay", "relay"], label);
              const r = await transferAB(nat, a, b, 4 * MIB);
              assertTransferWhole(r, `${label}: 4 MiB A -> B while UDP is blocked`);
            }
            outcomes.push(o);
          } finally {
            for (const n of nodes.reverse()) await n.stop().catch(() => {});
            await nat.removeRouter(ra);
            if (rb !== ra) await nat.removeRouter(rb);
          }
        }
        const real = outcomes[0];
        const time = (o: Outcome) => o.toDirectS === null ? "-" : `${o.toDirectS.toFixed(2)} s`;
        rows.push(
          `| ${topo.name} | ${real.aSees} / ${real.bSees} (${time(real)}) | ` +
            outcomes.slice(1).map((o, i) =>
              `ours on ${i === 0 ? "A" : "B"}: ${o.aSees} / ${o.bSees} (${time(o)})`
            ).join("; ") + " |",
        );
        for (const [i, o] of outcomes.slice(1).entries()) {
          assertEquals(
            [kindOf(o.aSees), kindOf(o.bSees)],
            [kindOf(real.aSees), kindOf(real.bSees)],
            `${topo.name}, ours on ${i === 0 ? "A" : "B"}: path differs from two real tailscaled`,
          );
        }
      });
    }
    report(
      `outcome table (A's view / B's view, time to direct):\n| topology | real <-> real | tailnet <-> real |\n|---|---|---|\n${
        rows.join("\n")
      }`,
    );
  },
});

Deno.test({
  name:
    `NAT lab: path faults mid-transfer, tailnet and real tailscaled ${release.version} (cone <-> masquerade)`,
  ignore: !available.ok || !isRoot,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using nat = await NatLab.create([]);
    await using lab = await Lab.start({
      tailscaleds: 0,
      tailscaleVersion: release.version,
      host: nat.publicAddress,
    });
    // Ours first; then two real tailscaled as the reference for the same faults.
    for (const kindA of ["tailnet", "tailscaled"] as const) {
      await t.step(`${kindA} (A, cone) <-> tailscaled (B, masquerade)`, async (t) => {
        await pathFaults(t, lab, nat, kindA);
      });
    }
  },
});

async function pathFaults(
  t: Deno.TestContext,
  lab: Lab,
  nat: NatLab,
  kindA: "tailnet" | "tailscaled",
): Promise<void> {
  const ra = await nat.addRouter({ nat: "cone" });
  const rb = await nat.addRouter({ nat: "masquerade" });
  const nodes: PairNode[] = [];
  try {
    const a = kindA === "tailnet"
      ? await startTailnet(lab, ra.hosts[0])
      : await startTailscaled(lab, ra.hosts[0]);
    nodes.push(a);
    const b = await startTailscaled(lab, rb.hosts[0]);
    nodes.push(b);
    await a.waitForPeer(b.ip4);
    await b.waitForPeer(a.ip4);
    const ping = await a.ping(b.ip4, 20);
    assertEquals(
      ping.code,
      0,
      `no direct path to start from:\n${ping.lines.map((l) => l.text).join("\n")}`,
    );
    const direct = async () => (await a.curAddr(b.ip4)) !== "";

    await t.step(
      "UDP blocked mid-transfer: on to DERP, whole; unblocked: direct in 15 s",
      async () => {
        assert(await direct(), "direct before the transfer");
        const channel = await channelAB(nat, a, b);
        let blockedAt = 0;
        const seen: { relayedAfterS: number | null } = { relayedAfterS: null };
        let sawRelay: () => void = () => {};
        const relayed = new Promise<void>((resolve) => (sawRelay = resolve));
        let polling = true;
        const poller = (async () => {
          while (polling) {
            if (blockedAt > 0 && seen.relayedAfterS === null && !(await direct())) {
              seen.relayedAfterS = (performance.now() - blockedAt) / 1000;
              sawRelay();
            }
            await sleep(250);
          }
        })();
        let held = false;
        const before = await a.pathStats?.();
        const r = await transferVia(
          channel,
          50 * MIB,
          {
            onReceived: async (got) => {
              if (blockedAt === 0 && got >= 5 * MIB) {
                await ra.blockUdp(rb);
                blockedAt = performance.now();
              }
              if (!held && got >= 25 * MIB) {
                // Hold the receiver until the path is seen on DERP, so the rest goes relayed.
                held = true;
                await Promise.race([relayed, sleep(30_000)]);
              }
            },
          },
        );
        polling = false;
        await poller;
        assertTransferWhole(r, `50 MiB ${kindA} -> tailscaled with UDP blocked mid-way`);
        const after = await a.pathStats?.();
        if (before !== undefined && after !== undefined) {
          const viaDerp = after.sentDerp - before.sentDerp;
          report(
            `datagrams sent during it: UDP ${after.sentUdp - before.sentUdp}, DERP ${viaDerp}`,
          );
          assert(viaDerp > 1000, `the transfer went on over DERP: ${viaDerp} datagrams`);
        }
        report(
          `${kindA} <-> tailscaled: UDP blocked at 5 MiB: relayed after ${
            seen.relayedAfterS?.toFixed(1) ?? "never"
          } s; ` +
            `50 MiB whole in ${(r.ms / 1000).toFixed(1)} s`,
        );
        assert(seen.relayedAfterS !== null, "the path never moved off the blocked UDP path");
        const rules = await nat.describe();
        await ra.unblockUdp();
        const t0 = performance.now();
        await waitFor("the direct path to come back", direct, {
          timeoutMs: 15_000,
          intervalMs: 250,
          details: () => `rules while blocked:\n${rules}`,
        });
        report(
          `${kindA} <-> tailscaled: unblocked: direct again after ${
            ((performance.now() - t0) / 1000).toFixed(1)
          } s`,
        );
      },
    );

    await t.step("derper killed while direct: the transfer does not notice", async () => {
      await waitFor("direct", direct, { timeoutMs: 15_000 });
      const channel = await channelAB(nat, a, b);
      let stopped = false;
      const before = await a.pathStats?.();
      const r = await transferVia(
        channel,
        50 * MIB,
        {
          onReceived: async (got) => {
            if (!stopped && got >= 10 * MIB) {
              stopped = true;
              await lab.stopDerper();
            }
          },
        },
      );
      assertTransferWhole(r, `50 MiB ${kindA} -> tailscaled with derper killed mid-way`);
      assert(stopped, "derper was stopped during the transfer");
      const after = await a.pathStats?.();
      if (before !== undefined && after !== undefined) {
        report(
          `datagrams sent during it: UDP ${after.sentUdp - before.sentUdp}, DERP ${
            after.sentDerp - before.sentDerp
          }`,
        );
        assert(after.sentUdp - before.sentUdp > 10_000, "the transfer went over UDP");
      }
      assert(await direct(), "still direct after the transfer");
      report(
        `${kindA} <-> tailscaled: derper killed at 10 MiB: 50 MiB whole in ${
          (r.ms / 1000).toFixed(1)
        } s, still direct`,
      );
      await lab.startDerper();
    });
  } finally {
    for (const n of nodes.reverse()) await n.stop().catch(() => {});
    await nat.removeRouter(ra);
    await nat.removeRouter(rb);
  }
}
