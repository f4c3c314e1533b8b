/**
 * The path layer's peers, indexed three ways: by node key (WireGuard and DERP name peers so),
 * by disco key (a disco message names its sender so) and by `ip:port` (a direct UDP datagram
 * is known only by where it came from). Keys are the bytes themselves, as one-byte-per-char
 * strings ({@linkcode bytesKey}), not hex.
 * @module
 */
import type { DiscoPublic, NodePublic } from "../key/keys.ts";
import { Endpoint, type PathCandidate } from "./endpoint.ts";

/** What the peer map needs of a peer. */
export interface PeerMapEntry {
  /** Node key. */
  nodeKey: NodePublic;
  /** Disco key, or null. */
  discoKey: DiscoPublic | null;
  /** Home DERP region, 0 when unknown. */
  homeDerp: number;
  /** Candidate paths. */
  candidates: PathCandidate[];
}

/**
 * A Map key holding `b`'s bytes, one per UTF-16 unit: cheaper than hex and as exact.
 * @param b bytes (a key, or an address)
 * @returns the key
 */
export function bytesKey(b: Uint8Array): string {
  return String.fromCharCode.apply(null, b as unknown as number[]);
}

/**
 * The key of an `ip:port`.
 * @param ip 4 or 16 bytes @param port the port
 * @returns the key
 */
export function addrPortKey(ip: Uint8Array, port: number): string {
  return bytesKey(ip) + String.fromCharCode(port >>> 8, port & 0xff);
}

/** The peers of one node. */
export class PeerMap {
  readonly #byNode = new Map<string, Endpoint>();
  readonly #byDisco = new Map<string, Endpoint>();
  readonly #byAddr = new Map<string, Endpoint>();

  /** Number of peers. */
  get size(): number {
    return this.#byNode.size;
  }

  /** @param nodeKey a node key @returns its peer, or undefined */
  byNodeKey(nodeKey: NodePublic): Endpoint | undefined {
    return this.#byNode.get(bytesKey(nodeKey));
  }

  /** @param discoKey a disco key @returns its peer, or undefined */
  byDiscoKey(discoKey: DiscoPublic): Endpoint | undefined {
    return this.#byDisco.get(bytesKey(discoKey));
  }

  /** @param ip 4 or 16 bytes @param port a UDP port @returns the peer with that path, or undefined */
  byAddrPort(ip: Uint8Array, port: number): Endpoint | undefined {
    return this.#byAddr.get(addrPortKey(ip, port));
  }

  /**
   * Replaces the set of peers: existing endpoints are updated in place (WireGuard keeps its
   * reference to them), new ones created, the rest removed.
   * @param peers every peer
   * @returns the endpoints removed
   */
  replace(peers: readonly PeerMapEntry[]): Endpoint[] {
    const keep = new Set(peers.map((p) => bytesKey(p.nodeKey)));
    const gone: NodePublic[] = [];
    for (const [id, ep] of this.#byNode) if (!keep.has(id)) gone.push(ep.nodeKey);
    return this.update(peers, gone);
  }

  /**
   * Changes some peers and leaves the others alone, so a reconfig costs what changed: each
   * entry of `changed` updates its peer's endpoint in place (WireGuard keeps its reference to
   * it) or adds a new one; each key of `removed` drops its peer.
   * @param changed peers added or changed
   * @param removed node keys of peers gone
   * @returns the endpoints removed
   */
  update(changed: readonly PeerMapEntry[], removed: readonly NodePublic[]): Endpoint[] {
    const out: Endpoint[] = [];
    for (const key of removed) {
      const id = bytesKey(key);
      const ep = this.#byNode.get(id);
      if (ep === undefined) continue;
      this.#byNode.delete(id);
      this.#unindex(ep);
      out.push(ep);
    }
    for (const p of changed) {
      const id = bytesKey(p.nodeKey);
      let ep = this.#byNode.get(id);
      if (ep === undefined) {
        ep = new Endpoint(p.nodeKey.slice() as NodePublic);
        this.#byNode.set(id, ep);
      } else {
        this.#unindex(ep);
      }
      ep.discoKey = p.discoKey;
      ep.homeDerp = p.homeDerp;
      // A candidate control still lists keeps what we learned about it (pings, pongs).
      const known = new Map(ep.candidates.map((c) => [c.text, c]));
      ep.candidates = p.candidates.map((c) => known.get(c.text) ?? c);
      // A path learned from the peer's own disco ping stays while it works.
      if (ep.bestAddr !== null && !ep.candidates.includes(ep.bestAddr)) {
        ep.candidates.push(ep.bestAddr);
      }
      if (p.discoKey !== null) this.#byDisco.set(bytesKey(p.discoKey), ep);
      for (const c of ep.candidates) this.#byAddr.set(addrPortKey(c.ip, c.port), ep);
    }
    return out;
  }

  /** Drops `ep`'s disco key and paths from the indexes (where they still point at it). */
  #unindex(ep: Endpoint): void {
    if (ep.discoKey !== null) {
      const k = bytesKey(ep.discoKey);
      if (this.#byDisco.get(k) === ep) this.#byDisco.delete(k);
    }
    for (const c of ep.candidates) {
      const k = addrPortKey(c.ip, c.port);
      if (this.#byAddr.get(k) === ep) this.#byAddr.delete(k);
    }
  }

  /**
   * Adds a path learned from the peer itself (the source of its disco ping, a CallMeMaybe
   * endpoint) unless known, and indexes it.
   * @param ep the peer
   * @param c the path
   * @returns the peer's candidate for that address (the existing one when known)
   */
  addCandidate(ep: Endpoint, c: PathCandidate): PathCandidate {
    const known = ep.candidates.find((k) => k.text === c.text);
    if (known !== undefined) return known;
    ep.candidates.push(c);
    this.#byAddr.set(addrPortKey(c.ip, c.port), ep);
    return c;
  }

  /** Every peer. */
  [Symbol.iterator](): IterableIterator<Endpoint> {
    return this.#byNode.values();
  }
}
