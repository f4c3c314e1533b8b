// deno-lint-ignore-file no-console -- a benchmark prints its figures
/**
 * Control-plane scale: a real headscale holding N registered nodes (`--nodes N`, default 1000),
 * then our daemon and a real tailscaled each joining it, measured in the same run:
 *
 * - time from `up` to Running (the CLI returns), and until `status --json` lists every peer,
 *   and the CPU time the daemon itself spent meanwhile (headscale's own time dominates the
 *   wall clock at 10,000 nodes: the daemon's share is its CPU time);
 * - RSS with that netmap, after it settles;
 * - one peer change: a node registered through headscale (`debug create-node`, then
 *   `auth register`, as a node that logs in), timed until each daemon knows its address
 *   (`whois` answers; polled every 50 ms, both daemons at once);
 * - the time one `status --json` takes on each with that netmap.
 *
 * How the N nodes are made: one node is registered the way headscale's CLI does it, then, with
 * headscale stopped, its row in headscale's sqlite `nodes` table is cloned N-1 times with fresh
 * random machine, node and disco keys, unique names and unique addresses (outside the range
 * headscale hands out next), and headscale is started again: it loads its nodes from that table
 * at start, so they are as real to it as nodes that registered and went offline. Registering
 * 10,000 nodes through the CLI would take two commands each.
 *
 * Run: `deno task bench:scale --nodes 10000`. Figures only; nothing is asserted.
 * `--profile FILE` runs our daemon under `--inspect` and records V8's sampling profile of its
 * join (from `up` until it lists every peer) in FILE and of the one peer change in
 * `FILE.change.cpuprofile` (Chrome DevTools opens both), and prints their top functions by
 * self time. The inspector slows the daemon a little: take the timing figures from a run
 * without it.
 * @module
 */
