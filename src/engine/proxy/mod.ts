/**
 * The proxies tailscaled offers in userspace mode: a SOCKS5 server (`--socks5-server`:
 * CONNECT and UDP ASSOCIATE) and an HTTP proxy (`--outbound-http-proxy-listen`: CONNECT and
 * absolute-URI forwarding). Both dial through a {@linkcode Dialer}; the
 * {@linkcode RouterDialer} sends tailnet addresses and MagicDNS names from the netmap to the
 * userspace stack ({@linkcode StackDialer}) and everything else to the host
 * ({@linkcode HostDialer}). Other folders use only what is exported here.
 *
 * @example Routing without a stack: tailnet names fail, the rest goes to the host
 * ```ts
 * import { HostDialer, NetmapResolver, RouterDialer } from "./mod.ts";
 * const router = new RouterDialer({
 *   tailnet: null,
 *   host: new HostDialer(),
 *   resolver: new NetmapResolver(),
 * });
 * if (router.route("100.64.0.2").via !== "tailnet") throw new Error("tailnet IP");
 * if (router.route("example.com").via !== "host") throw new Error("host name");
 * ```
 * @module
 */
export {
  type Dialer,
  DialError,
  type DialErrorCode,
  type ProxyConn,
  type ProxyUdpFlow,
} from "./dialer.ts";
export { HostDialer, type HostDialerOptions } from "./host_dialer.ts";
export { isTailnetIp, NetmapResolver, type Resolver } from "./netmap_resolver.ts";
export { type Route, RouterDialer, type RouterDialerOptions } from "./router_dialer.ts";
export {
  StackDialer,
  type TailnetDatagram,
  type TailnetStack,
  type TailnetUdpSocket,
} from "./stack_dialer.ts";
export type { ReadWriteConn } from "./_deno_conn.ts";
export { Socks5Server, type Socks5ServerOptions, type Socks5Stats } from "./socks5_server.ts";
export { HttpProxy, type HttpProxyOptions, type HttpProxyStats } from "./http_proxy.ts";
export {
  type ListenAddr,
  parseListenAddr,
  ProxyServers,
  type ProxyServersOptions,
} from "./proxy_servers.ts";
