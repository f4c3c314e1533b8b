/**
 * The host's resolvers from `/etc/resolv.conf` text: tailscaled in userspace mode forwards
 * names nobody else claims to the OS's resolvers, and so do we when control sends no global
 * resolver.
 * @module
 */

/**
 * The `nameserver` addresses of resolv.conf text, in order.
 * @param text the file's contents
 * @returns the addresses (IPv6 zones dropped), without loopback stubs we would loop through
 * @example
 * ```ts
 * import { parseResolvConf } from "./resolv_conf.ts";
 * const ns = parseResolvConf("# c\nnameserver 10.0.0.2\nsearch x\nnameserver fe80::1%eth0\n");
 * if (ns.join() !== "10.0.0.2,fe80::1") throw new Error(ns.join());
 * ```
 */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const m = /^nameserver\s+(\S+)$/.exec(line);
    if (m === null) continue;
    const addr = m[1].replace(/%.*$/, "");
    if (addr === "100.100.100.100") continue;
    out.push(addr);
  }
  return out;
}
