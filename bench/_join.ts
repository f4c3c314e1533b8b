/**
 * `up` as a user runs it, for our daemon and for a real tailscaled alike (a pre-auth key, the
 * lab's headscale, a timeout), timed from the command to the CLI's return (Running), and
 * optionally on to the first packet a peer answers.
 * @module
 */
import type { Lab } from "../tests/lab/mod.ts";
import type { LabNode } from "../tests/lab/tailscaled.ts";
import type { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";
import { firstPacketMs, type ProbeTarget } from "./_probe.ts";

/**
 * `tailscale up` on a started, not joined, real tailscaled.
 * @param lab the lab
 * @param node the node
 * @param timeoutS the CLI's `--timeout`
 * @param authKey the pre-auth key; "" for a node already registered (`up` after `down`)
 */
export async function upReal(
  lab: Lab,
  node: LabNode,
  timeoutS = 30,
  authKey = lab.authKey,
): Promise<void> {
  await node.cliOk([
    "up",
    `--login-server=${lab.controlUrl}`,
    ...(authKey ? [`--authkey=${authKey}`] : []),
    `--hostname=${node.name}`,
    `--timeout=${timeoutS}s`,
  ], { timeoutMs: (timeoutS + 10) * 1000 });
}

/**
 * `tailnet up` on a started, not joined, daemon of ours.
 * @param lab the lab
 * @param daemon the daemon
 * @param hostname its name on the tailnet
 * @param timeoutS the CLI's `--timeout`
 * @param authKey the pre-auth key; "" for a node already registered (`up` after `down`)
 */
export async function upOurs(
  lab: Lab,
  daemon: TailnetDaemon,
  hostname: string,
  timeoutS = 30,
  authKey = lab.authKey,
): Promise<void> {
  const r = await daemon.cli([
    "up",
    "--login-server",
    lab.controlUrl,
    ...(authKey ? ["--authkey", authKey] : []),
    "--hostname",
    hostname,
    "--timeout",
    `${timeoutS}s`,
  ], (timeoutS + 10) * 1000);
  if (r.code !== 0) throw new Error(`tailnet up: exit ${r.code} ${r.stderr}${r.stdout}`);
}

/** How long joining took. */
export interface JoinTimes {
  /** From `up` to Running (the CLI returns), ms. */
  runningMs: number;
  /** From `up` to the first echo a peer answers through the node's proxy, ms. */
  firstPacketMs: number;
}

/**
 * Runs `up`, then probes until a peer answers.
 * @param up the `up` to run
 * @param target the node's proxy, the peer's IP and its echo port
 * @returns both times
 */
export async function timeJoin(up: () => Promise<void>, target: ProbeTarget): Promise<JoinTimes> {
  const t0 = performance.now();
  await up();
  const runningMs = performance.now() - t0;
  return { runningMs, firstPacketMs: await firstPacketMs(t0, target) };
}
