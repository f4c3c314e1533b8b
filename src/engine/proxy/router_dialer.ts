/**
 * Sends each dial where tailscaled would: tailnet addresses (100.64.0.0/10,
 * fd7a:115c:a1e0::/48) and netmap names to the tailnet dialer (the userspace stack); other
 * addresses the tailnet routes (an accepted subnet route, or anything once an exit node is
 * chosen: Go's `tsdial.Dialer.UseNetstackForIP`) also to the stack; all else to the host.
 * @module
 */
import {
  type Dialer,
  DialError,
  joinHostPort,
  type ProxyConn,
  type ProxyUdpFlow,
} from "./dialer.ts";
import { isTailnetIp, type Resolver } from "./netmap_resolver.ts";
import { formatIpAddrAt, parseIpAddr } from "../wire/mod.ts";

/** Options of {@linkcode RouterDialer}. */
export interface RouterDialerOptions {
  /** Dials tailnet addresses; `null` while there is no stack (tailnet dials then fail). */
  tailnet: Dialer | null;
  /** Dials everything else. */
  host: Dialer;
  /** Names from the netmap. */
  resolver: Resolver;
  /**
   * Whether the tailnet routes a non-tailnet address literal (through a subnet router or the
   * exit node); absent: never. Asked on every dial, so `set` changes apply to the next one.
   */
  routes?: (ip: string) => boolean;
}

/** Where a destination goes, and the host to give that dialer. */
export interface Route {
  /** `"tailnet"` or `"host"`. */
  via: "tailnet" | "host";
  /** The address or name to dial (a netmap name is replaced by its address). */
  host: string;
}

/** A {@linkcode Dialer} that routes by destination. */
export class RouterDialer implements Dialer {
  #opts: RouterDialerOptions;

  /** @param opts the two dialers and the resolver */
  constructor(opts: RouterDialerOptions) {
    this.#opts = opts;
  }

  /**
   * Decides where `host` goes.
   * @param host a literal or name @returns the route
   */
  route(host: string): Route {
    if (isTailnetIp(host)) {
      const a = parseIpAddr(host);
      return { via: "tailnet", host: formatIpAddrAt(a, 0, a.length) };
    }
    const ip = this.#opts.resolver.resolve(host);
    if (ip !== null) return { via: "tailnet", host: ip };
    let literal: string | null = null;
    try {
      const a = parseIpAddr(host);
      literal = formatIpAddrAt(a, 0, a.length);
    } catch {
      // a name: the host resolves and dials it
    }
    if (literal !== null && this.#opts.routes?.(literal) === true) {
      return { via: "tailnet", host: literal };
    }
    return { via: "host", host };
  }

  /** Dials through the tailnet or the host, per {@linkcode RouterDialer.route}. */
  dialTcp(host: string, port: number, signal?: AbortSignal): Promise<ProxyConn> {
    const r = this.route(host);
    return this.#dialer(r, host, port).dialTcp(r.host, port, signal);
  }

  /** Opens a UDP flow through the tailnet or the host. */
  dialUdp(host: string, port: number, signal?: AbortSignal): Promise<ProxyUdpFlow> {
    const r = this.route(host);
    return this.#dialer(r, host, port).dialUdp(r.host, port, signal);
  }

  #dialer(r: Route, host: string, port: number): Dialer {
    if (r.via === "host") return this.#opts.host;
    const t = this.#opts.tailnet;
    if (t === null) {
      const why = `Cannot reach ${joinHostPort(host, port)}: the tailnet stack is not running`;
      return {
        dialTcp: () => Promise.reject(new DialError("dial-unreachable", why)),
        dialUdp: () => Promise.reject(new DialError("dial-unreachable", why)),
      };
    }
    return t;
  }
}
