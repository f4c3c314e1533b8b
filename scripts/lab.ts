// deno-lint-ignore-file no-console -- a command-line tool talks to the person running it
/**
 * `deno task lab <command>`: the interop lab for people.
 *
 * - `build`: build the pinned headscale, derper, tailscaled, tailscale and wireguard-go into
 *   ~/.cache/tailnet-lab (a cache hit costs nothing). Exits 1 with one line when Go is missing or
 *   too old, or a `go` command fails.
 * - `up [--nodes N]`: start a lab in the foreground, print how to reach it; Ctrl-C tears it down.
 * - `down`: stop and remove whatever a killed lab left behind (from the registry of running labs).
 * @module
 */

import { buildLabTools, LabBuildError } from "../tests/lab/build.ts";
import { Lab, labAvailable } from "../tests/lab/mod.ts";
import { headscaleBin, tailscaleBin } from "../tests/lab/paths.ts";
import { sweepLabs } from "../tests/lab/registry.ts";
import { HEADSCALE_RELEASE } from "../tests/lab/versions.ts";

if (!import.meta.main) throw new Error("scripts/lab.ts is a program, not a module");

const USAGE =
  "usage: deno task lab build [--force] | up [--nodes N] [--insecure-derp] [--json] | down [--all]";

const [command, ...rest] = Deno.args;
switch (command) {
  case "build":
    Deno.exit(await build(rest));
    break;
  case "up":
    Deno.exit(await up(rest));
    break;
  case "down":
    Deno.exit(await down(rest));
    break;
  default:
    console.error(USAGE);
    Deno.exit(2);
}

async function build(args: string[]): Promise<number> {
  const force = args.includes("--force");
  const t0 = performance.now();
  try {
    const outcomes = await buildLabTools({ force, log: (l) => console.error(l) });
    for (const o of outcomes) {
      const how = o.cached ? "cached" : `built in ${(o.ms / 1000).toFixed(1)} s`;
      console.error(`lab build: ${o.name} ${o.version} ${how}: ${o.binDir}`);
    }
    console.error(`lab build: done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    return 0;
  } catch (err) {
    if (err instanceof LabBuildError) {
      console.error(`lab build: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

async function up(args: string[]): Promise<number> {
  let nodes = 2;
  let json = false;
  let insecure = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--nodes" || a.startsWith("--nodes=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      nodes = Number(v);
      if (!Number.isInteger(nodes) || nodes < 0) {
        console.error(`lab up: --nodes wants a whole number, got ${v}`);
        return 2;
      }
    } else if (a === "--json") json = true;
    else if (a === "--insecure-derp") insecure = true;
    else {
      console.error(`lab up: unknown flag ${a}\n${USAGE}`);
      return 2;
    }
  }
  const avail = labAvailable();
  if (!avail.ok) {
    console.error(`lab up: ${avail.reason}`);
    return 1;
  }
  const t0 = performance.now();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let lab: Lab;
  try {
    lab = await Lab.start({ tailscaleds: nodes, derpTrust: insecure ? "insecure" : "pinned" });
  } catch (err) {
    console.error(`lab up: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  try {
    const ips = await Promise.all(lab.nodes.map((n) => n.ips()));
    if (json) {
      console.log(JSON.stringify({
        id: lab.id,
        workDir: lab.workDir,
        controlUrl: lab.controlUrl,
        authKey: lab.authKey,
        pids: lab.pids,
        ports: lab.ports,
        nodes: lab.nodes.map((n, i) => ({
          name: n.name,
          socket: n.socket,
          socks5Addr: n.socks5Addr,
          httpProxyAddr: n.httpProxyAddr,
          ips: ips[i],
        })),
      }));
    } else {
      console.log(describe(lab, ips, performance.now() - t0));
    }
    if (!stop.signal.aborted) {
      await new Promise((resolve) =>
        stop.signal.addEventListener("abort", resolve, { once: true })
      );
    }
    console.error("lab up: stopping");
  } finally {
    await lab.close();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  console.error("lab up: stopped, nothing left behind");
  return 0;
}

function describe(lab: Lab, ips: string[][], ms: number): string {
  const ts = tailscaleBin("tailscale", lab.tailscaleVersion);
  const hs = `${headscaleBin()} -c ${lab.headscaleConfig}`;
  const lines = [
    `tailnet lab up in ${(ms / 1000).toFixed(1)} s ` +
    `(tailscale ${lab.tailscaleVersion}, headscale ${HEADSCALE_RELEASE.version}); Ctrl-C tears it down`,
    ``,
    `  control URL  ${lab.controlUrl}`,
    `  auth key     ${lab.authKey}   (reusable, user "lab")`,
    `  DERP         https://127.0.0.1:${lab.derpPort} (region ${lab.derpRegionId} ` +
    `"${lab.derpRegionCode}", self-signed, sha256-raw:${lab.derpCertSha256Hex})`,
    `  STUN         127.0.0.1:${lab.stunPort}`,
    `  work dir     ${lab.workDir}`,
  ];
  lab.nodes.forEach((n, i) => {
    lines.push(
      `  ${n.name.padEnd(4)} ${(ips[i][0] ?? "").padEnd(14)} socket ${n.socket}`,
      `       ${
        "".padEnd(14)
      } socks5 ${n.socks5Addr}  http proxy ${n.httpProxyAddr}  udp ${n.port}`,
    );
  });
  lines.push(``, `Commands:`, `  ${hs} nodes list`);
  for (const n of lab.nodes) lines.push(`  ${ts} --socket ${n.socket} status`);
  if (lab.nodes.length >= 2) {
    const [a, b] = lab.nodes;
    const ipB = ips[1][0];
    lines.push(
      `  ${ts} --socket ${a.socket} ping ${ipB}`,
      `  python3 -m http.server --bind 127.0.0.1 8000   # then, through ${a.name}'s proxy to ${b.name}:`,
      `  curl --socks5-hostname ${a.socks5Addr} http://${ipB}:8000/`,
    );
  }
  lines.push(
    `  ${hs} preauthkeys create --user 1 --reusable`,
    `  deno task daemon --statedir ${lab.workDir}/tn --socket ${lab.workDir}/tn/tailnetd.sock`,
    `  (join it with --login-server ${lab.controlUrl} --authkey <key> once tailnet has 'up')`,
  );
  return lines.join("\n");
}

async function down(args: string[]): Promise<number> {
  const all = args.includes("--all");
  const r = await sweepLabs({ all });
  for (const id of r.removed) console.error(`lab down: removed ${id}`);
  for (const id of r.kept) {
    console.error(`lab down: kept ${id}: its owner still runs (stop it, or use --all)`);
  }
  if (r.killed.length) console.error(`lab down: stopped pids ${r.killed.join(" ")}`);
  if (!r.removed.length && !r.kept.length) console.error("lab down: no lab registered");
  return 0;
}
