/**
 * The node's one UDP socket, as magicsock keeps it: WireGuard, disco and STUN all go through
 * it and are told apart by their first bytes. It is bound on `[::]` (dual-stack on Linux, so
 * IPv4 peers arrive as `::ffff:a.b.c.d`, unmapped here) and falls back to `0.0.0.0` where IPv6
 * is unavailable; a port already in use falls back to any port, as tailscaled does.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import { ByteSlab } from "../base/slab.ts";
import { formatIpAddr, parseIpAddr } from "../wire/ip_addr.ts";

/** One received datagram and where it came from. */
export interface UdpDatagram {
  /** The bytes. */
  readonly data: Uint8Array;
  /** The sender's IP, 4 or 16 bytes (IPv4-mapped IPv6 unmapped); shared, read-only. */
  readonly ip: Uint8Array;
  /** The sender's port. */
  readonly port: number;
}

/** The largest UDP payload (IPv4): what one receive must have room for. */
const MAX_UDP_PAYLOAD = 65_507;
/** Bounds the parsed-source cache; past it, it starts again (a scan costs only re-parsing). */
const MAX_PARSED_SOURCES = 1024;

/** The node's UDP socket. */
export class UdpSocket {
  readonly #conn: Deno.DatagramConn;
  readonly #log: Logger;
  /** Whether it is bound on `[::]` and so reaches IPv6 too. */
  readonly ipv6: boolean;
  /** Sends that failed (the OS refused them). */
  sendErrors = 0;
  #closed = false;
  /** The receive loop; the OS lets go of the port only once its pending receive has ended. */
  #loop: Promise<void> = Promise.resolve();
  /**
   * Source address texts Deno gave us, parsed (and unmapped): the few peers that send to us
   * repeat theirs on every datagram, and parsing was a few percent of the receive path.
   * The arrays are shared: treat them as read-only.
   */
  readonly #parsedSources = new Map<string, Uint8Array>();
  /** Destination IPs (the candidates' own arrays) formatted for Deno's send. */
  readonly #formatted = new WeakMap<Uint8Array, string>();
  /** Where each datagram's own copy goes, in and out (a fresh ArrayBuffer each costs more). */
  readonly #slab = new ByteSlab();

  private constructor(conn: Deno.DatagramConn, ipv6: boolean, log: Logger) {
    this.#conn = conn;
    this.ipv6 = ipv6;
    this.#log = log;
  }

  /**
   * Binds the socket.
   * @param port the port to ask for; 0 for any
   * @param log logger
   * @returns the socket, or null when UDP cannot be bound at all (DERP only then)
   */
  static open(port: number, log: Logger): UdpSocket | null {
    const tries: [string, number][] = [["::", port], ["0.0.0.0", port]];
    if (port !== 0) tries.push(["::", 0], ["0.0.0.0", 0]);
    for (const [hostname, p] of tries) {
      try {
        const conn = Deno.listenDatagram({ transport: "udp", hostname, port: p });
        const sock = new UdpSocket(conn, hostname === "::", log);
        if (p !== port) log.warn(`UDP port ${port} unavailable; using ${sock.port}`);
        return sock;
      } catch (err) {
        log.debug(`UDP bind ${hostname}:${p}: ${err instanceof Error ? err.message : err}`);
      }
    }
    log.warn("no UDP socket: peers are reached through DERP only");
    return null;
  }

  /** The bound port. */
  get port(): number {
    return (this.#conn.addr as Deno.NetAddr).port;
  }

  /**
   * Sends one datagram; never throws (failures are counted).
   * @param ip destination, 4 or 16 bytes
   * @param port destination port
   * @param data the bytes (copied: the caller may reuse its buffer)
   */
  send(ip: Uint8Array, port: number, data: Uint8Array): void {
    if (this.#closed) return;
    if (ip.length === 16 && !this.ipv6) {
      this.sendErrors++;
      return;
    }
    let hostname = this.#formatted.get(ip);
    if (hostname === undefined) {
      hostname = formatIpAddr(ip);
      this.#formatted.set(ip, hostname);
    }
    this.#conn.send(this.#slab.copyOf(data), { transport: "udp", hostname, port }).catch(() => {
      this.sendErrors++;
    });
  }

  /**
   * Receives until closed, handing each datagram to `onDatagram`.
   * @param onDatagram the demultiplexer
   */
  run(onDatagram: (d: UdpDatagram) => void): Promise<void> {
    // One receive in flight. Several at once (so a burst is handled in one event-loop turn)
    // cut kernel drops, but lost connections in the 200-connection interop test: not until
    // that is understood.
    this.#loop = this.#receiveLoop(onDatagram);
    return this.#loop;
  }

  async #receiveLoop(onDatagram: (d: UdpDatagram) => void): Promise<void> {
    // Deno's receive() without a buffer allocates (and zeroes) a 64 KiB one per datagram, and
    // the datagram handed on would keep all of it alive while queued: receive into one buffer
    // and copy out just the datagram.
    const buf = new Uint8Array(MAX_UDP_PAYLOAD);
    while (!this.#closed) {
      let got: [Uint8Array, Deno.Addr];
      try {
        got = await this.#conn.receive(buf);
      } catch (err) {
        if (this.#closed) return;
        // ICMP errors (port unreachable) surface here on Linux; the socket is still good.
        this.#log.debug(`UDP receive: ${err instanceof Error ? err.message : err}`);
        continue;
      }
      const [view, addr] = got;
      const net = addr as Deno.NetAddr;
      let ip = this.#parsedSources.get(net.hostname);
      if (ip === undefined) {
        try {
          ip = unmap(parseIpAddr(net.hostname.replace(/%.*$/, "")));
        } catch {
          continue;
        }
        if (this.#parsedSources.size >= MAX_PARSED_SOURCES) this.#parsedSources.clear();
        this.#parsedSources.set(net.hostname, ip);
      }
      onDatagram({ data: this.#slab.copyOf(view), ip, port: net.port });
    }
  }

  /**
   * Closes the socket; a pending receive ends.
   * @returns resolves once the port is free again: Deno drops the socket only when the
   *   receive in flight has ended, so binding the same port before that fails
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    }
    return this.#loop;
  }
}

/**
 * An IPv4-mapped IPv6 address as its 4 IPv4 bytes; anything else unchanged.
 * @param ip 4 or 16 bytes
 * @returns the address
 */
export function unmap(ip: Uint8Array): Uint8Array {
  if (ip.length !== 16) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return ip;
  if (ip[10] !== 0xff || ip[11] !== 0xff) return ip;
  return ip.slice(12);
}

/**
 * The node's local endpoints for control: every interface address that is neither loopback
 * nor IPv6 link-local, with our port (tailscaled leaves those out too).
 * @param port our UDP port
 * @param ipv6 whether the socket reaches IPv6
 * @returns `ip:port` texts
 */
export function localEndpoints(port: number, ipv6: boolean): string[] {
  let ifaces: Deno.NetworkInterfaceInfo[];
  try {
    ifaces = Deno.networkInterfaces();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const i of ifaces) {
    if (i.family === "IPv4") {
      if (i.address.startsWith("127.")) continue;
      out.push(`${i.address}:${port}`);
    } else if (ipv6) {
      const a = i.address.toLowerCase();
      if (a === "::1" || a.startsWith("fe80:")) continue;
      out.push(`[${a}]:${port}`);
    }
  }
  return [...new Set(out)];
}
