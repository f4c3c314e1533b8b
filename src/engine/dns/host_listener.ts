/**
 * `--dns-listen HOST:PORT`: the node's MagicDNS resolver on a host socket, over UDP and TCP
 * (RFC 1035 §4.2.2: each message behind a 16-bit length), so `dig @127.0.0.1 -p PORT` works
 * without root. Queries arriving while there is no resolver (no engine yet) are dropped.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import { DNS_MAX_MESSAGE_LEN } from "../wire/mod.ts";
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

  async #serveConn(conn: Deno.Conn): Promise<void> {
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(DNS_MAX_MESSAGE_LEN + 2);
    for (;;) {
      while (buf.length >= 2 && buf.length >= 2 + ((buf[0] << 8) | buf[1])) {
        const len = (buf[0] << 8) | buf[1];
        const query = buf.slice(2, 2 + len);
        buf = buf.slice(2 + len);
        const r = this.#opts.resolver();
        const answer = r === null ? null : await r.query(query, "tcp");
        if (answer === null) return;
        const out = new Uint8Array(2 + answer.length);
        out[0] = answer.length >>> 8;
        out[1] = answer.length;
        out.set(answer, 2);
        let w = 0;
        while (w < out.length) w += await conn.write(out.subarray(w));
      }
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch {
        return;
      }
      if (n === null) return;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
    }
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
