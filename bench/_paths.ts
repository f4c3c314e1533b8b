/**
 * Which path a node uses to a peer, as `tailscale status` names it: `direct ADDR:PORT` or
 * `relay "REGION"`, read from our daemon's or a real tailscaled's `status --json`.
 * @module
 */
import type { LabNode } from "../tests/lab/tailscaled.ts";
import type { TailnetDaemon } from "../tests/lab/tailnet_daemon.ts";

/** The fields of one peer in `status --json` that name its path. */
interface PeerPath {
  CurAddr?: string;
  Relay?: string;
  PublicKey?: string;
}

/**
 * `direct ADDR:PORT` or `relay "REGION"`.
 * @param p the peer's status, or undefined when it is not listed
 * @returns the path's name
 */
export function pathName(p: PeerPath | undefined): string {
  if (p === undefined) return "unknown";
  return p.CurAddr ? `direct ${p.CurAddr}` : `relay "${p.Relay ?? "?"}"`;
}

/** A node whose status can be read: a real tailscaled or our daemon. */
export type StatusNode = LabNode | TailnetDaemon;

/**
 * The node's own public key.
 * @param node the node
 * @returns its node key ("nodekey:…")
 */
export async function keyOf(node: StatusNode): Promise<string> {
  return (await node.status()).Self?.PublicKey ?? "";
}

/**
 * The path `node` uses to the peer with public key `key`.
 * @param node the node
 * @param key the peer's node key
 * @returns the path's name
 */
export async function pathTo(node: StatusNode, key: string): Promise<string> {
  const st = await node.status();
  const peers = Object.values(st.Peer ?? {}) as PeerPath[];
  return pathName(peers.find((p) => p.PublicKey === key));
}
