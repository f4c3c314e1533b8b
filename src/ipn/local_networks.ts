/**
 * The host's own LANs, for `--exit-node-allow-lan-access`: an address on the same network as
 * one of this machine's interfaces (Go's `interfaces.LocalAddresses` / `internalAndExternal
 * Interfaces` give the prefixes the exit node leaves alone) is dialled from the host.
 * @module
 */
import { parseIpAddr, parseIpPrefix, prefixContains } from "../engine/wire/ip_addr.ts";

/**
 * Whether `ip` lies on the network of one of this machine's non-loopback interfaces.
 * @param ip an address literal
 * @param interfaces the interfaces (default `Deno.networkInterfaces()`; false when unreadable)
 * @returns true for a local-LAN destination
 */
export function onLocalNetwork(
  ip: string,
  interfaces: () => Deno.NetworkInterfaceInfo[] = Deno.networkInterfaces,
): boolean {
  let addr: Uint8Array;
  let list: Deno.NetworkInterfaceInfo[];
  try {
    addr = parseIpAddr(ip);
    list = interfaces();
  } catch {
    return false;
  }
  for (const i of list) {
    if (i.name === "lo" || i.cidr === "") continue;
    try {
      // prefixContains compares the network bits only, so the host's own address will do.
      const p = parseIpPrefix(i.cidr.replace(/%.*\//, "/"));
      if (p.bits > 0 && prefixContains(p, addr)) return true;
    } catch {
      // an address Deno reports in a form we do not parse
    }
  }
  return false;
}
