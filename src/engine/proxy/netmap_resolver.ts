/**
 * MagicDNS names from the netmap, as tailscaled's proxies resolve them: a node's full name
 * (`ts1.tailnet.test`, with or without the trailing dot) and its first label (`ts1`) map to
 * its Tailscale address, IPv4 first. Case does not matter. No DNS query is made.
 * @module
 */
import type { NetworkMap } from "../control/mod.ts";
import { parseIpAddr, parseIpPrefix, prefixContains } from "../wire/mod.ts";

/** Maps a name to a tailnet address, or says it is not a tailnet name. */
export interface Resolver {
  /**
   * @param host a name or an address literal
   * @returns the tailnet IP for a tailnet name, or `null` when `host` is not one
   */
  resolve(host: string): string | null;
}

const CGNAT = parseIpPrefix("100.64.0.0/10");
const TAILSCALE_ULA = parseIpPrefix("fd7a:115c:a1e0::/48");

/**
 * Whether `host` is an address literal in Tailscale's ranges (100.64.0.0/10 or
 * fd7a:115c:a1e0::/48).
 * @param host any host string @returns true for a tailnet IP literal
 * @example
 * ```ts
 * import { isTailnetIp } from "./netmap_resolver.ts";
 * if (!isTailnetIp("100.101.102.103") || isTailnetIp("10.0.0.1")) throw new Error("range");
 * ```
 */
export function isTailnetIp(host: string): boolean {
  let addr: Uint8Array;
  try {
    addr = parseIpAddr(host);
  } catch {
    return false;
  }
  return prefixContains(addr.length === 4 ? CGNAT : TAILSCALE_ULA, addr);
}

/**
 * A {@linkcode Resolver} over the netmap: give it a netmap and call `update()` on each new
 * one, or give it a function that returns the current netmap (the names are rebuilt when
 * it returns a different object).
 */
export class NetmapResolver implements Resolver {
  #names = new Map<string, string>();
  #source: (() => NetworkMap | null) | null;
  #built: NetworkMap | null = null;

  /** @param nm a netmap, a function returning the current one, or nothing */
  constructor(nm: NetworkMap | null | (() => NetworkMap | null) = null) {
    this.#source = typeof nm === "function" ? nm : null;
    if (typeof nm !== "function") this.update(nm);
  }

  /**
   * Replaces the names with those of `nm` (ourselves and every peer).
   * @param nm the new netmap, or null to forget every name
   */
  update(nm: NetworkMap | null): void {
    this.#built = nm;
    this.#names = namesOf(nm);
  }

  /** The tailnet address for `host`, or `null` when it is not a netmap name. */
  resolve(host: string): string | null {
    if (this.#source !== null) {
      const nm = this.#source();
      if (nm !== this.#built) this.update(nm);
    }
    return this.#names.get(host.replace(/\.$/, "").toLowerCase()) ?? null;
  }
}

function namesOf(nm: NetworkMap | null): Map<string, string> {
  const names = new Map<string, string>();
  if (nm === null) return names;
  // Peers first, then self: our own name wins a clash of short names.
  for (const node of [...nm.peers, nm.self]) {
    const ip = preferredAddress(node.addresses);
    if (ip === null) continue;
    const fqdn = node.name.replace(/\.$/, "").toLowerCase();
    if (fqdn === "") continue;
    names.set(fqdn, ip);
    const short = fqdn.split(".")[0];
    if (!names.has(short) || node === nm.self) names.set(short, ip);
  }
  return names;
}

function preferredAddress(addresses: readonly string[]): string | null {
  const ips = addresses.map((a) => a.split("/")[0]);
  return ips.find((ip) => !ip.includes(":")) ?? ips[0] ?? null;
}
