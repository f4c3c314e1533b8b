/**
 * The listen-address flags of the proxies (`--socks5-server`, `--outbound-http-proxy-listen`),
 * parsed on their own: the daemon checks its flags at start, and loads the proxies themselves
 * only when one is asked for.
 * @module
 */

/** A listen address from a flag. */
export interface ListenAddr {
  /** Host to bind (`0.0.0.0` for an empty host, as Go's `:1080` means every address). */
  hostname: string;
  /** Port, 0 to 65535. */
  port: number;
}

/**
 * Parses a listen flag value the way tailscaled's `net.Listen("tcp", addr)` reads it:
 * `host:port`, `[v6]:port`, `:port` (every IPv4 address), `localhost:port`.
 * @param flag the flag name, for the message @param value its value
 * @returns host and port
 * @throws {TypeError} naming the flag when the value is not `host:port`
 * @example
 * ```ts
 * import { parseListenAddr } from "./listen_addr.ts";
 * const a = parseListenAddr("socks5-server", "[::1]:1080");
 * if (a.hostname !== "::1" || a.port !== 1080) throw new Error("addr");
 * ```
 */
export function parseListenAddr(flag: string, value: string): ListenAddr {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new TypeError(`invalid value "${value}" for flag --${flag}: want HOST:PORT`);
  }
  const host = m[1] ?? m[2];
  return { hostname: host === "" ? "0.0.0.0" : host, port };
}
