/**
 * A UDP socket bound to a port on every address of a stack: a bounded queue of received
 * datagrams and a send call.
 * @module
 */

/** What a UDP socket needs from its stack. */
export interface UdpHost {
  /**
   * Sends one datagram.
   * @param srcIp our address ("" picks one) @param srcPort our port
   * @param dstIp destination @param dstPort its port @param data payload
   * @returns false when it was not sent
   */
  sendUdp(
    srcIp: string,
    srcPort: number,
    dstIp: string,
    dstPort: number,
    data: Uint8Array,
  ): boolean;
  /** Frees the port. @param s the socket */
  unbindUdp(s: UdpSocket): void;
}

/** A received datagram. */
export interface UdpReceived {
  /** The payload. */
  data: Uint8Array;
  /** The sender. */
  remoteAddr: Deno.NetAddr;
}

/** A bound UDP socket. */
export class UdpSocket {
  /** The bound port. */
  readonly port: number;
  readonly #host: UdpHost;
  readonly #max: number;
  readonly #queue: UdpReceived[] = [];
  #waiters: ((r: UdpReceived | null) => void)[] = [];
  #closed = false;

  /** @param port bound port @param host the stack @param max queued datagrams before drops */
  constructor(port: number, host: UdpHost, max: number) {
    this.port = port;
    this.#host = host;
    this.#max = max;
  }

  /** Datagrams waiting. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Called by the stack with a datagram for this port.
   * @param data payload @param remoteAddr sender
   * @returns false when the queue was full (dropped)
   */
  deliver(data: Uint8Array, remoteAddr: Deno.NetAddr): boolean {
    if (this.#closed) return false;
    const w = this.#waiters.shift();
    if (w) {
      w({ data, remoteAddr });
      return true;
    }
    if (this.#queue.length >= this.#max) return false;
    this.#queue.push({ data, remoteAddr });
    return true;
  }

  /**
   * Waits for the next datagram.
   * @returns it, or null once the socket is closed
   */
  receive(): Promise<UdpReceived | null> {
    const r = this.#queue.shift();
    if (r) return Promise.resolve(r);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Sends a datagram from this port.
   * @param data payload @param hostname destination address @param port destination port
   * @returns false when it was not sent (too big, no address of that family, closed)
   */
  send(data: Uint8Array, hostname: string, port: number): boolean {
    if (this.#closed) return false;
    return this.#host.sendUdp("", this.port, hostname, port, data);
  }

  /** Unbinds; pending receives get null. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.unbindUdp(this);
    for (const w of this.#waiters.splice(0)) w(null);
    this.#queue.length = 0;
  }
}
