/**
 * One SOCKS5 UDP association (RFC 1928 section 7): datagrams from the client carry a header
 * naming their destination; each destination gets a flow from the dialer (the router: host
 * or tailnet), and each answer goes back with a header naming the address the client used.
 * Only datagrams from the client's address are relayed; fragments (FRAG != 0) are dropped.
 * @module
 */
import type { ProxyUdpFlow } from "./dialer.ts";
import { emitUdpHeader, parseUdpHeader, type SocksAddr, udpHeaderLen } from "./socks5_messages.ts";
import { UDP_MAX_DATAGRAM_BYTES, UDP_MAX_FLOWS_PER_ASSOCIATION } from "./constants.ts";

/** What an association needs from its server. */
export interface AssociationHost {
  /** Counters it bumps: datagrams in, out and dropped. */
  readonly stats: { udpOut: number; udpIn: number; udpDrops: number };
  /** Opens a flow to `addr`, or null when the dial failed (counted by the server). */
  dialUdpFlow(addr: SocksAddr): Promise<ProxyUdpFlow | null>;
  /** Forgets a flow the association closed. */
  untrack(c: { close(): void }): void;
}

/** One UDP association: the client-facing socket and a flow per destination. */
export class UdpAssociation {
  #server: AssociationHost;
  #sock: Deno.DatagramConn;
  #clientIp: string;
  #clientPort: number;
  #flows = new Map<string, ProxyUdpFlow>();
  #pumps: Promise<void>[] = [];
  #closed = false;

  /**
   * @param server opens flows and keeps the counters
   * @param sock the client-facing socket (closed by {@linkcode UdpAssociation.close})
   * @param clientIp only datagrams from this address are relayed
   * @param port the client's port from its request; 0 learns it from the first datagram
   */
  constructor(server: AssociationHost, sock: Deno.DatagramConn, clientIp: string, port: number) {
    this.#server = server;
    this.#sock = sock;
    this.#clientIp = clientIp;
    this.#clientPort = port; // 0: learnt from the first datagram
  }

  /** Relays client datagrams until closed, then waits for the flows' pumps. */
  async run(): Promise<void> {
    const stats = this.#server.stats;
    const buf = new Uint8Array(UDP_MAX_DATAGRAM_BYTES);
    while (!this.#closed) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await this.#sock.receive(buf);
      } catch {
        break;
      }
      if (from.transport !== "udp" || !sameHost(from.hostname, this.#clientIp)) {
        stats.udpDrops++;
        continue;
      }
      if (this.#clientPort === 0) this.#clientPort = from.port;
      if (from.port !== this.#clientPort) {
        stats.udpDrops++;
        continue;
      }
      let hdr;
      try {
        hdr = parseUdpHeader(data, 0);
      } catch {
        stats.udpDrops++;
        continue;
      }
      if (hdr.value.frag !== 0) {
        stats.udpDrops++; // fragmentation is optional (RFC 1928, section 7); we drop
        continue;
      }
      const flow = await this.#flow(hdr.value.addr);
      if (flow === null) {
        stats.udpDrops++;
        continue;
      }
      try {
        await flow.send(data.slice(hdr.end));
        stats.udpOut++;
      } catch {
        stats.udpDrops++;
      }
    }
    this.close();
    await Promise.all(this.#pumps);
  }

  async #flow(addr: SocksAddr): Promise<ProxyUdpFlow | null> {
    const key = `${addr.type} ${addr.host} ${addr.port}`;
    const have = this.#flows.get(key);
    if (have !== undefined) return have;
    if (this.#flows.size >= UDP_MAX_FLOWS_PER_ASSOCIATION) return null;
    const flow = await this.#server.dialUdpFlow(addr);
    if (flow === null) return null;
    if (this.#closed) {
      flow.close();
      this.#server.untrack(flow);
      return null;
    }
    this.#flows.set(key, flow);
    this.#pumps.push(this.#pumpBack(flow, addr));
    return flow;
  }

  /** Destination → client: each datagram gets the header naming the address the client used. */
  async #pumpBack(flow: ProxyUdpFlow, addr: SocksAddr): Promise<void> {
    const hdr = { frag: 0, addr };
    const hlen = udpHeaderLen(hdr);
    for (;;) {
      const data = await flow.receive();
      if (data === null) break;
      if (hlen + data.length > UDP_MAX_DATAGRAM_BYTES) {
        this.#server.stats.udpDrops++;
        continue;
      }
      const out = new Uint8Array(hlen + data.length);
      emitUdpHeader(hdr, out, 0);
      out.set(data, hlen);
      try {
        await this.#sock.send(out, {
          transport: "udp",
          hostname: this.#clientIp,
          port: this.#clientPort,
        });
        this.#server.stats.udpIn++;
      } catch {
        break;
      }
    }
    flow.close();
    this.#server.untrack(flow);
  }

  /** Closes the socket and every flow. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const f of this.#flows.values()) f.close();
    try {
      this.#sock.close();
    } catch { /* already */ }
  }
}

function sameHost(a: string, b: string): boolean {
  const strip = (s: string) => s.startsWith("::ffff:") ? s.slice(7) : s;
  return strip(a) === strip(b);
}
