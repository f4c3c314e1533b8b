// deno-lint-ignore-file no-console -- a benchmark prints its figures
/**
 * tailnet beside real tailscaled, measured in one run, each node on the path it finds by
 * itself (the headline), then again with every node held on the lab's DERP
 * (`TS_DEBUG_NEVER_DIRECT_UDP=1`, a second, labelled table):
 *
 * - TSMP ping round trip: `tailnet ping --tsmp` vs `tailscale ping --tsmp`, same peer;
 * - bulk TCP: curl fetching N MiB (BENCH_MIB, default 100) through each node's SOCKS5 proxy
 *   from a server on the other node's machine, real -> real vs us -> real vs real -> us;
 * - resident memory (VmRSS) of our daemon vs a tailscaled, after the transfers.
 *
 * Each row names the path each pair used (`direct ADDR:PORT` or `relay "REGION"`), read from
 * both ends' status after the transfer. Figures are ratios, tailnet over tailscaled; nothing is
 * asserted. Run: `deno task bench:vs` (`--derp-only` or `--default-only` for one table).
 * @module
 */
import { Lab } from "../tests/lab/mod.ts";
import { PortClaims } from "../tests/lab/ports.ts";
import { runCommand } from "../tests/lab/run_command.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { TAILSCALE_RELEASES } from "../tests/lab/versions.ts";
import { keyOf, pathTo } from "./_paths.ts";
import { memoryOf } from "./_proc.ts";

if (!import.meta.main) throw new Error("bench/vs_tailscaled.ts is a program, not a module");

const MIB = Number(Deno.env.get("BENCH_MIB") ?? 100);
const PINGS = 20;
const RELEASE = TAILSCALE_RELEASES[0].version;

const payload = new Uint8Array(MIB << 20);
for (let i = 0; i < payload.length; i += 4096) payload[i] = i & 0xff;

type PathMode = "default" | "derp";

function rssMiB(pid: number | null | undefined): number {
  return pid ? memoryOf(pid).total : NaN;
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

async function measure(mode: PathMode): Promise<void> {
  const env: Record<string, string> = mode === "derp" ? { TS_DEBUG_NEVER_DIRECT_UDP: "1" } : {};
  await using lab = await Lab.start({ tailscaleds: 2, nodeEnv: env, tailscaleVersion: RELEASE });
  await lab.waitForPeers();
  const [ts1, ts2] = lab.nodes;
  const ports = new PortClaims(`bench-${Deno.pid}-${mode}`);
  await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };
  const socks5 = `127.0.0.1:${await ports.claim()}`;
  await using tn = await TailnetDaemon.create({ args: ["--socks5-server", socks5], env });
  const { v4: tnIp } = await tn.up(lab.controlUrl, lab.authKey, "tn-bench");
  await new Promise((r) => setTimeout(r, 2000)); // let the real nodes learn our home DERP

  // One server on this machine: every node forwards tailnet connections to 127.0.0.1:<port>.
  await using web = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(payload),
  );
  const port = web.addr.port;
  const ts2Ip = (await ts2.ips())[0];
  const ts2Key = (await ts2.status()).Self.PublicKey;
  const tnKey = (await tn.status()).Self!.PublicKey;

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

  // Pings first: they also let disco settle on each pair's path before the transfers.
  const realPing = await pingMs(() => ts1.cli(["ping", "--tsmp", "-c", "1", ts2Ip]));
  const ourPing = await pingMs(() => tn.cli(["ping", "--tsmp", "-c", "1", ts2Ip]));
  const realReal = await fetchMbps(ts1.socks5Addr, ts2Ip);
  const realRealPath = await pathTo(ts1, ts2Key);
  const usReal = await fetchMbps(socks5, ts2Ip);
  const usRealPath = `${await pathTo(tn, ts2Key)} / ${await pathTo(ts2, tnKey)}`;
  const realUs = await fetchMbps(ts1.socks5Addr, tnIp);
  const realUsPath = `${await pathTo(ts1, tnKey)} / ${await pathTo(tn, await keyOf(ts1))}`;
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
  console.log(
    mode === "default"
      ? `\ntailnet vs tailscaled ${RELEASE}, each on the path it finds (headline), ${MIB} MiB`
      : `\ntailnet vs tailscaled ${RELEASE}, all held on DERP (TS_DEBUG_NEVER_DIRECT_UDP=1; ` +
        `second row, not the headline), ${MIB} MiB`,
  );
  row("TSMP ping, median of 20", ourPing, realPing, "ms", "lower");
  row(`${MIB} MiB download via SOCKS5, us -> real`, usReal, realReal, "Mbit/s", "higher");
  row(`${MIB} MiB download via SOCKS5, real -> us`, realUs, realReal, "Mbit/s", "higher");
  row("resident memory after the transfers", ourRss, realRss, "MiB", "lower");
  console.log(`  paths: real -> real: ${realRealPath}`);
  console.log(`         us -> real (ours / theirs): ${usRealPath}`);
  console.log(`         real -> us (theirs / ours): ${realUsPath}`);
}

const args = new Set(Deno.args);
if (!args.has("--derp-only")) await measure("default");
if (!args.has("--default-only")) await measure("derp");
