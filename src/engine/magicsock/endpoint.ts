/**
 * One peer as the path layer sees it: its keys, its home DERP region and the paths a datagram
 * could take to it. Since capability version 124 WireGuard identifies peers by key, not by
 * source address, so the path layer hands WireGuard one {@linkcode Endpoint} per peer node key
 * and decides itself which path a datagram takes: DERP today; the candidate `ip:port` paths,
 * the best one and its last pong are kept here for the direct-paths issue to fill and use.
 * @module
 */
import { type DiscoPublic, type NodePublic, shortKey } from "../key/keys.ts";
import { formatIpAddr, parseIpAddr } from "../wire/ip_addr.ts";

/** One candidate direct path: a UDP address of the peer. */
export interface PathCandidate {
  /** The peer's IP, 4 or 16 bytes. */
  readonly ip: Uint8Array;
  /** Its UDP port. */
  readonly port: number;
  /** `ip:port` text (`[v6]:port`), for logs and status. */
  readonly text: string;
  /** When we last sent it a disco ping (monotonic ms), or null. */
  lastPingAt: number | null;
  /** When it last answered with a pong (monotonic ms), or null. */
  lastPongAt: number | null;
  /** The round trip of that pong, or null. */
  latencyMs: number | null;
}

/** One peer's endpoint: the object WireGuard sends to. */
export class Endpoint {
  /** The peer's node public key. */
  readonly nodeKey: NodePublic;
  /** The node key's bytes: stable per peer, as WireGuard's cookie MAC needs. */
  readonly addrBytes: Uint8Array;
  /** The peer's disco key, or null when control sent none (no disco with it). */
  discoKey: DiscoPublic | null = null;
  /** The peer's home DERP region, 0 when unknown (ours is used then). */
  homeDerp = 0;
  /** Candidate direct paths, in the order control listed them. */
  candidates: PathCandidate[] = [];
  /** The direct path in use, or null: DERP. Always null until direct paths are built. */
  bestAddr: PathCandidate | null = null;
  /** When the peer last answered one of our disco pings (monotonic ms), or null. */
  lastPongAt: number | null = null;

  /** @param nodeKey the peer's node public key */
  constructor(nodeKey: NodePublic) {
    this.nodeKey = nodeKey;
    this.addrBytes = nodeKey;
  }

  /** Text for logs: `peer[abcde]`. */
  toString(): string {
    return `peer${shortKey(this.nodeKey)}`;
  }
}

/**
 * Candidate paths from control's `ip:port` endpoint texts (`1.2.3.4:41641`, `[::1]:41641`);
 * malformed ones are skipped, duplicates kept once.
 * @param texts the netmap's endpoints
 * @returns the candidates, not yet pinged
 */
export function parseCandidates(texts: readonly string[]): PathCandidate[] {
  const out: PathCandidate[] = [];
  const seen = new Set<string>();
  for (const t of texts) {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(t);
    if (m === null) continue;
    const port = Number(m[3]);
    if (port > 65535) continue;
    let ip: Uint8Array;
    try {
      ip = parseIpAddr(m[1] ?? m[2]);
    } catch {
      continue;
    }
    const text = ip.length === 4 ? `${formatIpAddr(ip)}:${port}` : `[${formatIpAddr(ip)}]:${port}`;
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ ip, port, text, lastPingAt: null, lastPongAt: null, latencyMs: null });
  }
  return out;
}