import { join } from "node:path";
import { Lab } from "../tests/lab/mod.ts";
import type { LabNode } from "../tests/lab/tailscaled.ts";
import { headscaleBin } from "../tests/lab/paths.ts";
import { runCommand } from "../tests/lab/run_command.ts";
import { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { TAILSCALE_RELEASES } from "../tests/lab/versions.ts";
import { PortClaims } from "../tests/lab/ports.ts";
import { type CpuProfile, Inspector, topSelfTime } from "./_inspector.ts";

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
const UP_TIMEOUT_S = 900;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

function rssMiB(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Runs headscale's CLI against the lab's headscale with a long gRPC deadline: among 10,000
 * nodes headscale takes minutes to register one, past the CLI's default 5 s (`cli.timeout`).
 */
async function headscaleSlowCli(lab: Lab, args: string[]): Promise<unknown> {
  const r = await runCommand(headscaleBin(), {
    args: ["-c", lab.headscaleConfig, "-o", "json", ...args],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: join(lab.headscaleConfig, ".."),
      HEADSCALE_CONFIG: lab.headscaleConfig,
      HEADSCALE_CLI_TIMEOUT: "900s",
    },
    clearEnv: true,
  }, 910_000);
  if (r.code !== 0) throw new Error(`headscale ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
}

/** Registers one node through headscale's CLI, as a node that logs in; returns its IPv4. */
async function registerNode(lab: Lab, name: string): Promise<{ id: number; ipv4: string }> {
  const authId = `hskey-authreq-${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
  await headscaleSlowCli(lab, [
    "debug",
    "create-node",
    "--name",
    name,
    "--user",
    "lab",
    "--key",
    authId,
  ]);
  const node = await headscaleSlowCli(lab, [
    "auth",
    "register",
    "--auth-id",
    authId,
    "--user",
    "lab",
  ]) as { id?: number; ip_addresses?: string[] };
  const ipv4 = node.ip_addresses?.find((a) => a.includes("."));
  if (node.id === undefined || ipv4 === undefined) {
    throw new Error(`headscale auth register: no id or address in ${JSON.stringify(node)}`);
  }
  return { id: node.id, ipv4 };
}

/** Clones node `seedId`'s row `count` times in headscale's database (headscale stopped). */
async function cloneNodes(db: string, seedId: number, count: number): Promise<void> {
  // Addresses 100.65.0.0/16 and fd7a:115c:a1e0::2:0/112: inside headscale's prefixes, away
  // from 100.64.0.x and ::N, which its sequential allocator gives the nodes that join next.
  const sql = `
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ${count})
INSERT INTO nodes (machine_key, node_key, disco_key, endpoints, host_info, ipv4, ipv6, hostname,
  given_name, user_id, register_method, tags, auth_key_id, expiry, last_seen, approved_routes,
  created_at, updated_at)
SELECT 'mkey:' || lower(hex(randomblob(32))), 'nodekey:' || lower(hex(randomblob(32))),
  'discokey:' || lower(hex(randomblob(32))), '[]',
  '{"Hostname":"bulk-' || i || '","OS":"linux"}',
  '100.65.' || (i / 250) || '.' || (1 + i % 250), 'fd7a:115c:a1e0::2:' || printf('%x', i),
  'bulk-' || i, 'bulk-' || i, s.user_id, s.register_method, s.tags, s.auth_key_id, s.expiry,
  s.last_seen, s.approved_routes, s.created_at, s.updated_at
FROM seq, (SELECT * FROM nodes WHERE id = ${seedId}) AS s;
SELECT count(*) FROM nodes;`;
  const r = await runCommand("sqlite3", { args: [db, sql] }, 120_000);
  if (r.code !== 0) throw new Error(`sqlite3: ${r.stderr}`);
  console.error(`headscale's database now holds ${r.stdout.trim()} nodes`);
}

/** What one daemon is measured through. */
interface Subject {
  name: string;
  pid: () => number;
  up: () => Promise<void>;
  peerCount: () => Promise<number>;
  knows: (ip: string) => Promise<boolean>;
  statusJson: () => Promise<void>;
}

/** Figures of one daemon. */
interface Figures {
  runningMs: number;
  allPeersMs: number;
  joinCpuS: number;
  rss: number;
  statusMs: number;
  changeMs: number;
}

async function joinAndMeasure(
  s: Subject,
  peers: number,
  joined?: () => Promise<void>,
): Promise<Omit<Figures, "changeMs">> {
  const cpu0 = cpuSeconds(s.pid());
  const t0 = performance.now();
  await s.up();
  const runningMs = performance.now() - t0;
  while ((await s.peerCount()) < peers) await sleep(100);
  const allPeersMs = performance.now() - t0;
  const joinCpuS = cpuSeconds(s.pid()) - cpu0;
  await joined?.();
  await sleep(5000);
  const rss = rssMiB(s.pid());
  const t1 = performance.now();
  await s.statusJson();
  const statusMs = performance.now() - t1;
  const fig = { runningMs, allPeersMs, joinCpuS, rss, statusMs };
  console.error(`${s.name}: ${JSON.stringify(fig)}`);
  return fig;
}

async function untilKnown(s: Subject, ip: string, t0: number): Promise<number> {
  for (let i = 0; i < 6000; i++) {
    if (await s.knows(ip)) return performance.now() - t0;
    await sleep(50);
  }
  throw new Error(`${s.name} never learned ${ip}`);
}

await using lab = await Lab.start({ tailscaleds: 0, tailscaleVersion: RELEASE });
const seed = await registerNode(lab, "seed");
if (NODES > 1) {
  await lab.stopHeadscale();
  await cloneNodes(join(lab.headscaleConfig, "..", "db.sqlite"), seed.id, NODES - 1);
  const t = performance.now();
  await lab.startHeadscale(900_000);
  console.error(
    `headscale restarted with ${NODES} nodes in ${(performance.now() - t).toFixed(0)} ms`,
  );
}

const real: LabNode = await lab.addTailscaled({ authKey: "" });
const realSubject: Subject = {
  name: "tailscaled",
  pid: () => real.process!.pid,
  up: async () => {
    await real.cliOk([
      "up",
      `--login-server=${lab.controlUrl}`,
      `--authkey=${lab.authKey}`,
      `--hostname=${real.name}`,
      `--timeout=${UP_TIMEOUT_S}s`,
    ], { timeoutMs: (UP_TIMEOUT_S + 10) * 1000 });
  },
  peerCount: async () => Object.keys((await real.status()).Peer ?? {}).length,
  knows: async (ip) => (await real.cli(["whois", ip])).code === 0,
  statusJson: async () => void await real.cliOk(["status", "--json"]),
};
const ports = new PortClaims(`control-scale-${Deno.pid}`);
await using _ports = { [Symbol.asyncDispose]: () => ports.releaseAll() };
const inspectPort = PROFILE ? await ports.claim() : 0;
await using ours = await TailnetDaemon.create({
  denoFlags: PROFILE ? [`--inspect=127.0.0.1:${inspectPort}`] : [],
});
const inspector = PROFILE ? await Inspector.connect(inspectPort) : undefined;
if (inspector) {
  await inspector.call("Profiler.enable");
  await inspector.call("Profiler.setSamplingInterval", { interval: 500 });
}

/** Stops the running profile, writes it to `file` and prints its top functions. */
async function saveProfile(file: string, what: string): Promise<void> {
  if (!inspector) return;
  const { profile } = await inspector.call("Profiler.stop") as { profile: CpuProfile };
  await Deno.writeTextFile(file, JSON.stringify(profile));
  const s = (profile.endTime - profile.startTime) / 1e6;
  console.log(`\nprofile of ${what}: ${file} (${s.toFixed(1)} s), self time, top 25:`);
  for (const f of topSelfTime(profile, 25)) {
    console.log(
      `${(f.share * 100).toFixed(1).padStart(5)}% ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}`,
    );
  }
}
const ourSubject: Subject = {
  name: "tailnet",
  pid: () => ours.pid!,
  up: async () => {
    const r = await ours.cli([
      "up",
      "--login-server",
      lab.controlUrl,
      "--authkey",
      lab.authKey,
      "--hostname",
      "tn-scale",
      "--timeout",
      `${UP_TIMEOUT_S}s`,
    ], (UP_TIMEOUT_S + 10) * 1000);
    if (r.code !== 0) throw new Error(`tailnet up: exit ${r.code} ${r.stderr}${r.stdout}`);
  },
  peerCount: async () => {
    const r = await ours.cli(["status", "--json"], 120_000);
    return Object.keys((JSON.parse(r.stdout) as { Peer?: object }).Peer ?? {}).length;
  },
  knows: async (ip) => (await ours.cli(["whois", ip])).code === 0,
  statusJson: async () => {
    const r = await ours.cli(["status", "--json"], 120_000);
    if (r.code !== 0) throw new Error(`tailnet status: ${r.stderr}`);
  },
};

// One at a time, so neither joins while the other is busy; the real one joins first, so ours
// sees it as one more peer.
const realFig = await joinAndMeasure(realSubject, NODES);
await inspector?.call("Profiler.start");
const ourFig = await joinAndMeasure(ourSubject, NODES + 1, () => saveProfile(PROFILE!, "the join"));

await sleep(2000);
await inspector?.call("Profiler.start");
const added = await registerNode(lab, "added");
const t0 = performance.now();
const [realChange, ourChange] = await Promise.all([
  untilKnown(realSubject, added.ipv4, t0),
  untilKnown(ourSubject, added.ipv4, t0),
]);
await saveProfile(`${PROFILE}.change.cpuprofile`, "the one peer change");
inspector?.close();
const realAll: Figures = { ...realFig, changeMs: realChange };
const ourAll: Figures = { ...ourFig, changeMs: ourChange };

const row = (what: string, key: keyof Figures, unit: string) =>
  console.log(
    `${what.padEnd(46)} tailnet ${ourAll[key].toFixed(1).padStart(9)} ${unit.padEnd(4)}` +
      ` tailscaled ${realAll[key].toFixed(1).padStart(9)} ${unit.padEnd(4)} ratio ${
        (ourAll[key] / realAll[key]).toFixed(2)
      }`,
  );
console.log(
  `\ntailnet vs tailscaled ${RELEASE}, headscale with ${NODES} registered nodes (lower is better)`,
);
row("time from up to Running", "runningMs", "ms");
row(`time from up until status lists all peers`, "allPeersMs", "ms");
row("daemon CPU from up until all peers", "joinCpuS", "s");
row("RSS with that netmap", "rss", "MiB");
row("one status --json (CLI run included)", "statusMs", "ms");
row("one node added: until whois knows it", "changeMs", "ms");
