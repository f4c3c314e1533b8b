/**
 * The lab's reference data-path check: send random bytes through a node's SOCKS5 proxy to a TCP
 * server on this machine's loopback, reached at a peer's tailnet IP (a userspace-networking
 * tailscaled forwards inbound TCP to 127.0.0.1:<port>). The server hashes what arrives and
 * sends the SHA-256 back, so both ends check the bytes arrived whole.
 * @module
 */

import { createHash } from "node:crypto";
import { socks5Connect, socks5Handshake } from "./socks5.ts";

/** What {@linkcode socks5Transfer} measured. */
export interface TransferResult {
  /** Bytes sent. */
  bytes: number;
  /** Bytes the server received. */
  received: number;
  /** SHA-256 (hex) of what was sent. */
  sentSha256: string;
  /** SHA-256 (hex) of what the server received. */
  receivedSha256: string;
  /** SHA-256 (hex) the server sent back through the tunnel. */
  echoedSha256: string;
  /** From CONNECT to the digest coming back. */
  ms: number;
}

/**
 * Throws unless a transfer arrived whole: every byte at the server, its SHA-256 matching what was
 * sent, and the server's digest echoed back through the tunnel unchanged.
 * @param r what {@linkcode socks5Transfer} measured
 * @param what names the transfer in the error
 */
export function assertTransferWhole(r: TransferResult, what = "transfer"): void {
  const problems = [
    r.received !== r.bytes ? `received ${r.received} of ${r.bytes} bytes` : "",
    r.receivedSha256 !== r.sentSha256 ? "SHA-256 at the server differs" : "",
    r.echoedSha256 !== r.sentSha256 ? "SHA-256 echoed back differs" : "",
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`${what}: ${problems.join("; ")}`);
}

/** Options of {@linkcode socks5Transfer}. */
export interface TransferOptions {
  /**
   * Called by the receiving server after each read with the bytes received so far. The server
   * reads nothing more until a returned promise settles, so a test can act at a known point of
   * the transfer (e.g. stop derper once a quarter has arrived) while the sender is held back by
   * flow control instead of racing ahead.
   */
  onReceived?: (received: number) => void | Promise<void>;
}

/**
 * Moves `bytes` random bytes from the proxy's node to `peerIp`'s loopback server and back a digest.
 * @param socks5Addr the sending node's SOCKS5 proxy ("127.0.0.1:port")
 * @param peerIp the receiving node's tailnet IP
 * @param bytes how many bytes (e.g. 10 MiB)
 * @param opts a progress hook at the receiving server
 * @returns sizes, digests and time
 */
export async function socks5Transfer(
  socks5Addr: string,
  peerIp: string,
  bytes: number,
  opts: TransferOptions = {},
): Promise<TransferResult> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  return await transferVia(
    {
      connect: () => socks5Connect(socks5Addr, peerIp, port),
      listener,
    },
    bytes,
    opts,
  );
}

/** Where {@linkcode transferVia} sends and receives (a proxy and a server it may not reach directly). */
export interface TransferEnds {
  /** Opens the tunnel to the receiving server (e.g. a SOCKS5 CONNECT through a forwarder). */
  connect: () => Promise<Deno.Conn>;
  /** Where the receiving server accepts the tunnel's one connection; closed at the end. */
  listener: Deno.Listener;
}

/**
 * Like {@linkcode socks5Transfer}, with the two ends given: moves `bytes` random bytes into the
 * connection `ends.connect()` opens, hashes what `ends.listener` accepts, and echoes the digest.
 * The NAT lab uses it with Unix sockets forwarded into the nodes' namespaces.
 * @param ends the sending and the receiving end
 * @param bytes how many bytes
 * @param opts a progress hook at the receiving server
 * @returns sizes, digests and time
 */
export async function transferVia(
  ends: TransferEnds,
  bytes: number,
  opts: TransferOptions = {},
): Promise<TransferResult> {
  const data = new Uint8Array(bytes);
  for (let off = 0; off < bytes; off += 65_536) {
    crypto.getRandomValues(data.subarray(off, Math.min(bytes, off + 65_536)));
  }
  const sentSha256 = createHash("sha256").update(data).digest("hex");
  const listener = ends.listener;
  const server = serveOnce(listener, bytes, opts.onReceived);
  let conn: Deno.Conn | null = null;
  try {
    const t0 = performance.now();
    conn = await ends.connect();
    for (let off = 0; off < bytes;) {
      off += await conn.write(data.subarray(off, Math.min(bytes, off + 65_536)));
    }
    const echoed = new Uint8Array(32);
    for (let got = 0; got < 32;) {
      const n = await conn.read(echoed.subarray(got));
      if (n === null) break;
      got += n;
    }
    const ms = performance.now() - t0;
    const { received, hex } = await server;
    return {
      bytes,
      received,
      sentSha256,
      receivedSha256: hex,
      echoedSha256: toHex(echoed),
      ms,
    };
  } finally {
    conn?.close();
    try {
      listener.close();
    } catch {
      // Closed already.
    }
    await server.catch(() => {});
  }
}

/**
 * A SOCKS5 CONNECT to `peerIp:port` over a Unix socket forwarded to a node's proxy.
 * @param socketPath the forwarder's socket
 * @param peerIp the receiving node's tailnet IP
 * @param port the port on the receiving node
 */
export async function socks5ConnectUnix(
  socketPath: string,
  peerIp: string,
  port: number,
): Promise<Deno.Conn> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  return await socks5Handshake(conn, peerIp, port, socketPath);
}

async function serveOnce(
  listener: Deno.Listener,
  bytes: number,
  onReceived: TransferOptions["onReceived"],
): Promise<{ received: number; hex: string }> {
  const c = await listener.accept();
  try {
    const h = createHash("sha256");
    const buf = new Uint8Array(65_536);
    let received = 0;
    while (received < bytes) {
      const n = await c.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
      received += n;
      await onReceived?.(received);
    }
    const digest = new Uint8Array(h.digest());
    for (let off = 0; off < digest.length;) off += await c.write(digest.subarray(off));
    return { received, hex: toHex(digest) };
  } finally {
    c.close();
  }
}

function toHex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}
