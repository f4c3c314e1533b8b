/**
 * 100.100.100.100:53 over TCP (RFC 1035 §4.2.2: each message behind a 16-bit length): a small
 * stack of its own whose only addresses are the service's, so the node's stack and its
 * loopback forwarder never see these connections. Its packets go out through `output`, which
 * the engine points at WireGuard (a peer asking) or the node's own stack (our proxies asking).
 * @module
 */
import type { Clock } from "../base/clock.ts";
import type { IpInfo } from "../wire/mod.ts";
import { Stack, type StackConn, type TcpListener } from "../stack/mod.ts";
import { DNS_PORT, QUAD100_V4, QUAD100_V6 } from "./constants.ts";
import type { MagicDnsResolver } from "./resolver.ts";
import { serveDnsTcpSession } from "./tcp_session.ts";

/** Options of {@linkcode Quad100TcpServer}. */
export interface Quad100TcpOptions {
  /** The current resolver. */
  resolver: () => MagicDnsResolver;
  /** Sends a packet from the service (a copy the callee may keep). */
  output: (packet: Uint8Array) => void;
  /** Time for the stack's timers. */
  clock?: Clock;
}

/** The TCP half of the 100.100.100.100 service. */
export class Quad100TcpServer {
  /** Queries answered over TCP. */
  answered = 0;
  readonly #stack: Stack;
  readonly #listener: TcpListener;
  readonly #opts: Quad100TcpOptions;
  readonly #conns = new Set<StackConn>();
  #closed = false;

  /** @param opts resolver, output and clock */
  constructor(opts: Quad100TcpOptions) {
    this.#opts = opts;
    this.#stack = new Stack({
      addresses: [QUAD100_V4, QUAD100_V6],
      output: (buf, off, len) => opts.output(buf.slice(off, off + len)),
      clock: opts.clock,
    });
    this.#listener = this.#stack.listenTcp({ port: DNS_PORT });
    void this.#accept();
  }

  /**
   * One TCP packet addressed to the service.
   * @param packet the IP packet @param info its parse
   */
  input(packet: Uint8Array, info: IpInfo): void {
    if (!this.#closed) this.#stack.inputParsed(packet, info);
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) {
      this.#conns.add(conn);
      void this.#serve(conn).catch(() => {}).finally(() => {
        this.#conns.delete(conn);
        conn.close();
      });
    }
  }

  #serve(conn: StackConn): Promise<void> {
    return serveDnsTcpSession(conn, async (query) => {
      const answer = await this.#opts.resolver().query(query, "tcp");
      if (answer === null || this.#closed) return null;
      this.answered++;
      return answer;
    });
  }

  /** Resets every connection and stops the stack's timer. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    this.#stack.close();
  }
}
