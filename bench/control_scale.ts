// deno-lint-ignore-file no-console -- a benchmark prints its figures
/**
 * Control-plane scale on its own: a real headscale holding N registered nodes (`--nodes N`,
 * default 1000), then our daemon and a real tailscaled each coming up among them, measured in
 * the same run, and one peer renamed (see `measureScale` in `_scale.ts` for how the nodes are
 * made and what is measured). `deno task bench` runs the same at 1,000 and 10,000 nodes inside
 * its one table.
 *
 * Run: `deno task bench:scale --nodes 10000`. Figures only; nothing is asserted.
 * `--profile FILE` runs our daemon under `--inspect` and records V8's sampling profile of its
 * join (from `up` until it lists every peer) in FILE and of the one peer change in
 * `FILE.change.cpuprofile` (Chrome DevTools opens both), and prints their top functions by
 * self time. The inspector slows the daemon a little: take the timing figures from a run
 * without it.
 * @module
 */
import { Lab } from "../tests/lab/mod.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { TAILSCALE_RELEASES } from "../tests/lab/versions.ts";
import { PortClaims } from "../tests/lab/ports.ts";
import { type CpuProfile, Inspector, topSelfTime } from "./_inspector.ts";
import { measureScale } from "./_scale.ts";

if (!import.meta.main) throw new Error("bench/control_scale.ts is a program, not a module");

const RELEASE = TAILSCALE_RELEASES[0].version;
const nodesAt = Deno.args.indexOf("--nodes");
const NODES = nodesAt >= 0 ? Number(Deno.args[nodesAt + 1]) : 1000;
if (!Number.isInteger(NODES) || NODES < 1 || NODES > 60000) {
  console.error("control_scale: --nodes takes a whole number from 1 to 60000");
  Deno.exit(2);
}

const profileAt = Deno.args.indexOf("--profile");
const PROFILE = profileAt >= 0 ? Deno.args[profileAt + 1] : undefined;
if (profileAt >= 0 && !PROFILE) {
  console.error("control_scale: --profile takes a file name");
  Deno.exit(2);
}

await using lab = await Lab.start({ tailscaleds: 0, tailscaleVersion: RELEASE });
const ports = new PortClaims(`control-scale-${Deno.pid}`);
await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };
const inspectPort = PROFILE ? await ports.claim() : 0;
await using ours = await TailnetDaemon.create({
  denoFlags: PROFILE ? [`--inspect=127.0.0.1:${inspectPort}`] : [],
});
const inspector = PROFILE ? await Inspector.connect(inspectPort) : null;
using _inspector = { [Symbol.dispose]: () => inspector?.close() };
if (inspector) {
  await inspector.call("Profiler.enable");
  await inspector.call("Profiler.setSamplingInterval", { interval: 500 });
}

/** Stops the running profile, writes it to `file` and prints its top functions. */
async function saveProfile(profiler: Inspector, file: string, what: string): Promise<void> {
  const { profile } = await profiler.call("Profiler.stop") as { profile: CpuProfile };
  await Deno.writeTextFile(file, JSON.stringify(profile));
  const s = (profile.endTime - profile.startTime) / 1e6;
  console.log(`\nprofile of ${what}: ${file} (${s.toFixed(1)} s), self time, top 25:`);
  for (const f of topSelfTime(profile, 25)) {
    console.log(
      `${(f.share * 100).toFixed(1).padStart(5)}% ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}`,
    );
  }
}

const run = await measureScale(
  lab,
  ours,
  NODES,
  5000,
  (l) => console.error(l),
  async (phase, edge) => {
    if (inspector === null || PROFILE === undefined) return;
    if (edge === "start") return void await inspector.call("Profiler.start");
    const file = phase === "join" ? PROFILE : `${PROFILE}.change.cpuprofile`;
    await saveProfile(inspector, file, phase === "join" ? "the join" : "the one peer change");
  },
);
console.error(`headscale loaded ${NODES} nodes in ${run.headscaleLoadMs.toFixed(0)} ms`);

type Figure = keyof typeof run.real;
const row = (what: string, key: Figure, unit: string) =>
  console.log(
    `${what.padEnd(46)} tailnet ${run.ours[key].toFixed(1).padStart(9)} ${unit.padEnd(4)}` +
      ` tailscaled ${run.real[key].toFixed(1).padStart(9)} ${unit.padEnd(4)} ratio ${
        (run.ours[key] / run.real[key]).toFixed(2)
      }`,
  );
console.log(
  `\ntailnet vs tailscaled ${RELEASE}, headscale with ${NODES} more registered nodes (lower is better)`,
);
row("time from up (registered) to Running", "runningMs", "ms");
row(`time from up until status lists all peers`, "allPeersMs", "ms");
row("daemon CPU from up until all peers", "joinCpuS", "s");
row("RSS with that netmap", "rss", "MiB");
row("one status --json (CLI run included)", "statusMs", "ms");
row("one peer renamed: until whois names it anew", "changeMs", "ms");
