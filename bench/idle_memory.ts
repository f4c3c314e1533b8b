// deno-lint-ignore-file no-console -- a benchmark prints its figures
/**
 * Small at idle and quick to start: our daemon beside a real tailscaled in the same lab, each
 * joined with `up` and then left idle with one peer (a real tailscaled), plus the floors under
 * ours measured in the same run:
 *
 * - bare Deno: `deno run` (the daemon's flags) of a script that only waits;
 * - the daemon's module graph: a script that imports `src/cli/daemon.ts` and waits;
 * - time from `up` to Running (the CLI returns) and to the first packet answered by the peer
 *   (one byte echoed through the node's SOCKS5 proxy from a server on the peer's side);
 * - resident memory idle after `up` (VmRSS, and its anonymous and file-backed parts), both with
 *   a SOCKS5 proxy on, ours once more without one, and once more run from a minified bundle
 *   of main.ts (`deno bundle --minify`, no proxy flag).
 *
 * `--heap` also starts our daemon once more under `--inspect`, joins it, and prints V8's heap
 * statistics beside its RSS and a heap snapshot grouped by constructor (shallow sizes).
 * Figures are printed with the ratio tailnet / tailscaled; nothing is asserted.
 * Run: `deno task bench:memory` (`--idle SECONDS`, default 10; `--heap`).
 * @module
 */
import { Lab, waitFor } from "../tests/lab/mod.ts";
import { PortClaims } from "../tests/lab/ports.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { DENO_RUN, runTailnet } from "../tests/lab/tailnet_process.ts";
import { TAILSCALE_RELEASES } from "../tests/lab/versions.ts";
import { Inspector, summarizeHeapSnapshot } from "./_inspector.ts";
import { IDLE_SCRIPT, memoryOfScript } from "./_floor.ts";
import { buildShippedBundle } from "./_shipped.ts";
import { startEchoServer } from "./_probe.ts";
import { timeJoin, upOurs, upReal } from "./_join.ts";
import { type Memory, memoryOf } from "./_proc.ts";

if (!import.meta.main) throw new Error("bench/idle_memory.ts is a program, not a module");

