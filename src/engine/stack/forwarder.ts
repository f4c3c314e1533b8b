/**
 * Inbound forwarding as tailscaled does in userspace mode: a peer's TCP SYN to our Tailscale
 * IP:port, IPv4 or IPv6, is forwarded to 127.0.0.1:port (the real tailscaled in the interop
 * lab does the same for its IPv6 address). The handshake completes only once the local dial
 * succeeded; if nothing listens, the peer gets a RST. UDP to our IP:port goes to
 * 127.0.0.1:port from a host socket per flow, and replies come back through the stack; a flow
 * closes after a minute idle. A flow to a port nothing on 127.0.0.1 is bound to is declined, so
 * the peer gets ICMP port unreachable (tailscaled forwards such datagrams into the void).
 *
 * Routed destinations (our advertised subnet routes, or anywhere for an exit node: the stack
 * flags them `routed`) are dialled as they are, from the host's network, as tailscaled's
 * netstack `acceptTCP`/`forwardTCP` and `acceptUDP`/`forwardUDP` do: the peer's handshake
 * completes only once the host connection is up, else RST; UDP goes out from a host socket per
 * flow and only the destination's replies come back.
 * @module
 */
import type { Clock, TimerId } from "../base/clock.ts";
import { MAX_UDP_FLOWS, UDP_FLOW_IDLE_MS } from "./constants.ts";
import type { StackConn } from "./conn.ts";
import type { Stack, SynRequest, UdpUnbound } from "./stack.ts";

/** Counters of the forwarder. */
export interface ForwarderStats {
  /** TCP connections forwarded. */
  tcpForwarded: number;
  /** SYNs refused because the local dial failed. */
  tcpRefused: number;
  /** TCP connections open now. */
  tcpActive: number;
  /** UDP flows opened. */
  udpFlows: number;
  /** Datagrams forwarded to the host. */
  udpOut: number;
  /** Datagrams sent back to peers. */
  udpIn: number;
  /** Datagrams dropped (host socket error, reply too big). */
  udpDropped: number;
  /** New UDP flows declined because nothing on the host is bound to the port. */
  udpRefused: number;
  /** TCP connections to routed destinations (subnet routes, exit node) relayed. */
  tcpRouted: number;
  /** UDP flows to routed destinations opened. */
  udpRoutedFlows: number;
}

/** Options for {@linkcode LoopbackForwarder}. */
export interface ForwarderOptions {
  /** Host to forward to (default "127.0.0.1"). */
  host?: string;
  /** Opens the local TCP connection (tests replace it). */
  dial?: (host: string, port: number) => Promise<Deno.Conn>;
  /** Whether something on the host may receive UDP at host:port (tests replace it). */
  udpPortBound?: (host: string, port: number) => boolean;
  /** Where UDP flows' idle timers run; default the stack's clock. */
  clock?: Clock;
}

/**
 * Whether a UDP socket is bound to `host:port` (or the wildcard address) on this machine:
 * binding it ourselves fails then. Only a successful bind counts as "nobody": when the probe
 * cannot tell (a privileged port, no permission), the datagram is forwarded as before.
 * @param host the address to probe @param port the port
 * @returns false only when nothing is bound there
 */
export function udpPortBound(host: string, port: number): boolean {
  try {
    Deno.listenDatagram({ hostname: host, port, transport: "udp" }).close();
    return false;
  } catch {
    return true;
  }
}

interface UdpFlow {
  sock: Deno.DatagramConn;
  lastActive: number;
  timer: TimerId | null;
  loop: Promise<void>;
}

const COPY_CHUNK = 64 << 10;

/** Forwards inbound TCP and UDP from a stack to this machine's loopback. */
export class LoopbackForwarder {
  readonly #stack: Stack;
  readonly #host: string;
  readonly #dial: (host: string, port: number) => Promise<Deno.Conn>;
  readonly #udpPortBound: (host: string, port: number) => boolean;
  readonly #clock: Clock;
  readonly #tcp = new Set<{ host: Deno.Conn | null; conn: StackConn | null }>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #flows = new Map<string, UdpFlow>();
  #closed = false;
  /** Counters. */
  readonly stats: ForwarderStats = {
    tcpForwarded: 0,
    tcpRefused: 0,
    tcpActive: 0,
    udpFlows: 0,
    udpOut: 0,
    udpIn: 0,
    udpDropped: 0,
    udpRefused: 0,
    tcpRouted: 0,
    udpRoutedFlows: 0,
  };

