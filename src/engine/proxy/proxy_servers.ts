/**
 * The daemon's proxies as one object: `--socks5-server ADDR` and
 * `--outbound-http-proxy-listen ADDR` parsed, both servers started over one router dialer
 * (tailnet side: the stack; names: the current netmap), and one `close()` for both.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import type { NetworkMap } from "../control/mod.ts";
import { HostDialer } from "./host_dialer.ts";
import { HttpProxy } from "./http_proxy.ts";
import { NetmapResolver, type Resolver } from "./netmap_resolver.ts";
import { RouterDialer } from "./router_dialer.ts";
import { Socks5Server } from "./socks5_server.ts";
import { StackDialer, type TailnetStack } from "./stack_dialer.ts";
import type { Dialer } from "./dialer.ts";
import { parseListenAddr } from "./listen_addr.ts";

export { type ListenAddr, parseListenAddr } from "./listen_addr.ts";

/** Options of {@linkcode ProxyServers.start}. */
export interface ProxyServersOptions {
  /** `--socks5-server` value, if given. */
  socks5?: string;
  /** `--outbound-http-proxy-listen` value, if given. */
  http?: string;
  /** Credentials every SOCKS5 client must send (RFC 1929); without, no-auth from loopback. */
  socks5Credentials?: { username: string; password: string };
  /** The userspace stack (EngineLink), or null when there is none. */
  tailnet: TailnetStack | null;
  /** The current netmap, for MagicDNS names when no `resolver` is given. */
  netmap: () => NetworkMap | null;
  /** Tailnet names (the engine's MagicDNS resolver); default one over `netmap`. */
  resolver?: Resolver;
  /** Dials the host's network (default a {@linkcode HostDialer}). */
  host?: Dialer;
  /** Logger for both servers. */
  log?: Logger;
}

/** The running proxies. */
export class ProxyServers {
  /** The SOCKS5 server, when `--socks5-server` was given. */
  readonly socks5: Socks5Server | null;
  /** The HTTP proxy, when `--outbound-http-proxy-listen` was given. */
  readonly http: HttpProxy | null;

  private constructor(socks5: Socks5Server | null, http: HttpProxy | null) {
    this.socks5 = socks5;
    this.http = http;
  }

  /**
   * Parses the addresses and starts the servers asked for.
   * @param opts flag values, the stack and the netmap
   * @returns the servers (neither when neither flag was given)
   * @throws {TypeError} for a bad address; Deno's errors when a port cannot be bound (the
   * server already started is closed first)
   */
  static start(opts: ProxyServersOptions): ProxyServers {
    const socksAddr = opts.socks5 === undefined
      ? null
      : parseListenAddr("socks5-server", opts.socks5);
    const httpAddr = opts.http === undefined
      ? null
      : parseListenAddr("outbound-http-proxy-listen", opts.http);
    const dialer = new RouterDialer({
      tailnet: opts.tailnet === null ? null : new StackDialer(opts.tailnet),
      host: opts.host ?? new HostDialer(),
      resolver: opts.resolver ?? new NetmapResolver(opts.netmap),
      routes: (ip) => opts.tailnet?.routesTo?.(ip) ?? false,
    });
    const socks5 = socksAddr === null ? null : Socks5Server.listen({
      ...socksAddr,
      ...opts.socks5Credentials,
      dialer,
      log: opts.log?.child("socks5"),
    });
    let http: HttpProxy | null = null;
    try {
      if (httpAddr !== null) {
        http = HttpProxy.listen({ ...httpAddr, dialer, log: opts.log?.child("http-proxy") });
      }
    } catch (err) {
      // Leave nothing listening behind a failed start.
      void socks5?.close();
      throw err;
    }
    return new ProxyServers(socks5, http);
  }

  /** Closes both servers and every connection. Idempotent. */
  async close(): Promise<void> {
    await Promise.all([this.socks5?.close(), this.http?.close()]);
  }

  /** Same as {@linkcode ProxyServers.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
