/**
 * `--dns-listen HOST:PORT`: the node's MagicDNS resolver on a host socket, over UDP and TCP
 * (RFC 1035 §4.2.2: each message behind a 16-bit length), so `dig @127.0.0.1 -p PORT` works
 * without root. Queries arriving while there is no resolver (no engine yet) are dropped.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import { serveDnsTcpSession } from "./tcp_session.ts";
import type { MagicDnsResolver } from "./resolver.ts";

/** Options of {@linkcode DnsHostListener.listen}. */
export interface DnsHostListenerOptions {
  /** Address to bind. */
  hostname: string;
  /** Port (0: any). */
  port: number;
  /** The current resolver, or null while there is none. */
  resolver: () => MagicDnsResolver | null;
  /** Logger. */
  log?: Logger;
}

/** A UDP and a TCP socket on the same host port, answering DNS. */
export class DnsHostListener implements AsyncDisposable {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  readonly #udp: Deno.DatagramConn;
  readonly #tcp: Deno.Listener;
  readonly #opts: DnsHostListenerOptions;
  readonly #conns = new Set<Deno.Conn>();
  readonly #loops: Promise<void>[] = [];
  #closed = false;

  private constructor(udp: Deno.DatagramConn, tcp: Deno.Listener, opts: DnsHostListenerOptions) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.#opts = opts;
    this.addr = udp.addr as Deno.NetAddr;
    this.#loops.push(this.#serveUdp(), this.#serveTcp());
  }

  /**
   * Binds UDP, then TCP on the port UDP got.
   * @param opts address and resolver @returns the listener
   * @throws Deno's error when the port cannot be bound
   */
  static listen(opts: DnsHostListenerOptions): DnsHostListener {
    const udp = Deno.listenDatagram({ transport: "udp", hostname: opts.hostname, port: opts.port });
    let tcp: Deno.Listener;
    try {
      tcp = Deno.listen({ hostname: opts.hostname, port: (udp.addr as Deno.NetAddr).port });
    } catch (err) {
      udp.close();
      throw err;
    }
    return new DnsHostListener(udp, tcp, opts);
  }

  async #serveUdp(): Promise<void> {
    for (;;) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await this.#udp.receive();
      } catch {
        return;
      }
      const r = this.#opts.resolver();
      if (r === null) continue;
      void r.query(data, "udp").then(async (answer) => {
        if (answer === null || this.#closed) return;
        try {
          await this.#udp.send(answer, from);
        } catch {
          // closed meanwhile
        }
      });
    }
  }

  async #serveTcp(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#tcp.accept();
      } catch {
        return;
      }
      this.#conns.add(conn);
      void this.#serveConn(conn).finally(() => {
        this.#conns.delete(conn);
        try {
          conn.close();
        } catch {
          // closed already
        }
      });
    }
  }

  #serveConn(conn: Deno.Conn): Promise<void> {
    return serveDnsTcpSession(conn, async (query) => {
      const r = this.#opts.resolver();
      return r === null ? null : await r.query(query, "tcp");
    });
  }

  /** Closes both sockets and every TCP connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#udp.close();
    this.#tcp.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
    await Promise.allSettled(this.#loops);
  }

  /** Same as {@linkcode DnsHostListener.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
