/**
 * Control-plane scale: a real headscale holding N registered nodes, and each daemon joining it,
 * measured the same way (time from `up` to Running and until `status --json` lists every peer,
 * its CPU time meanwhile, RSS with that netmap, one `status --json`, one peer change).
 *
 * How the N nodes are made: one node is registered the way headscale's CLI does it, then, with
 * headscale stopped, its row in headscale's sqlite `nodes` table is cloned N-1 times with fresh
 * random machine, node and disco keys, unique names and unique addresses (outside the range
 * headscale hands out next), and headscale is started again: it loads its nodes from that table
 * at start, so they are as real to it as nodes that registered and went offline. Registering
 * 10,000 nodes through the CLI would take two commands each.
 * @module
 */
import { join } from "node:path";
import type { Lab } from "../tests/lab/mod.ts";
import type { LabNode } from "../tests/lab/tailscaled.ts";
import { headscaleBin } from "../tests/lab/paths.ts";
import { runCommand } from "../tests/lab/run_command.ts";
import type { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { cpuSeconds, memoryOf } from "./_proc.ts";
import { upOurs, upReal } from "./_join.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long `up` may take among many nodes (headscale's work dominates at 10,000). */
export const SCALE_UP_TIMEOUT_S = 900;

/**
 * Runs headscale's CLI against the lab's headscale with a long gRPC deadline: among 10,000
 * nodes headscale takes minutes to register one, past the CLI's default 5 s (`cli.timeout`).
 * @param lab the lab
 * @param args the command line after `-o json`
 * @returns its parsed JSON output
 */
export async function headscaleSlowCli(lab: Lab, args: string[]): Promise<unknown> {
  const r = await runCommand(headscaleBin(), {
    args: ["-c", lab.headscaleConfig, "-o", "json", ...args],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: join(lab.headscaleConfig, ".."),
      HEADSCALE_CONFIG: lab.headscaleConfig,
      HEADSCALE_CLI_TIMEOUT: `${SCALE_UP_TIMEOUT_S}s`,
    },
    clearEnv: true,
  }, (SCALE_UP_TIMEOUT_S + 10) * 1000);
  if (r.code !== 0) throw new Error(`headscale ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
}

/**
 * Registers one node through headscale's CLI, as a node that logs in.
 * @param lab the lab
 * @param name its name
 * @returns its id and IPv4
 */
export async function registerNode(lab: Lab, name: string): Promise<{ id: number; ipv4: string }> {
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

/**
 * Clones node `seedId`'s row `count` times in headscale's database (headscale stopped).
 * @param db the sqlite file
 * @param seedId the node to clone
 * @param count how many clones
 * @returns how many nodes the table holds now
 */
export async function cloneNodes(db: string, seedId: number, count: number): Promise<number> {
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
  return Number(r.stdout.trim());
}

/**
 * Fills the lab's headscale with `nodes` registered nodes (one registered, the rest cloned),
 * restarting headscale to load them.
 * @param lab a lab with headscale running
 * @param nodes how many nodes to add
 * @returns the registered one (the rest are its clones) and how long headscale took to load
 */
export async function fillHeadscale(
  lab: Lab,
  nodes: number,
): Promise<{ seed: { id: number; ipv4: string }; loadMs: number }> {
  const seed = await registerNode(lab, "seed");
  if (nodes <= 1) return { seed, loadMs: 0 };
  await lab.stopHeadscale();
  await cloneNodes(join(lab.headscaleConfig, "..", "db.sqlite"), seed.id, nodes - 1);
  const t = performance.now();
  await lab.startHeadscale(SCALE_UP_TIMEOUT_S * 1000);
  return { seed, loadMs: performance.now() - t };
}

/** What one daemon is measured through. */
export interface ScaleSubject {
  /** "tailnet" or "tailscaled". */
  name: string;
  /** Its process id. */
  pid: () => number;
  /** Joins the tailnet (registers); resolves when the CLI returns (Running). */
  up: () => Promise<void>;
  /** `down`: stays registered, disconnects. */
  down: () => Promise<void>;
  /** A plain `up` again after `down`; resolves when the CLI returns (Running). */
  upAgain: () => Promise<void>;
  /** The name it gives a tailnet address (`whois`), "" when it knows none. */
  nameOf: (ip: string) => Promise<string>;
  /** How many peers its `status --json` lists. */
  peerCount: () => Promise<number>;
  /** One `status --json`. */
  statusJson: () => Promise<void>;
}

/** Figures of one daemon among many nodes. */
export interface ScaleFigures {
  /** From `up` (already registered) to Running (the CLI returns), ms. */
  runningMs: number;
  /** From `up` until `status --json` lists every peer, ms. */
  allPeersMs: number;
  /** The daemon's CPU seconds over that time. */
  joinCpuS: number;
  /** Its RSS with that netmap, MiB. */
  rss: number;
  /** One `status --json`, CLI start included, ms. */
  statusMs: number;
}

/**
 * Has a (registered, down) daemon come up among many nodes, and measures it.
 * @param s the daemon
 * @param peers how many peers it must list
 * @param settleMs how long to wait before reading RSS
 * @returns its figures
 */
export async function joinAndMeasure(
  s: ScaleSubject,
  peers: number,
  settleMs = 5000,
): Promise<ScaleFigures> {
  const cpu0 = cpuSeconds(s.pid());
  const t0 = performance.now();
  await s.upAgain();
  const runningMs = performance.now() - t0;
  while ((await s.peerCount()) < peers) await sleep(100);
  const allPeersMs = performance.now() - t0;
  const joinCpuS = cpuSeconds(s.pid()) - cpu0;
  await sleep(settleMs);
  const rss = memoryOf(s.pid()).total;
  const t1 = performance.now();
  await s.statusJson();
  const statusMs = performance.now() - t1;
  return { runningMs, allPeersMs, joinCpuS, rss, statusMs };
}

/**
 * Milliseconds from `t0` until the daemon names `ip` with `name` (polled every 50 ms).
 * @param s the daemon
 * @param ip the peer's address
 * @param name its new name (the first label of its MagicDNS name)
 * @param t0 when the change was made
 * @returns the milliseconds
 */
export async function untilNamed(
  s: ScaleSubject,
  ip: string,
  name: string,
  t0: number,
): Promise<number> {
  for (let i = 0; i < 6000; i++) {
    if ((await s.nameOf(ip)).startsWith(`${name}.`)) return performance.now() - t0;
    await sleep(50);
  }
  throw new Error(`${s.name} never learned that ${ip} is now ${name}`);
}

/**
 * A real tailscaled (started, not joined) as a scale subject.
 * @param lab the lab
 * @param real the node
 * @returns the subject
 */
export function realScaleSubject(lab: Lab, real: LabNode): ScaleSubject {
  return {
    name: "tailscaled",
    pid: () => real.process!.pid,
    up: () => upReal(lab, real, SCALE_UP_TIMEOUT_S),
    peerCount: async () => Object.keys((await real.status()).Peer ?? {}).length,
    down: async () => void await real.cliOk(["down"]),
    upAgain: () => upReal(lab, real, SCALE_UP_TIMEOUT_S, ""),
    nameOf: async (ip) => whoisName(await real.cli(["whois", "--json", ip])),
    statusJson: async () => void await real.cliOk(["status", "--json"]),
  };
}

/**
 * Our daemon (started, not joined) as a scale subject.
 * @param lab the lab
 * @param ours the daemon
 * @param hostname its name on the tailnet
 * @returns the subject
 */
export function ourScaleSubject(lab: Lab, ours: TailnetDaemon, hostname: string): ScaleSubject {
  return {
    name: "tailnet",
    pid: () => ours.pid!,
    up: () => upOurs(lab, ours, hostname, SCALE_UP_TIMEOUT_S),
    peerCount: async () => {
      const r = await ours.cli(["status", "--json"], 120_000);
      return Object.keys((JSON.parse(r.stdout) as { Peer?: object }).Peer ?? {}).length;
    },
    down: async () => {
      const r = await ours.cli(["down"]);
      if (r.code !== 0) throw new Error(`tailnet down: ${r.stderr}`);
    },
    upAgain: () => upOurs(lab, ours, hostname, SCALE_UP_TIMEOUT_S, ""),
    nameOf: async (ip) => whoisName(await ours.cli(["whois", "--json", ip])),
    statusJson: async () => {
      const r = await ours.cli(["status", "--json"], 120_000);
      if (r.code !== 0) throw new Error(`tailnet status: ${r.stderr}`);
    },
  };
}

/** The node name in a `whois --json` answer ("" when there is none). */
function whoisName(r: { code: number; stdout: string }): string {
  if (r.code !== 0) return "";
  try {
    return (JSON.parse(r.stdout) as { Node?: { Name?: string } }).Node?.Name ?? "";
  } catch {
    return "";
  }
}

/** Both daemons' figures at one control-plane size. */
export interface ScaleRun {
  /** Nodes headscale held besides the two daemons. */
  nodes: number;
  /** How long headscale took to load them. */
  headscaleLoadMs: number;
  /** Each daemon's figures, with the time it took to learn one peer's new name. */
  real: ScaleFigures & { changeMs: number };
  ours: ScaleFigures & { changeMs: number };
}

/**
 * The whole control-plane measurement at one size: a real tailscaled and our daemon join an
 * empty tailnet and go `down` (registered, so headscale's minutes-long registration among
 * 10,000 nodes is not what is timed), headscale is filled with `nodes` more and restarted, then
 * both come `up` again at once and are measured (headscale answers one first: each daemon's
 * CPU time is the figure of its own work); last, one peer is renamed through headscale
 * (`nodes rename`, a change every peer is sent) and both are timed until `whois` names it anew.
 * @param lab a lab with headscale and no nodes
 * @param ours our daemon, started, not joined
 * @param nodes how many nodes to fill headscale with
 * @param settleMs how long each daemon settles before its RSS is read
 * @param progress where to say what runs
 * @param onPhase called at the start and end of the join and of the one change (a profiler
 *   of our daemon starts and stops there)
 * @returns both daemons' figures
 */
export async function measureScale(
  lab: Lab,
  ours: TailnetDaemon,
  nodes: number,
  settleMs: number,
  progress: (line: string) => void = () => {},
  onPhase: (phase: "join" | "change", edge: "start" | "end") => Promise<void> = () =>
    Promise.resolve(),
): Promise<ScaleRun> {
  const realSubject = realScaleSubject(lab, await lab.addTailscaled({ authKey: "" }));
  const ourSubject = ourScaleSubject(lab, ours, "tn-scale");
  for (const s of [realSubject, ourSubject]) {
    await s.up();
    await s.down();
  }
  progress(`scale ${nodes}: filling headscale`);
  const { seed, loadMs } = await fillHeadscale(lab, nodes);
  // Both at once: among 10,000 nodes headscale takes minutes to answer one node's first map
  // request, one after the other would double that. Each daemon's CPU time is its own share.
  progress(`scale ${nodes}: both come up`);
  await onPhase("join", "start");
  const [real, our] = await Promise.all([
    joinAndMeasure(realSubject, nodes + 1, settleMs),
    joinAndMeasure(ourSubject, nodes + 1, settleMs),
  ]);
  await onPhase("join", "end");
  progress(`scale ${nodes}: one peer renamed`);
  await onPhase("change", "start");
  await headscaleSlowCli(lab, ["nodes", "rename", "--identifier", String(seed.id), "renamed"]);
  const t0 = performance.now();
  const [realChange, ourChange] = await Promise.all([
    untilNamed(realSubject, seed.ipv4, "renamed", t0),
    untilNamed(ourSubject, seed.ipv4, "renamed", t0),
  ]);
  await onPhase("change", "end");
  return {
    nodes,
    headscaleLoadMs: loadMs,
    real: { ...real, changeMs: realChange },
    ours: { ...our, changeMs: ourChange },
  };
}
