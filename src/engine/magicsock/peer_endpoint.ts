/**
 * A peer as a WireGuard endpoint. Since capability version 124 WireGuard identifies peers by
 * key, not by source address, so the path layer hands WireGuard one endpoint per peer node key
 * and decides itself which path (DERP now, direct UDP later) a datagram takes.
 * @module
 */
import { type NodePublic, shortKey, toHex } from "../key/keys.ts";

/** The endpoint of one peer, named by its node key. */
export class PeerEndpoint {
  /** The peer's node public key. */
  readonly nodeKey: NodePublic;
  /** The node key's bytes: stable per peer, as WireGuard's cookie MAC needs. */
  readonly addrBytes: Uint8Array;
  /** Hex of the node key, for map lookups. */
  readonly id: string;

  /** @param nodeKey the peer's node public key */
  constructor(nodeKey: NodePublic) {
    this.nodeKey = nodeKey;
    this.addrBytes = nodeKey;
    this.id = toHex(nodeKey);
  }

  /** Text for logs: `peer[abcde]`. */
  toString(): string {
    return `peer${shortKey(this.nodeKey)}`;
  }
}
