/**
 * What the proxies dial through. {@linkcode Dialer} is the whole contract: the host dialer
 * (`host_dialer.ts`) meets it with Deno sockets, the userspace TCP/UDP stack meets it for
 * tailnet addresses, and the router dialer (`router_dialer.ts`) picks one per destination.
 * @module
 */
import { TailnetError } from "../base/errors.ts";

/**
 * A TCP connection, as Deno's `Conn` exposes one. Closing `writable` half-closes (sends FIN)
 * and leaves `readable` open; `close()` tears down both directions and is safe to call twice.
 * `readable` ends (done) when the peer half-closes.
 */
export interface ProxyConn {
  /** Bytes from the peer; ends when the peer sends FIN, errors on reset. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; `close()` on it sends FIN. */
  readonly writable: WritableStream<Uint8Array>;
  /** Our end of the connection, when known (SOCKS5 replies carry it). */
  readonly localAddr?: { hostname: string; port: number };
  /** Closes both directions and releases the socket. Idempotent. */
  close(): void;
}

/**
 * A UDP flow to one destination, like a connected UDP socket: datagrams go to the address it
 * was dialled for, and only datagrams from that address come back.
 */
export interface ProxyUdpFlow {
  /** Our local port, when known (for logs and tests). */
  readonly localPort?: number;
  /** Sends one datagram to the destination. */
  send(data: Uint8Array): Promise<void>;
  /** The next datagram from the destination, or `null` once the flow is closed. */
  receive(): Promise<Uint8Array | null>;
  /** Releases the socket; a pending `receive()` resolves `null`. Idempotent. */
  close(): void;
}

/** Opens connections and flows. Failures reject with {@linkcode DialError}. */
export interface Dialer {
  /**
   * Opens a TCP connection.
   * @param host an IPv4 or IPv6 literal (no brackets) or a name
   * @param port 1 to 65535
   * @param signal aborts the attempt (a timeout); the promise then rejects with DialError
   * `"dial-timeout"`
   */
  dialTcp(host: string, port: number, signal?: AbortSignal): Promise<ProxyConn>;
  /**
   * Opens a UDP flow.
   * @param host an IPv4 or IPv6 literal or a name
   * @param port 1 to 65535
   * @param signal aborts the attempt
   */
  dialUdp(host: string, port: number, signal?: AbortSignal): Promise<ProxyUdpFlow>;
}

/** Why a dial failed; the proxies map each code to a SOCKS5 reply or an HTTP status. */
export type DialErrorCode =
  | "dial-refused"
  | "dial-unreachable"
  | "dial-timeout"
  | "dial-failed";

/** A dial that did not produce a connection. */
export class DialError extends TailnetError {
  /** Why, as a stable code. */
  declare readonly code: DialErrorCode;

  /**
   * @param code why @param message one line naming the destination
   * @param options `cause`: the underlying error
   */
  constructor(code: DialErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "DialError";
  }
}

/**
 * Turns whatever a dial threw into a {@linkcode DialError}: Deno's `ConnectionRefused` is
 * refused; unreachable networks, names that do not resolve, and `NotConnected` (no data plane
 * yet) are unreachable; an abort or `TimedOut` is a timeout.
 * @param err what was thrown @param dest `host:port` for the message
 * @returns a DialError (the same one if `err` already is)
 */
export function toDialError(err: unknown, dest: string): DialError {
  if (err instanceof DialError) return err;
  const name = err instanceof Error ? err.name : "";
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof Deno.errors.ConnectionRefused) {
    return new DialError("dial-refused", `Cannot connect to ${dest}: refused`, { cause: err });
  }
  if (
    name === "AbortError" || name === "TimeoutError" || err instanceof Deno.errors.TimedOut
  ) {
    return new DialError("dial-timeout", `Cannot connect to ${dest}: timed out`, { cause: err });
  }
  if (
    err instanceof Deno.errors.NotFound || err instanceof Deno.errors.AddrNotAvailable ||
    err instanceof Deno.errors.NotConnected ||
    /unreachable|name resolution|lookup|no such host|failed to lookup/i.test(msg)
  ) {
    return new DialError("dial-unreachable", `Cannot connect to ${dest}: ${firstLine(msg)}`, {
      cause: err,
    });
  }
  return new DialError("dial-failed", `Cannot connect to ${dest}: ${firstLine(msg)}`, {
    cause: err,
  });
}

function firstLine(s: string): string {
  return s.split("\n")[0];
}

/** `host:port`, with brackets around an IPv6 literal. @param host @param port @returns text */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
