/**
 * The host side of the router: destinations outside the tailnet are dialled with the
 * operating system's sockets (`Deno.connect`, `Deno.listenDatagram`), as tailscaled does.
 * @module
 */
import { formatIpAddrAt, parseIpAddr } from "../wire/mod.ts";
import {
  type Dialer,
  DialError,
  joinHostPort,
  type ProxyConn,
  type ProxyUdpFlow,
  toDialError,
} from "./dialer.ts";
import { proxyConnFromDeno } from "./_deno_conn.ts";
import { UDP_MAX_DATAGRAM_BYTES } from "./constants.ts";

/** Options of {@linkcode HostDialer}. */
export interface HostDialerOptions {
  /**
   * Resolves a name to addresses for UDP flows (TCP lets `Deno.connect` resolve). Defaults
   * to `localhost` → 127.0.0.1, then `Deno.resolveDns` A, then AAAA.
   */
  resolveName?: (name: string) => Promise<string[]>;
}

/** Dials with the host's own network stack. */
export class HostDialer implements Dialer {
  #resolveName: (name: string) => Promise<string[]>;

  /** @param opts see {@linkcode HostDialerOptions} */
  constructor(opts: HostDialerOptions = {}) {
    this.#resolveName = opts.resolveName ?? defaultResolveName;
  }

  /** Connects with `Deno.connect`; failures become {@linkcode DialError}. */
  async dialTcp(host: string, port: number, signal?: AbortSignal): Promise<ProxyConn> {
    const dest = joinHostPort(host, port);
    try {
      signal?.throwIfAborted();
      const conn = await Deno.connect({ hostname: host, port, transport: "tcp", signal });
      return proxyConnFromDeno(conn);
    } catch (err) {
      throw toDialError(signal?.aborted ? signal.reason ?? err : err, dest);
    }
  }

  /** Opens an ephemeral UDP socket that talks to `host:port` only. */
  async dialUdp(host: string, port: number, signal?: AbortSignal): Promise<ProxyUdpFlow> {
    const dest = joinHostPort(host, port);
    let ip: string;
    try {
      signal?.throwIfAborted();
      ip = await this.#resolveOne(host, dest);
      signal?.throwIfAborted();
    } catch (err) {
      throw toDialError(signal?.aborted ? signal.reason ?? err : err, dest);
    }
    const v6 = ip.includes(":");
    let sock: Deno.DatagramConn;
    try {
      sock = Deno.listenDatagram({ transport: "udp", hostname: v6 ? "::" : "0.0.0.0", port: 0 });
    } catch (err) {
      throw toDialError(err, dest);
    }
    return new HostUdpFlow(sock, ip, port);
  }

  async #resolveOne(host: string, dest: string): Promise<string> {
    try {
      return formatIpAddrAt(parseIpAddr(host), 0, host.includes(":") ? 16 : 4);
    } catch { /* a name */ }
    let addrs: string[] = [];
    try {
      addrs = await this.#resolveName(host);
    } catch (err) {
      throw new DialError("dial-unreachable", `Cannot resolve ${dest}: ${String(err)}`, {
        cause: err,
      });
    }
    if (addrs.length === 0) {
      throw new DialError("dial-unreachable", `Cannot resolve ${dest}: no addresses`);
    }
    return addrs[0];
  }
}

async function defaultResolveName(name: string): Promise<string[]> {
  if (name === "localhost" || name.endsWith(".localhost")) return ["127.0.0.1"];
  try {
    const a = await Deno.resolveDns(name, "A");
    if (a.length > 0) return a;
  } catch { /* try AAAA */ }
  return await Deno.resolveDns(name, "AAAA");
}

/** A host UDP socket that accepts datagrams only from its destination. */
class HostUdpFlow implements ProxyUdpFlow {
  #sock: Deno.DatagramConn;
  #ip: string;
  #port: number;
  #closed = false;

  constructor(sock: Deno.DatagramConn, ip: string, port: number) {
    this.#sock = sock;
    this.#ip = ip;
    this.#port = port;
  }

  get localPort(): number {
    return (this.#sock.addr as Deno.NetAddr).port;
  }

  async send(data: Uint8Array): Promise<void> {
    await this.#sock.send(data, { transport: "udp", hostname: this.#ip, port: this.#port });
  }

  async receive(): Promise<Uint8Array | null> {
    const buf = new Uint8Array(UDP_MAX_DATAGRAM_BYTES);
    while (!this.#closed) {
      let got: [Uint8Array, Deno.Addr];
      try {
        got = await this.#sock.receive(buf);
      } catch {
        return null;
      }
      const from = got[1];
      if (from.transport !== "udp" || from.port !== this.#port) continue;
      if (!sameIp(from.hostname, this.#ip)) continue;
      return got[0].slice();
    }
    return null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#sock.close();
    } catch { /* already closed */ }
  }
}

function sameIp(a: string, b: string): boolean {
  if (a === b) return true;
  const strip = (s: string) => s.startsWith("::ffff:") ? s.slice(7) : s;
  return strip(a) === strip(b);
}
