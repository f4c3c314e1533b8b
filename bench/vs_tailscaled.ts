// deno-lint-ignore-file no-console -- a benchmark prints its figures
/**
 * tailnet beside real tailscaled, measured in one run on the same lab path (everything through
 * the lab's DERP, since our node has no direct UDP paths yet and fairness needs the same path):
 *
 * - TSMP ping round trip: `tailnet ping --tsmp` vs `tailscale ping --tsmp`, same peer;
 * - bulk TCP: curl fetching N MiB (BENCH_MIB, default 100) through each node's SOCKS5 proxy
 *   from a server on the other node's machine, real -> real vs us -> real vs real -> us;
 * - resident memory (VmRSS) of our daemon vs a tailscaled, after the transfers.
 *
 * Figures are ratios, tailnet over tailscaled; nothing is asserted. Run: `deno task bench:vs`.
 * @module
 */
import { Lab } from "../tests/lab/mod.ts";
import { PortClaims } from "../tests/lab/ports.ts";
import { runCommand } from "../tests/lab/run_command.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";

if (!import.meta.main) throw new Error("bench/vs_tailscaled.ts is a program, not a module");

const MIB = Number(Deno.env.get("BENCH_MIB") ?? 100);
const PINGS = 20;

const payload = new Uint8Array(MIB << 20);
for (let i = 0; i < payload.length; i += 4096) payload[i] = i & 0xff;

await using lab = await Lab.start({ tailscaleds: 2, nodeEnv: { TS_DEBUG_NEVER_DIRECT_UDP: "1" } });
await lab.waitForPeers();
const [ts1, ts2] = lab.nodes;
const ports = new PortClaims(`bench-${Deno.pid}`);
await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };
const socks5 = `127.0.0.1:${await ports.claim()}`;
await using tn = await TailnetDaemon.create({ args: ["--socks5-server", socks5] });
const up = await tn.cli([
  "up",
  "--login-server",
  lab.controlUrl,
  "--authkey",
  lab.authKey,
  "--hostname",
  "tn-bench",
]);
if (up.code !== 0) throw new Error(`tailnet up: ${up.stderr}`);
await new Promise((r) => setTimeout(r, 2000)); // let the real nodes learn our home DERP

// One server on this machine: every node forwards tailnet connections to 127.0.0.1:<port>.
await using web = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  () => new Response(payload),
);
const port = web.addr.port;
const ts2Ip = (await ts2.ips())[0];
const tnIp = (await tn.cli(["ip", "-4"])).stdout.trim();

async function fetchMbps(proxy: string, host: string): Promise<number> {
  const t0 = performance.now();
  const r = await runCommand("curl", {
    args: [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{size_download}",
      "--max-time",
      "600",
      "--socks5-hostname",
      proxy,
      `http://${host}:${port}/`,
    ],
  }, 620_000);
  const s = (performance.now() - t0) / 1000;
  if (r.code !== 0 || Number(r.stdout) !== payload.length) {
    throw new Error(`curl via ${proxy}: ${r.stderr} (${r.stdout} bytes)`);
  }
  return (payload.length * 8) / s / 1e6;
}

async function pingMs(run: () => Promise<{ code: number; stdout: string }>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const r = await run();
    const m = r.stdout.match(/in (\d+(?:\.\d+)?)(ms|µs|s)/);
    if (r.code === 0 && m) {
      times.push(Number(m[1]) * (m[2] === "s" ? 1000 : m[2] === "µs" ? 0.001 : 1));
    }
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function rssMiB(pid: number | null | undefined): number {
  if (!pid) return NaN;
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

const realPing = await pingMs(() => ts1.cli(["ping", "--tsmp", "-c", "1", ts2Ip]));
const ourPing = await pingMs(() => tn.cli(["ping", "--tsmp", "-c", "1", ts2Ip]));
const realReal = await fetchMbps(ts1.socks5Addr, ts2Ip);
const usReal = await fetchMbps(socks5, ts2Ip);
const realUs = await fetchMbps(ts1.socks5Addr, tnIp);
const ourRss = rssMiB(tn.pid);
const realRss = rssMiB(ts1.process?.pid);

const row = (
  what: string,
  ours: number,
  theirs: number,
  unit: string,
  better: "lower" | "higher",
) =>
  console.log(
    `${what.padEnd(44)} tailnet ${ours.toFixed(1).padStart(7)} ${unit.padEnd(6)} tailscaled ${
      theirs.toFixed(1).padStart(7)
    } ${unit.padEnd(6)} ratio ${(ours / theirs).toFixed(2)} (${better} is better)`,
  );
console.log(`tailnet vs tailscaled v1.98.10, lab path through DERP, ${MIB} MiB transfers`);
row("TSMP ping, median of 20", ourPing, realPing, "ms", "lower");
row(`${MIB} MiB download via SOCKS5, us -> real`, usReal, realReal, "Mbit/s", "higher");
row(`${MIB} MiB download via SOCKS5, real -> us`, realUs, realReal, "Mbit/s", "higher");
row("resident memory after the transfers", ourRss, realRss, "MiB", "lower");
