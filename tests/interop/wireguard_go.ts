/**
 * Helpers for the wireguard-go interop test: talk to wireguard-go's UAPI socket, run commands in
 * a network namespace, and a {@linkcode UdpBind} that puts a wg Device on a real UDP socket
 * (`Deno.listenDatagram`). wireguard-go itself is pinned in `tests/lab/versions.ts` and built by
 * `deno task lab build` (before any test, outside the offline namespace); the test finds it with
 * `wireguardGoBin()` and gates on `wireguardGoAvailable()`, never building anything.
 * @module
 */
import type { Bind, BindEndpoint, BindReceived } from "../../src/engine/wg/bind.ts";
import { parseIp } from "../../src/engine/wg/allowed_ips.ts";

/**
 * Runs a command and returns its output; throws with stderr when it fails and `check` is set.
 * @param cmd program
 * @param args arguments
 * @param check throw on failure (default true)
 * @returns stdout text and success
 */
export async function run(
  cmd: string,
  args: string[],
  check = true,
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  const res = { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (check && !res.ok) throw new Error(`${cmd} ${args.join(" ")}: ${res.stderr.trim()}`);
  return res;
}

/**
 * Sends one UAPI request and returns the reply lines (without the final `errno=`).
 * Throws when the reply's errno is not 0.
 * @param socketPath `/var/run/wireguard/<iface>.sock`
 * @param request e.g. `get=1\n\n`, or `set=1\n…\n\n`
 * @returns key/value pairs in order
 */
export async function uapi(socketPath: string, request: string): Promise<[string, string][]> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  try {
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\n\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const pairs = text.trim().split("\n").filter((l) => l.includes("=")).map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)] as [string, string];
    });
    const errno = pairs.find(([k]) => k === "errno");
    if (!errno || errno[1] !== "0") throw new Error(`UAPI error: ${errno?.[1] ?? "no reply"}`);
    return pairs.filter(([k]) => k !== "errno");
  } finally {
    conn.close();
  }
}

/** A UDP address as a bind endpoint; `addrBytes` is IP then port, as wireguard-go's. */
export class UdpEndpoint implements BindEndpoint {
  /** IP text. */
  readonly hostname: string;
  /** Port. */
  readonly port: number;
  /** IP bytes then the port little-endian (netip.AddrPort.MarshalBinary). */
  readonly addrBytes: Uint8Array;

  /**
   * @param hostname IP text
   * @param port UDP port
   */
  constructor(hostname: string, port: number) {
    this.hostname = hostname;
    this.port = port;
    const ip = parseIp(hostname);
    this.addrBytes = new Uint8Array(ip.length + 2);
    this.addrBytes.set(ip);
    this.addrBytes[ip.length] = port & 0xff;
    this.addrBytes[ip.length + 1] = port >> 8;
  }

  /** @returns `ip:port` */
  toString(): string {
    return `${this.hostname}:${this.port}`;
  }
}

/** A {@linkcode Bind} over one `Deno.listenDatagram` UDP socket. */
export class UdpBind implements Bind {
  readonly #conn: Deno.DatagramConn;
  readonly #endpoints = new Map<string, UdpEndpoint>();
  #closed = false;
  /** Sends that failed. */
  sendErrors = 0;
  /** Sends still in flight. */
  #inflight = 0;
  #drained: (() => void) | null = null;

  /**
   * @param hostname local address
   * @param port local port (0 for any)
   */
  constructor(hostname: string, port = 0) {
    this.#conn = Deno.listenDatagram({ transport: "udp", hostname, port });
  }

  /** The local port. */
  get port(): number {
    return (this.#conn.addr as Deno.NetAddr).port;
  }

  /** Sends without waiting; failures are counted. */
  send(datagram: Uint8Array, to: BindEndpoint): void {
    if (this.#closed || !(to instanceof UdpEndpoint)) return;
    this.#inflight++;
    this.#conn.send(datagram, { transport: "udp", hostname: to.hostname, port: to.port })
      .catch(() => this.sendErrors++)
      .finally(() => {
        if (--this.#inflight === 0 && this.#drained) this.#drained();
      });
  }

  /** The next datagram, or null once closed. */
  async receive(): Promise<BindReceived | null> {
    if (this.#closed) return null;
    try {
      const [data, addr] = await this.#conn.receive();
      const na = addr as Deno.NetAddr;
      const key = `${na.hostname}:${na.port}`;
      let ep = this.#endpoints.get(key);
      if (ep === undefined) {
        ep = new UdpEndpoint(na.hostname, na.port);
        this.#endpoints.set(key, ep);
      }
      return { data, endpoint: ep };
    } catch {
      return null;
    }
  }

  /** Waits for sends in flight, then closes the socket. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const done = () => {
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    };
    if (this.#inflight === 0) done();
    else this.#drained = done;
  }
}

/**
 * An IPv4 ICMP echo packet (request type 8 or reply type 0), checksums filled in.
 * @param src source IP text or bytes
 * @param dst destination
 * @param type 8 request, 0 reply
 * @param id identifier
 * @param seq sequence number
 * @param payload data
 * @returns the IP packet
 */
export function icmpEcho(
  src: Uint8Array,
  dst: Uint8Array,
  type: 0 | 8,
  id: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  const p = new Uint8Array(28 + payload.length);
  p[0] = 0x45;
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[8] = 64;
  p[9] = 1;
  p.set(src, 12);
  p.set(dst, 16);
  const hc = checksum(p, 0, 20);
  p[10] = hc >> 8;
  p[11] = hc & 0xff;
  p[20] = type;
  p[24] = id >> 8;
  p[25] = id & 0xff;
  p[26] = seq >> 8;
  p[27] = seq & 0xff;
  p.set(payload, 28);
  const ic = checksum(p, 20, p.length);
  p[22] = ic >> 8;
  p[23] = ic & 0xff;
  return p;
}

/** The Internet checksum of `b[from .. to]`. */
export function checksum(b: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i += 2) sum += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * If `p` is an ICMPv4 echo request with valid checksums, the reply to it; else null.
 * @param p an IP packet
 * @returns the echo reply or null
 */
export function answerEcho(p: Uint8Array): Uint8Array | null {
  if (p.length < 28 || p[0] !== 0x45 || p[9] !== 1 || p[20] !== 8) return null;
  if (checksum(p, 0, 20) !== 0 || checksum(p, 20, p.length) !== 0) return null;
  return icmpEcho(
    p.slice(16, 20),
    p.slice(12, 16),
    0,
    (p[24] << 8) | p[25],
    (p[26] << 8) | p[27],
    p.slice(28),
  );
}
