/**
 * The stack as a node runs it: a {@linkcode Stack} whose packets go out through the output
 * the engine gives it (its packet pipeline) and come in from that pipeline, with the
 * {@linkcode LoopbackForwarder} serving inbound connections, and the
 * {@linkcode TailnetDialer} the proxies use. The engine builds it; this folder does not
 * import `engine.ts` (imports point down).
 * @module
 */
import type { StackConn } from "./conn.ts";
import { type ForwarderOptions, LoopbackForwarder } from "./forwarder.ts";
import { Stack, type StackOptions } from "./stack.ts";
import type { UdpSocket } from "./udp_socket.ts";

/** Options for {@linkcode NodeStack}. */
export interface NodeStackOptions {
  /** Sends an IP packet out; `buf` has 16 bytes of headroom before `off` (WireGuard's). */
  output: (buf: Uint8Array, off: number, len: number) => void;
  /** Our Tailscale addresses (`100.64.0.2/32`, `fd7a:…/128`). */
  addresses: readonly string[];
  /** Forward inbound TCP/UDP to this machine's loopback (default true). */
  forward?: boolean;
  /** Forwarder options. */
  forwarder?: ForwarderOptions;
  /** More stack options. */
  stack?: Partial<StackOptions>;
}

/** A node's stack, as its engine runs it. */
export class NodeStack implements AsyncDisposable {
  /** The stack. */
  readonly stack: Stack;
  /** The loopback forwarder, or null when off. */
  readonly forwarder: LoopbackForwarder | null;
  #closed = false;

  /**
   * Builds the stack (and the forwarder, unless `forward` is false).
   * @param opts output, addresses and options
   */
  constructor(opts: NodeStackOptions) {
    this.stack = new Stack({ addresses: opts.addresses, output: opts.output, ...opts.stack });
    this.forwarder = opts.forward === false
      ? null
      : new LoopbackForwarder(this.stack, opts.forwarder);
  }

  /**
   * Opens a TCP connection to a tailnet address.
   * @param ip the peer's Tailscale IP @param port its port @param signal gives up
   * @returns the connection once established
   */
  dialTcp(ip: string, port: number, signal?: AbortSignal): Promise<StackConn> {
    return this.stack.connectTcp(ip, port, { signal });
  }

  /** @param port 0 for ephemeral @returns a UDP socket on our tailnet addresses */
  listenUdp(port = 0): UdpSocket {
    return this.stack.bindUdp(port);
  }

  /** Stops forwarding and resets every connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.forwarder?.close();
    this.stack.close();
  }

  /** Same as {@linkcode NodeStack.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
