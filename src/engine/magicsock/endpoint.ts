/**
 * One peer as the path layer sees it: its keys, its home DERP region and the paths a datagram
 * could take to it. Since capability version 124 WireGuard identifies peers by key, not by
 * source address, so the path layer hands WireGuard one {@linkcode Endpoint} per peer node key
 * and decides itself which path a datagram takes: the best direct `ip:port` path while disco
 * pongs keep it trusted, DERP otherwise. The candidates, the best one and the timestamps that
 * drive pings and heartbeats are kept here; `conn.ts` acts on them.
 * @module
 */
import { type DiscoPublic, type NodePublic, shortKey } from "../key/keys.ts";
import { formatIpAddr, parseIpAddr } from "../wire/ip_addr.ts";
import { PING_TXIDS_REMEMBERED } from "./constants.ts";

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
  /** The best direct path found by disco, or null: DERP. Used while trusted. */
  bestAddr: PathCandidate | null = null;
  /** Until when (monotonic ms) {@linkcode Endpoint.bestAddr} is trusted without a new pong. */
  trustBestAddrUntil = 0;
  /** When the peer last answered one of our disco pings (monotonic ms), or null. */
  lastPongAt: number | null = null;
  /** When we last pinged every candidate (monotonic ms), or null. */
  lastFullPingAt: number | null = null;
  /** When its last call-me-maybe was acted on (monotonic ms), or null. */
  lastCallMeMaybeAt: number | null = null;
  /** When WireGuard last sent to this peer (monotonic ms), or null: "active" for heartbeats. */
  lastSendAt: number | null = null;

  /** The peer's last disco ping txids (hex), oldest first. */
  readonly #pingTxids: string[] = [];

  /** @param nodeKey the peer's node public key */
  constructor(nodeKey: NodePublic) {
    this.nodeKey = nodeKey;
    this.addrBytes = nodeKey;
  }

  /**
   * Notes a disco ping's txid from this peer.
   * @param txid the txid as a map key
   * @returns false when it was seen already (a replay), true for a new one
   */
  notePingTxid(txid: string): boolean {
    if (this.#pingTxids.includes(txid)) return false;
    this.#pingTxids.push(txid);
    if (this.#pingTxids.length > PING_TXIDS_REMEMBERED) this.#pingTxids.shift();
    return true;
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
  return parseCandidatesInto([], texts);
}

/**
 * A candidate for one `ip:port`.
 * @param ip 4 or 16 bytes
 * @param port the port
 * @returns a candidate not yet pinged
 */
export function candidate(ip: Uint8Array, port: number): PathCandidate {
  const text = ip.length === 4 ? `${formatIpAddr(ip)}:${port}` : `[${formatIpAddr(ip)}]:${port}`;
  return { ip, port, text, lastPingAt: null, lastPongAt: null, latencyMs: null };
}

function parseCandidatesInto(out: PathCandidate[], texts: readonly string[]): PathCandidate[] {
  const seen = new Set<string>(out.map((c) => c.text));
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
    const c = candidate(ip, port);
    if (seen.has(c.text)) continue;
    seen.add(c.text);
    out.push(c);
  }
  return out;
}
