// deno-lint-ignore-file no-console -- a benchmark prints its figures
/**
 * tailnet beside real tailscaled on an impaired path: 1% loss and 50 ms RTT, made by the lab's
 * impairing relay in front of derper (12.5 ms and 0.5% loss per crossing, two crossings each
 * way; this kernel has no netem). BENCH_MIB (default 20) random bytes go through a node's SOCKS5
 * to a server on the other node's machine, SHA-256 checked: real -> real (the reference),
 * us -> real and real -> us, BENCH_RUNS times each (default 3), median throughput reported.
 *
 * Figures are ratios, tailnet over tailscaled; nothing is asserted (tests/interop/impaired_test.ts
 * checks that the transfers arrive whole). Run: `deno task bench:impaired`.
 * @module
 */
import { Lab } from "../tests/lab/mod.ts";
import { PortClaims } from "../tests/lab/ports.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { socks5Transfer } from "../tests/lab/transfer.ts";

if (!import.meta.main) {
  throw new Error("bench/impaired_vs_tailscaled.ts is a program, not a module");
}

const MIB = Number(Deno.env.get("BENCH_MIB") ?? 20);
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 3);

await using lab = await Lab.start({
  tailscaleds: 2,
  nodeEnv: { TS_DEBUG_NEVER_DIRECT_UDP: "1" },
  impairDerp: { delayMs: 12.5, lossPercent: 0.5 },
});
const [ts1, ts2] = lab.nodes;
const ports = new PortClaims(`bench-impaired-${Deno.pid}`);
await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };
const socks5 = `127.0.0.1:${await ports.claim()}`;
await using tn = await TailnetDaemon.create({ args: ["--socks5-server", socks5] });
const { v4: tnIp } = await tn.up(lab.controlUrl, lab.authKey, "tn-bench-imp");
await lab.waitForPeers();
const ts2Ip = (await ts2.ips())[0];

/** Median Mbit/s of RUNS transfers from `proxy` to `peerIp`; throws if one arrives damaged. */
async function medianMbps(proxy: string, peerIp: string): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await socks5Transfer(proxy, peerIp, MIB << 20);
    if (r.received !== r.bytes || r.receivedSha256 !== r.sentSha256) {
      throw new Error(`transfer via ${proxy} to ${peerIp} arrived damaged`);
    }
    rates.push((r.bytes * 8) / (r.ms / 1000) / 1e6);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

const realReal = await medianMbps(ts1.socks5Addr, ts2Ip);
const usReal = await medianMbps(socks5, ts2Ip);
const realUs = await medianMbps(ts1.socks5Addr, tnIp);
const st = lab.derpRelay!.stats;

const row = (what: string, ours: number) =>
  console.log(
    `${what.padEnd(44)} tailnet ${ours.toFixed(1).padStart(7)} Mbit/s tailscaled ${
      realReal.toFixed(1).padStart(7)
    } Mbit/s ratio ${(ours / realReal).toFixed(2)} (higher is better)`,
  );
console.log(
  `tailnet vs tailscaled ${lab.tailscaleVersion}, 1% loss and 50 ms RTT through DERP, ` +
    `${MIB} MiB, median of ${RUNS}`,
);
row(`${MIB} MiB via SOCKS5, us -> real`, usReal);
row(`${MIB} MiB via SOCKS5, real -> us`, realUs);
console.log(
  `relay: ${st.segments} segments, ${st.lostSegments} lost (${
    (100 * st.lostSegments / st.segments).toFixed(2)
  }%)`,
);
