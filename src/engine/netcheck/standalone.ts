/**
 * netcheck's own UDP socket, for a report run outside the daemon (`tailnet netcheck`, as
 * Go's `netcheck.Client.Standalone`): bound on `[::]:0` (dual-stack; IPv4 answers arrive
 * IPv4-mapped and are unmapped) or `0.0.0.0:0` where IPv6 is off, every datagram offered to
 * the client.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import { formatIpAddr, parseIpAddr } from "../wire/ip_addr.ts";
import type { InterfaceFamilies, NetcheckClient, StunTransport } from "./client.ts";

/** A UDP socket that feeds a {@linkcode NetcheckClient}. */
export class StandaloneStunSocket implements StunTransport {
  readonly #conn: Deno.DatagramConn;
  /** Whether it is bound on `[::]` and reaches IPv6 too. */
  readonly ipv6: boolean;
  #closed = false;
  #loop: Promise<void> = Promise.resolve();

  private constructor(conn: Deno.DatagramConn, ipv6: boolean) {
    this.#conn = conn;
    this.ipv6 = ipv6;
  }

  /**
   * Binds a socket on any port.
   * @param bindAddress the address to bind (empty: `[::]`, else `0.0.0.0`)
   * @param port the port (0: any)
   * @param log logger
   * @returns the socket
   * @throws the bind error when no address could be bound
   */
  static open(bindAddress = "", port = 0, log?: Logger): StandaloneStunSocket {
    const hosts = bindAddress !== "" ? [bindAddress] : ["::", "0.0.0.0"];
    let lastErr: unknown = null;
    for (const hostname of hosts) {
      try {
        const conn = Deno.listenDatagram({ transport: "udp", hostname, port });
        return new StandaloneStunSocket(conn, hostname.includes(":"));
      } catch (err) {
        lastErr = err;
        log?.debug(`UDP bind ${hostname}:${port}: ${err instanceof Error ? err.message : err}`);
      }
    }
    throw lastErr;
  }

  /**
   * Sends one datagram; never throws.
   * @param ip destination, 4 or 16 bytes
   * @param port destination port
   * @param packet the bytes
   * @returns false when the family cannot be sent on this socket
   */
  send(ip: Uint8Array, port: number, packet: Uint8Array): boolean {
    if (this.#closed || (ip.length === 16 && !this.ipv6)) return false;
    this.#conn.send(packet, { transport: "udp", hostname: formatIpAddr(ip), port })
      .catch(() => {});
    return true;
  }

  /**
   * Hands every received datagram to the client until closed.
   * @param client the netcheck client
   */
  feed(client: NetcheckClient): void {
    this.#loop = (async () => {
      while (!this.#closed) {
        let got: [Uint8Array, Deno.Addr];
        try {
          got = await this.#conn.receive();
        } catch {
          if (this.#closed) return;
          continue; // ICMP errors surface here on Linux; the socket is still good
        }
        const [data, addr] = got;
        const net = addr as Deno.NetAddr;
        let ip: Uint8Array;
        try {
          ip = parseIpAddr(net.hostname.replace(/%.*$/, ""));
        } catch {
          continue;
        }
        client.receiveStun(data, unmapV4(ip), net.port);
      }
    })();
  }

  /** Closes the socket; resolves once the receive loop ended. */
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
 * Whether the OS has IPv6: a UDP socket binds to `[::1]`, as Go checks.
 * @returns true when it does
 */
export function osHasIpv6(): boolean {
  try {
    Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether this host has usable IPv4 and IPv6 addresses, as netmon's HaveV4/HaveV6: IPv4 not
 * loopback or link-local; IPv6 global unicast (2000::/3) or ULA other than Tailscale's.
 * @returns the two flags
 */
export function interfaceFamilies(): InterfaceFamilies {
  let haveV4 = false;
  let haveV6 = false;
  let list: Deno.NetworkInterfaceInfo[] = [];
  try {
    list = Deno.networkInterfaces();
  } catch {
    return { haveV4: true, haveV6: true }; // not allowed to look: probe everything
  }
  for (const i of list) {
    const a = i.address.replace(/%.*$/, "").toLowerCase();
    if (i.family === "IPv4") {
      if (!a.startsWith("127.") && !a.startsWith("169.254.")) haveV4 = true;
    } else {
      const first = parseInt(a.split(":")[0] || "0", 16);
      const global = (first & 0xe000) === 0x2000;
      const ula = (first & 0xfe00) === 0xfc00 && !a.startsWith("fd7a:115c:a1e0:");
      if (global || ula) haveV6 = true;
    }
  }
  return { haveV4, haveV6 };
}

function unmapV4(ip: Uint8Array): Uint8Array {
  if (ip.length !== 16) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return ip;
  return ip[10] === 0xff && ip[11] === 0xff ? ip.slice(12) : ip;
}
