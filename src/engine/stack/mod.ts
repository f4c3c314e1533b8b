/**
 * The userspace TCP/UDP stack: what other folders may use. {@linkcode Stack} takes IP
 * packets in (`input`, or `inbound` as the engine's packet handler) and sends through the
 * `output` it is given; {@linkcode LoopbackForwarder} forwards inbound connections to this
 * machine's loopback as tailscaled does in userspace mode; {@linkcode TailnetDialer} is the
 * small interface the proxies dial through.
 *
 * @example Two stacks joined back to back
 * ```ts
 * import { Stack } from "./mod.ts";
 * const queue: [Stack, Uint8Array][] = [];
 * const a: Stack = new Stack({
 *   addresses: ["100.64.0.1"],
 *   output: (buf, off, len) => queue.push([b, buf.slice(off, off + len)]),
 * });
 * const b: Stack = new Stack({
 *   addresses: ["100.64.0.2"],
 *   output: (buf, off, len) => queue.push([a, buf.slice(off, off + len)]),
 * });
 * const pump = setInterval(() => {
 *   for (const [to, p] of queue.splice(0)) to.input(p);
 * }, 1);
 * const listener = b.listenTcp({ port: 80 });
 * const accepted = listener.accept();
 * const client = await a.connectTcp("100.64.0.2", 80);
 * const server = await accepted;
 * await client.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(2);
 * const n = await server.read(buf);
 * clearInterval(pump);
 * listener.close();
 * a.close();
 * b.close();
 * if (n !== 2) throw new Error("bad");
 * ```
 * @module
 */
export { type ConnHost, StackConn } from "./conn.ts";
export { type ForwarderOptions, type ForwarderStats, LoopbackForwarder } from "./forwarder.ts";
export {
  HEADROOM,
  type ListenOptions,
  Stack,
  type StackDrops,
  type StackOptions,
  type StackStats,
  type SynRequest,
  TcpListener,
  type UdpHandler,
  type UdpUnbound,
} from "./stack.ts";
export { type TcpError, TcpSocket, type TcpSocketStats, type TcpState } from "./tcp_socket.ts";
export { type UdpReceived, UdpSocket } from "./udp_socket.ts";
export type { CongestionController } from "./congestion/mod.ts";

/** How the proxies (SOCKS5, HTTP) reach tailnet addresses through the stack. */
export interface TailnetDialer {
  /**
   * Opens a TCP connection to a tailnet address.
   * @param ip the peer's Tailscale IP (v4 or v6)
   * @param port its port
   * @param signal gives up the attempt
   * @returns the connection once established
   */
  dialTcp(ip: string, port: number, signal?: AbortSignal): Promise<StackConn>;
  /**
   * Binds a UDP socket on our tailnet addresses.
   * @param port 0 for an ephemeral port
   * @returns the socket
   */
  listenUdp(port?: number): UdpSocket;
}

import type { StackConn } from "./conn.ts";
import type { UdpSocket } from "./udp_socket.ts";
export { NodeStack, type NodeStackOptions } from "./node_stack.ts";
