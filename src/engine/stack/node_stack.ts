/**
 * The stack as a node runs it: a {@linkcode Stack} whose packets go out through the
 * WireGuard device and come in as the engine's packet handler, with the
 * {@linkcode LoopbackForwarder} serving inbound connections, and the
 * {@linkcode TailnetDialer} the proxies use. The engine is taken by shape, so this folder
 * does not import `engine.ts` (imports point down).
 * @module
 */
import type { StackConn } from "./conn.ts";
import { type ForwarderOptions, LoopbackForwarder } from "./forwarder.ts";
import { Stack, type StackOptions } from "./stack.ts";
import type { UdpSocket } from "./udp_socket.ts";

/** What {@linkcode NodeStack} needs of the engine. */
export interface StackEngine {
  /** The WireGuard device: sends an IP packet with 16 bytes of headroom before `off`. */
  readonly device: { send(buf: Uint8Array, off: number, len: number): boolean };
  /** Installs the handler of decrypted inbound packets. */
  setPacketHandler(handler: { inbound(packet: Uint8Array): void }): void;
}

/** Options for {@linkcode NodeStack}. */
export interface NodeStackOptions {
  /** Our Tailscale addresses (`100.64.0.2/32`, `fd7a:…/128`). */
  addresses: readonly string[];
  /** Forward inbound TCP/UDP to this machine's loopback (default true). */
  forward?: boolean;
  /** Forwarder options. */
  forwarder?: ForwarderOptions;
  /** More stack options. */
  stack?: Partial<StackOptions>;
}

/** A node's stack, attached to its engine. */
export class NodeStack implements AsyncDisposable {
  /** The stack. */
  readonly stack: Stack;
  /** The loopback forwarder, or null when off. */
  readonly forwarder: LoopbackForwarder | null;
  #closed = false;

  /**
   * Builds the stack and attaches it to `engine` as its packet handler.
   * @param engine the engine (by shape)
   * @param opts addresses and options
   */
  constructor(engine: StackEngine, opts: NodeStackOptions) {
    this.stack = new Stack({
      addresses: opts.addresses,
      output: (buf, off, len) => {
        engine.device.send(buf, off, len);
      },
      ...opts.stack,
    });
    this.forwarder = opts.forward === false
      ? null
      : new LoopbackForwarder(this.stack, opts.forwarder);
    engine.setPacketHandler(this.stack);
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
