/**
 * The datagram interface wg needs from the path layer. magicsock (UDP or DERP) fits it by
 * shape without importing wg; tests use `wg/testing/memory_bind.ts`; the interop test wraps
 * `Deno.listenDatagram`.
 * @module
 */

/** Where a datagram came from or goes to. Opaque to wg except for its address bytes. */
export interface BindEndpoint {
  /**
   * Bytes naming the source address: the IP (4 or 16 bytes) then the port (2 bytes,
   * little-endian), as wireguard-go's `DstToBytes`. The responder's cookie is a MAC over
   * them, and under load handshakes are rate-limited per IP part, so they must be stable for
   * one address. Paths without an IP (DERP) may use any stable bytes of another length.
   */
  readonly addrBytes: Uint8Array;
  /** Text for logs, such as `192.0.2.1:51820`. */
  toString(): string;
}

/** One received datagram. */
export interface BindReceived {
  /** The datagram. wg may keep it. */
  readonly data: Uint8Array;
  /** Who sent it. */
  readonly endpoint: BindEndpoint;
}

/** Sends and receives datagrams for one device. */
export interface Bind {
  /**
   * Sends one datagram; must not throw (count failures instead). wg does not touch `datagram`
   * after the call, so an implementation may send it asynchronously.
   * @param datagram bytes to send
   * @param to destination
   */
  send(datagram: Uint8Array, to: BindEndpoint): void;
  /** The next datagram, or null once the bind is closed. */
  receive(): Promise<BindReceived | null>;
  /** Closes the bind; a pending {@linkcode Bind.receive} resolves to null. Safe to call twice. */
  close(): void;
}
