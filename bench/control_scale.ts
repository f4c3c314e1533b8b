// deno-lint-ignore-file no-console -- a benchmark prints its figures
/**
 * Control-plane scale on its own: a real headscale holding N registered nodes (`--nodes N`,
 * default 1000), then our daemon and a real tailscaled each coming up among them, measured in
 * the same run, and one peer renamed (see `measureScale` in `_scale.ts` for how the nodes are
 * made and what is measured). `deno task bench` runs the same at 1,000 and 10,000 nodes inside
 * its one table.
 *
 * Run: `deno task bench:scale --nodes 10000`. Figures only; nothing is asserted.
 * @module
 */
import { Lab } from "../tests/lab/mod.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { TAILSCALE_RELEASES } from "../tests/lab/versions.ts";
import { measureScale } from "./_scale.ts";

if (!import.meta.main) throw new Error("bench/control_scale.ts is a program, not a module");

const RELEASE = TAILSCALE_RELEASES[0].version;
const nodesAt = Deno.args.indexOf("--nodes");
const NODES = nodesAt >= 0 ? Number(Deno.args[nodesAt + 1]) : 1000;
if (!Number.isInteger(NODES) || NODES < 1 || NODES > 60000) {
  console.error("control_scale: --nodes takes a whole number from 1 to 60000");
  Deno.exit(2);
}

await using lab = await Lab.start({ tailscaleds: 0, tailscaleVersion: RELEASE });
await using ours = await TailnetDaemon.create();
const run = await measureScale(lab, ours, NODES, 5000, (l) => console.error(l));
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
