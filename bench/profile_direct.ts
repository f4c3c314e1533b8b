// deno-lint-ignore-file no-console -- a profiler prints its findings
/**
 * Where our daemon's CPU goes on the direct path: the lab with one real tailscaled, our daemon
 * under `--inspect`, a transfer through the tunnel each way (BENCH_MIB, default 50) while
 * V8's sampling profiler runs (over the inspector protocol), then the functions with the most
 * self time, and the profile written as a `.cpuprofile` (Chrome DevTools opens it).
 *
 * Run: `deno task bench:profile` (`--out FILE` to choose where the profile goes).
 * @module
 */
import { Lab } from "../tests/lab/mod.ts";
import { PortClaims } from "../tests/lab/ports.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { socks5Transfer } from "../tests/lab/transfer.ts";
import { type CpuProfile, Inspector, topSelfTime } from "./_inspector.ts";

if (!import.meta.main) throw new Error("bench/profile_direct.ts is a program, not a module");

const MIB = Number(Deno.env.get("BENCH_MIB") ?? 50);
const outIdx = Deno.args.indexOf("--out");
const OUT = outIdx >= 0 ? Deno.args[outIdx + 1] : "tailnet-direct.cpuprofile";

await using lab = await Lab.start({ tailscaleds: 1 });
const ts1 = lab.nodes[0];
const ports = new PortClaims(`profile-${Deno.pid}`);
await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };
const socks5 = `127.0.0.1:${await ports.claim()}`;
const inspectPort = await ports.claim();
await using tn = await TailnetDaemon.create({
  args: ["--socks5-server", socks5],
  denoFlags: [`--inspect=127.0.0.1:${inspectPort}`],
});
const { v4: tnIp } = await tn.up(lab.controlUrl, lab.authKey, "tn-profile");
const ts1Ip = (await ts1.ips()).find((i) => i.includes("."))!;
// Let disco find the direct path before measuring.
for (let i = 0; i < 10; i++) await tn.cli(["ping", "-c", "1", ts1Ip]);
const path = (await tn.cli(["ping", "-c", "1", ts1Ip])).stdout.trim();

const inspector = await Inspector.connect(inspectPort);
await inspector.call("Profiler.enable");
await inspector.call("Profiler.setSamplingInterval", { interval: 200 });
await inspector.call("Profiler.start");
const out = await socks5Transfer(socks5, ts1Ip, MIB << 20);
const back = await socks5Transfer(ts1.socks5Addr, tnIp, MIB << 20);
const { profile } = await inspector.call("Profiler.stop") as { profile: CpuProfile };
inspector.close();
await Deno.writeTextFile(OUT, JSON.stringify(profile));

const mbps = (ms: number) => ((MIB << 20) * 8 / (ms / 1000) / 1e6).toFixed(1);
console.log(`path: ${path}`);
console.log(`us -> real ${MIB} MiB: ${mbps(out.ms)} Mbit/s; real -> us: ${mbps(back.ms)} Mbit/s`);
console.log(`profile: ${OUT} (${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s)`);
console.log("self time, top 30:");
for (const f of topSelfTime(profile, 30)) {
  console.log(
    `${(f.share * 100).toFixed(1).padStart(5)}% ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}`,
  );
}