  /**
   * Installs itself as the stack's SYN and UDP handler.
   * @param stack the stack
   * @param opts host and dialer
   */
  constructor(stack: Stack, opts: ForwarderOptions = {}) {
    this.#stack = stack;
    this.#host = opts.host ?? "127.0.0.1";
    this.#dial = opts.dial ??
      ((hostname, port) => Deno.connect({ hostname, port, transport: "tcp" }));
    this.#udpPortBound = opts.udpPortBound ?? udpPortBound;
    this.#clock = opts.clock ?? stack.clock;
    stack.setSynHandler((req) => this.#onSyn(req));
    stack.setUdpHandler((d) => this.#onUdp(d));
  }

  #track(p: Promise<void>): void {
    this.#tasks.add(p);
    p.finally(() => this.#tasks.delete(p));
  }

  #onSyn(req: SynRequest): void {
    if (this.#closed) {
      req.reject();
      return;
    }
    this.#track(this.#forwardTcp(req));
  }

  async #forwardTcp(req: SynRequest): Promise<void> {
    const pair: { host: Deno.Conn | null; conn: StackConn | null } = { host: null, conn: null };
    this.#tcp.add(pair);
    try {
      try {
        // Our own address: this machine's loopback; a routed one: that destination itself.
        const host = req.routed ? req.localAddr.hostname : this.#host;
        pair.host = await this.#dial(host, req.localAddr.port);
      } catch {
        this.stats.tcpRefused++;
        req.reject();
        return;
      }
      if (this.#closed) return;
      pair.conn = req.accept();
      if (pair.conn === null) return;
      this.stats.tcpForwarded++;
      if (req.routed) this.stats.tcpRouted++;
      this.stats.tcpActive++;
      try {
        await pipeBoth(pair.host, pair.conn);
      } finally {
        this.stats.tcpActive--;
      }
    } finally {
      try {
        pair.host?.close();
      } catch {
        // closed already
      }
      pair.conn?.close();
      this.#tcp.delete(pair);
    }
  }

  #onUdp(d: UdpUnbound): boolean {
    if (this.#closed) return true;
    const key =
      `${d.remoteAddr.hostname}|${d.remoteAddr.port}|${d.localAddr.hostname}|${d.localAddr.port}`;
    let flow = this.#flows.get(key);
    if (flow === undefined) {
      if (this.#flows.size >= MAX_UDP_FLOWS) {
        this.stats.udpDropped++;
        return true;
      }
      if (!d.routed && !this.#udpPortBound(this.#host, d.localAddr.port)) {
        this.stats.udpRefused++;
        return false;
      }
      let sock: Deno.DatagramConn;
      try {
        const bind = !d.routed ? this.#host : d.localAddr.hostname.includes(":") ? "::" : "0.0.0.0";
        sock = Deno.listenDatagram({ hostname: bind, port: 0, transport: "udp" });
      } catch {
        this.stats.udpDropped++;
        return true;
      }
      this.stats.udpFlows++;
      if (d.routed) this.stats.udpRoutedFlows++;
      const f: UdpFlow = {
        sock,
        lastActive: this.#clock.now(),
        timer: null,
        loop: Promise.resolve(),
      };
      f.loop = this.#udpReplies(key, f, d);
      this.#armIdle(key, f);
      this.#flows.set(key, f);
      flow = f;
    }
    flow.lastActive = this.#clock.now();
    const target: Deno.NetAddr = {
      transport: "udp",
      hostname: d.routed ? d.localAddr.hostname : this.#host,
      port: d.localAddr.port,
    };
    flow.sock.send(d.data, target).then(
      () => this.stats.udpOut++,
      () => this.stats.udpDropped++,
    );
    return true;
  }

  async #udpReplies(key: string, f: UdpFlow, first: UdpUnbound): Promise<void> {
    try {
      for (;;) {
        const [data, from] = await f.sock.receive();
        // A routed flow's host socket is unconnected: only its destination may answer.
        if (first.routed && !sameUdpAddr(from, first.localAddr)) continue;
        f.lastActive = this.#clock.now();
        const ok = this.#stack.sendUdp(
          first.localAddr.hostname,
          first.localAddr.port,
          first.remoteAddr.hostname,
          first.remoteAddr.port,
          data,
        );
        if (ok) this.stats.udpIn++;
        else this.stats.udpDropped++;
      }
    } catch {
      // socket closed
    } finally {
      this.#flows.delete(key);
    }
  }

  #armIdle(key: string, f: UdpFlow): void {
    f.timer = this.#clock.setTimeout(() => {
      f.timer = null;
      const idle = this.#clock.now() - f.lastActive;
      if (idle >= UDP_FLOW_IDLE_MS) this.#closeFlow(key, f);
      else this.#armIdle(key, f);
    }, UDP_FLOW_IDLE_MS);
  }

  #closeFlow(key: string, f: UdpFlow): void {
    if (f.timer !== null) this.#clock.clearTimeout(f.timer);
    f.timer = null;
    try {
      f.sock.close();
    } catch {
      // closed already
    }
    this.#flows.delete(key);
  }

  /** Stops forwarding: closes every forwarded connection and flow, waits for them. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stack.setSynHandler(null);
    this.#stack.setUdpHandler(null);
    for (const p of this.#tcp) {
      try {
        p.host?.close();
      } catch {
        // closed already
      }
      p.conn?.close();
    }
    const loops = [...this.#flows.values()].map((f) => f.loop);
    for (const [k, f] of [...this.#flows]) this.#closeFlow(k, f);
    await Promise.allSettled([...this.#tasks, ...loops]);
  }
}

function sameUdpAddr(a: Deno.Addr, b: Deno.NetAddr): boolean {
  if (a.transport !== "udp" || a.port !== b.port) return false;
  const h = a.hostname.replace(/^::ffff:/, "");
  return h === b.hostname;
}

/**
 * Copies both ways until both directions ended, half-closing each side as its source ends.
 * @param host the local connection @param conn the stack connection
 */
async function pipeBoth(host: Deno.Conn, conn: StackConn): Promise<void> {
  const up = (async () => {
    const buf = new Uint8Array(COPY_CHUNK);
    for (;;) {
      const n = await host.read(buf);
      if (n === null) break;
      for (let off = 0; off < n;) off += await conn.write(buf.subarray(off, n));
    }
    await conn.closeWrite();
  })();
  const down = (async () => {
    const buf = new Uint8Array(COPY_CHUNK);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      for (let off = 0; off < n;) off += await host.write(buf.subarray(off, n));
    }
    await host.closeWrite();
  })();
  // When one direction fails the other could wait forever: close both ends then.
  const fail = () => {
    try {
      host.close();
    } catch {
      // closed already
    }
    conn.close();
  };
  await Promise.all([up.catch(fail), down.catch(fail)]);
}
