/**
 * Routes in both directions, as tailscaled's userspace engine decides them:
 * - {@linkcode RoutedPrefixes}: what this node relays for peers (its advertised subnet routes,
 *   or everything for an exit node). Tailscale's own ranges, loopback, multicast and the
 *   unspecified addresses are never relayed: a peer must not reach this machine's loopback
 *   services, or another peer, by sending to them through us.
 * - {@linkcode peerForDestination}: the peer whose AllowedIPs hold an address, longest prefix
 *   first (Go's `userspaceEngine.PeerForIP`), which is how outbound dials through the stack
 *   pick a subnet router or the exit node.
 * @module
 */
import type { PeerConfig } from "./config.ts";
import { type IpPrefix, parseIpAddr, parseIpPrefix, prefixContainsAt } from "./wire/ip_addr.ts";

/** Destinations never relayed, whatever the advertised routes say. */
const NEVER_RELAYED: readonly IpPrefix[] = [
  "100.64.0.0/10",
  "fd7a:115c:a1e0::/48",
  "127.0.0.0/8",
  "0.0.0.0/8",
  "224.0.0.0/4",
  "255.255.255.255/32",
  "::1/128",
  "::/128",
  "ff00::/8",
].map(parseIpPrefix);

/** The prefixes this node relays for peers (subnet router or exit node). */
export class RoutedPrefixes {
  readonly #prefixes: readonly IpPrefix[];

  /**
   * @param prefixes advertised routes (`10.0.0.0/24`, `0.0.0.0/0`, `::/0`); bad ones skipped
   */
  constructor(prefixes: readonly string[]) {
    const out: IpPrefix[] = [];
    for (const text of prefixes) {
      try {
        out.push(parseIpPrefix(text));
      } catch {
        // a prefix control or prefs could not parse routes nothing
      }
    }
    this.#prefixes = out;
  }

  /** Whether there is anything to relay. */
  get empty(): boolean {
    return this.#prefixes.length === 0;
  }

  /**
   * Whether a destination is relayed (the stack's `setRouted` predicate).
   * @param b bytes holding the address @param off its offset @param len 4 or 16
   * @returns true when a route covers it and it is not a never-relayed address
   */
  readonly contains = (b: Uint8Array, off: number, len: number): boolean => {
    let hit = false;
    for (const p of this.#prefixes) {
      if (prefixContainsAt(p, b, off, len)) {
        hit = true;
        break;
      }
    }
    if (!hit) return false;
    for (const p of NEVER_RELAYED) if (prefixContainsAt(p, b, off, len)) return false;
    return true;
  };
}

/**
 * The peer WireGuard sends a packet for `ip` to: the longest AllowedIPs prefix holding it.
 * @param peers the configured peers
 * @param ip an address literal
 * @returns the peer and the matching prefix length, or null when no peer routes it
 */
export function peerForDestination(
  peers: readonly PeerConfig[],
  ip: string,
): { peer: PeerConfig; bits: number } | null {
  let addr: Uint8Array;
  try {
    addr = parseIpAddr(ip);
  } catch {
    return null;
  }
  let best: { peer: PeerConfig; bits: number } | null = null;
  for (const peer of peers) {
    for (const text of peer.allowedIps) {
      let p: IpPrefix;
      try {
        p = parseIpPrefix(text);
      } catch {
        continue;
      }
      if (!prefixContainsAt(p, addr, 0, addr.length)) continue;
      if (best === null || p.bits > best.bits) best = { peer, bits: p.bits };
    }
  }
  return best;
}
