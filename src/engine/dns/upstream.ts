/**
 * How forwarded queries reach their resolvers: over the tailnet (a UDP socket of our stack)
 * when the resolver is a tailnet address, as tailscaled's forwarder dials through netstack,
 * else over the host's network.
 * @module
 */
import type { UdpSocket } from "../stack/mod.ts";
import type { DnsUpstream } from "./resolver.ts";

/** What {@linkcode NodeUpstream} needs of the node's stack. */
export interface UpstreamStack {
  /** Binds a stack UDP port (0: any). */
  listenUdp(port?: number): UdpSocket;
}

/** Options of {@linkcode NodeUpstream}. */
export interface NodeUpstreamOptions {
  /** The node's stack, for resolvers inside the tailnet. */
  stack: UpstreamStack;
  /** Whether an address is reached through the tailnet (a peer's address or route). */
  viaTailnet(ip: string): boolean;
}

/** A {@linkcode DnsUpstream} over the stack or the host's UDP. */
export class NodeUpstream implements DnsUpstream {
  readonly #opts: NodeUpstreamOptions;

  /** @param opts the stack and the routing test */
  constructor(opts: NodeUpstreamOptions) {
    this.#opts = opts;
  }

  /** Sends the query and waits for the first datagram back from the resolver. */
  exchange(ip: string, port: number, query: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    return this.#opts.viaTailnet(ip)
      ? this.#viaStack(ip, port, query, signal)
      : viaHost(ip, port, query, signal);
  }

  async #viaStack(
    ip: string,
    port: number,
    query: Uint8Array,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    signal.throwIfAborted();
    const sock = this.#opts.stack.listenUdp(0);
    const onAbort = () => sock.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (!sock.send(query, ip, port)) throw new RangeError(`Cannot send to ${ip}:${port}`);
      for (;;) {
        const r = await sock.receive();
        if (r === null) throw signal.reason ?? new RangeError("socket closed");
        if (r.remoteAddr.hostname === ip && r.remoteAddr.port === port) return r.data;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      sock.close();
    }
  }
}

async function viaHost(
  ip: string,
  port: number,
  query: Uint8Array,
  signal: AbortSignal,
): Promise<Uint8Array> {
  signal.throwIfAborted();
  const v6 = ip.includes(":");
  const conn = Deno.listenDatagram({ transport: "udp", hostname: v6 ? "::" : "0.0.0.0", port: 0 });
  const onAbort = () => conn.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await conn.send(query, { transport: "udp", hostname: ip, port });
    for (;;) {
      const [data, from] = await conn.receive();
      const a = from as Deno.NetAddr;
      if (a.port === port && a.hostname.replace(/^::ffff:/, "") === ip) return data;
    }
  } catch (err) {
    throw signal.aborted ? signal.reason : err;
  } finally {
    signal.removeEventListener("abort", onAbort);
    try {
      conn.close();
    } catch {
      // closed by the abort
    }
  }
}
