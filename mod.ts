/**
 * tailnet as a library, like Go's tsnet: a {@linkcode TailnetNode} joins a tailnet (headscale
 * or Tailscale's control plane) from a Deno program, then dials peers and listens on its own
 * Tailscale addresses through a userspace TCP/UDP stack. No root, no TUN device.
 *
 * @example Join, listen, dial (needs a control server; see README for a runnable version)
 * ```ts ignore
 * import { TailnetNode } from "./mod.ts";
 * await using node = await TailnetNode.open({ stateDir: "./tn-state" });
 * await node.up({ controlUrl: "http://127.0.0.1:8080", authKey: "hskey-auth-…", hostname: "app" });
 * console.log("my addresses:", node.ips());
 * const listener = node.listen(7000);
 * const conn = await node.dial("other-node", 80);
 * await conn.writable.getWriter().write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
 * ```
 *
 * @example Parse and print a node key
 * ```ts
 * import { generatePrivate, publicOf, publicToText } from "./mod.ts";
 * const text = publicToText("node", publicOf(generatePrivate("node")));
 * if (!text.startsWith("nodekey:")) throw new Error(text);
 * ```
 * @module
 */
export {
  NodeError,
  osHostinfo,
  TailnetNode,
  type TailnetNodeOptions,
  type UpOptions,
} from "./src/node.ts";
export type { PingKind, PingResult } from "./src/engine/engine.ts";
export type { StackConn, TcpListener, UdpSocket } from "./src/engine/stack/mod.ts";
export type { StatusJson } from "./src/ipn/status.ts";
export * from "./src/engine/key/keys.ts";
export { Logger, type LoggerOptions, type LogLevel } from "./src/engine/base/logger.ts";
export { ParseError, TailnetError } from "./src/engine/base/errors.ts";
export { TAILNET_VERSION } from "./src/version.ts";
