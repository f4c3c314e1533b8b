/**
 * Adapts the userspace TCP/UDP stack to {@linkcode Dialer}, for the tailnet side of the
 * router. The stack is described by shape ({@linkcode TailnetStack}), so this folder does not
 * import `stack/`; `engine.ts` or the daemon passes the real one in.
 * @module
 */
import {
  type Dialer,
  DialError,
  joinHostPort,
  type ProxyConn,
  type ProxyUdpFlow,
  toDialError,
} from "./dialer.ts";
import { proxyConnFromDeno, type ReadWriteConn } from "./_deno_conn.ts";

/** A datagram the stack received. */
export interface TailnetDatagram {
  /** The payload. */
  data: Uint8Array;
  /** The sender. */
  remoteAddr: { hostname: string; port: number };
}

/** A UDP socket of the stack, bound to a local port on every tailnet address. */
export interface TailnetUdpSocket {
  /** The next datagram, or null once closed. */
  receive(): Promise<TailnetDatagram | null>;
  /** Sends one datagram; false when it could not be sent. */
  send(data: Uint8Array, hostname: string, port: number): boolean;
  /** Unbinds. */
  close(): void;
}

/**
 * What the proxies need from the userspace stack: the stack folder's `TailnetDialer`
 * (EngineLink implements it) fits this by shape.
 */
export interface TailnetStack {
  /**
   * Opens a TCP connection to a tailnet address, resolving once established.
   * Rejects with Deno.errors.ConnectionRefused on RST, Deno.errors.TimedOut when SYNs go
   * unanswered, the signal's reason when aborted.
   */
  dialTcp(ip: string, port: number, signal?: AbortSignal): Promise<ReadWriteConn>;
  /** Binds a UDP socket on our tailnet addresses; 0 picks an ephemeral port. */
  listenUdp(port?: number): TailnetUdpSocket;
  /**
   * Whether a non-tailnet address goes through the tailnet (an accepted subnet route, the
   * exit node); absent: never.
   */
  routesTo?(ip: string): boolean;
}

/** A {@linkcode Dialer} over the userspace stack. Hosts must be IP literals (the router resolves). */
export class StackDialer implements Dialer {
  #stack: TailnetStack;

  /** @param stack the userspace stack */
  constructor(stack: TailnetStack) {
    this.#stack = stack;
  }

  /** Connects through the stack. */
  async dialTcp(host: string, port: number, signal?: AbortSignal): Promise<ProxyConn> {
    try {
      return proxyConnFromDeno(await this.#stack.dialTcp(host, port, signal));
    } catch (err) {
      throw toDialError(signal?.aborted ? signal.reason ?? err : err, joinHostPort(host, port));
    }
  }

  /** Binds an ephemeral stack UDP port that talks to `host:port` only. */
  dialUdp(host: string, port: number, signal?: AbortSignal): Promise<ProxyUdpFlow> {
    if (signal?.aborted) {
      return Promise.reject(toDialError(signal.reason, joinHostPort(host, port)));
    }
    let sock: TailnetUdpSocket;
    try {
      sock = this.#stack.listenUdp(0);
    } catch (err) {
      return Promise.reject(toDialError(err, joinHostPort(host, port)));
    }
    let closed = false;
    return Promise.resolve({
      send(data: Uint8Array): Promise<void> {
        if (!sock.send(data, host, port)) {
          return Promise.reject(
            new DialError("dial-unreachable", `Cannot send to ${joinHostPort(host, port)}`),
          );
        }
        return Promise.resolve();
      },
      async receive(): Promise<Uint8Array | null> {
        while (!closed) {
          const d = await sock.receive();
          if (d === null) return null;
          if (d.remoteAddr.port === port && d.remoteAddr.hostname === host) return d.data;
        }
        return null;
      },
      close(): void {
        if (closed) return;
        closed = true;
        sock.close();
      },
    });
  }
}