const RELEASE = TAILSCALE_RELEASES[0].version;
const idleAt = Deno.args.indexOf("--idle");
const IDLE_S = idleAt >= 0 ? Number(Deno.args[idleAt + 1]) : 10;
const HEAP = Deno.args.includes("--heap");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds `deno bundle --minify` of main.ts, runs its daemon, joins it, idles; its RSS. */
async function idleRssOfBundle(): Promise<Memory> {
  await using shipped = await buildShippedBundle();
  const dir = await Deno.makeTempDir({ prefix: "tailnet-bundle-run-" });
  try {
    const bundle = shipped.path;
    // Once to fill Deno's V8 code cache for the new file (main.ts had its cache filled by
    // earlier runs; a cold start compiles everything and keeps more), then measured.
    for (const measured of [false, true]) {
      const socket = `${dir}/tailnetd${measured ? 1 : 0}.sock`;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          ...DENO_RUN,
          bundle,
          "daemon",
          "--statedir",
          `${dir}/state`,
          "--socket",
          socket,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        const cli = (args: string[]) => runTailnet(["--socket", socket, ...args]);
        await waitFor(
          "the bundled daemon's socket",
          async () => (await cli(["status", "--json"])).stdout.includes("BackendState"),
        );
        if (!measured) continue;
        const up = await cli([
          "up",
          "--login-server",
          lab.controlUrl,
          "--authkey",
          lab.authKey,
          "--hostname",
          "tn-idle-bundle",
        ]);
        if (up.code !== 0) throw new Error(`bundled tailnet up: ${up.stderr}${up.stdout}`);
        await sleep(IDLE_S * 1000);
        return memoryOf(child.pid);
      } finally {
        child.kill("SIGTERM");
        await child.status;
      }
    }
    throw new Error("unreachable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const floorIdle = await memoryOfScript(IDLE_SCRIPT, 3000);
const floorGraph = await memoryOfScript(
  `import "${new URL("../src/cli/daemon.ts", import.meta.url).href}";\n` +
    "await new Promise(() => setInterval(() => {}, 1e6));\n",
  4000,
);

await using lab = await Lab.start({ tailscaleds: 1, tailscaleVersion: RELEASE });
const peer = lab.nodes[0];
const peerIp = (await peer.ips()).find((i) => i.includes("."))!;
const ports = new PortClaims(`idle-memory-${Deno.pid}`);
await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };

// An echo server on this machine: the peer forwards tailnet connections to 127.0.0.1:<port>.
const echo = startEchoServer();

// The real tailscaled: started, then joined as a user would (`tailscale up`); then ours.
const real = await lab.addTailscaled({ authKey: "" });
const realJoin = await timeJoin(
  () => upReal(lab, real),
  { proxy: real.socks5Addr, host: peerIp, port: echo.port },
);
const socks5 = `127.0.0.1:${await ports.claim()}`;
await using ours = await TailnetDaemon.create({ args: ["--socks5-server", socks5] });
const ourJoin = await timeJoin(
  () => upOurs(lab, ours, "tn-idle"),
  { proxy: socks5, host: peerIp, port: echo.port },
);
echo[Symbol.dispose]();

await sleep(IDLE_S * 1000);
const ourRss = memoryOf(ours.pid!);
const realRss = memoryOf(real.process!.pid);

// Ours again without a proxy flag, as a node runs by default (the lab's tailscaled always has
// its SOCKS5 and HTTP proxies on, so the rows above compare like with like).
let bareRss: Memory;
{
  await using plain = await TailnetDaemon.create();
  await plain.up(lab.controlUrl, lab.authKey, "tn-idle-plain");
  await sleep(IDLE_S * 1000);
  bareRss = memoryOf(plain.pid!);
}
// And once more from one minified bundle of main.ts (`deno bundle --minify`): the same code
// without the inline source maps and comments `deno run` keeps in V8 for every module.
const bundledRss = await idleRssOfBundle();

const fmt = (v: number, unit: string) => `${v.toFixed(1).padStart(8)} ${unit.padEnd(4)}`;
const row = (what: string, ourV: number, realV: number, unit: string) =>
  console.log(
    `${what.padEnd(40)} tailnet ${fmt(ourV, unit)} tailscaled ${fmt(realV, unit)} ratio ${
      (ourV / realV).toFixed(2)
    }`,
  );
console.log(
  `\ntailnet vs tailscaled ${RELEASE}, one real peer, idle ${IDLE_S} s after up ` +
    `(lower is better; Deno ${Deno.version.deno}, V8 ${Deno.version.v8})`,
);
row("time from up to Running", ourJoin.runningMs, realJoin.runningMs, "ms");
row("time from up to first packet answered", ourJoin.firstPacketMs, realJoin.firstPacketMs, "ms");
row("RSS idle after up", ourRss.total, realRss.total, "MiB");
row("  anonymous (heaps, stacks)", ourRss.anon, realRss.anon, "MiB");
row("  file-backed (code)", ourRss.file, realRss.file, "MiB");
row("RSS idle, ours with no proxy flag", bareRss.total, realRss.total, "MiB");
row("RSS idle, ours as one minified bundle", bundledRss.total, realRss.total, "MiB");
console.log(
  `floors under ours: bare Deno ${floorIdle.total.toFixed(1)} MiB (anon ${
    floorIdle.anon.toFixed(1)
  }, file ${floorIdle.file.toFixed(1)}); daemon's modules loaded, nothing started ${
    floorGraph.total.toFixed(1)
  } MiB (anon ${floorGraph.anon.toFixed(1)}, file ${floorGraph.file.toFixed(1)})`,
);
console.log(
  `ours above bare Deno: ${(ourRss.total - floorIdle.total).toFixed(1)} MiB; ` +
    `tailscaled / (ours - bare Deno): ${
      (realRss.total / (ourRss.total - floorIdle.total)).toFixed(2)
    }`,
);

if (HEAP) {
  const inspectPort = await ports.claim();
  await using probed = await TailnetDaemon.create({
    denoFlags: [`--inspect=127.0.0.1:${inspectPort}`],
  });
  await probed.up(lab.controlUrl, lab.authKey, "tn-heap");
  await sleep(IDLE_S * 1000);
  const before = memoryOf(probed.pid!);
  const inspector = await Inspector.connect(inspectPort);
  const mem = await inspector.evaluate("JSON.stringify(Deno.memoryUsage())") as string;
  const text = await inspector.heapSnapshot();
  inspector.close();
  const usage = JSON.parse(mem) as Record<string, number>;
  const mib = (b: number) => (b / 1048576).toFixed(1);
  console.log(
    `\nunder --inspect: RSS ${before.total.toFixed(1)} MiB; V8 heap used ${
      mib(usage.heapUsed)
    } MiB of ${mib(usage.heapTotal)} MiB; external ${mib(usage.external)} MiB`,
  );
  const { groups, totalBytes } = summarizeHeapSnapshot(text);
  console.log(`heap snapshot after GC: ${mib(totalBytes)} MiB shallow; top 25 by shallow size:`);
  for (const g of groups.slice(0, 25)) {
    console.log(
      `${mib(g.selfBytes).padStart(7)} MiB ${String(g.count).padStart(8)}  ${g.type} ${g.name}`,
    );
  }
}
