/**
 * A minimal SOCKS5 client (RFC 1928, no authentication, CONNECT only), to reach tailnet
 * addresses through a node's `--socks5-server` the way curl --socks5 does.
 * @module
 */

/** A SOCKS5 handshake failed or the proxy refused the connection. */
export class Socks5Error extends Error {
  /** @param message what failed */
  constructor(message: string) {
    super(message);
    this.name = "Socks5Error";
  }
}

/** Reply codes of RFC 1928 section 6, for messages. */
const REPLIES: Record<number, string> = {
  1: "general failure",
  2: "not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};

/**
 * Opens a TCP connection to `host:port` through the SOCKS5 proxy at `proxy` ("127.0.0.1:1080").
 * @param proxy proxy address, "ip:port"
 * @param host IPv4 literal or host name (sent as a domain name)
 * @param port destination port
 * @returns the connection, past the handshake
 * @throws {Socks5Error} when the proxy refuses
 */
export async function socks5Connect(
  proxy: string,
  host: string,
  port: number,
): Promise<Deno.TcpConn> {
  return await socks5Handshake(await dialProxy(proxy), host, port, proxy);
}

/**
 * Runs the SOCKS5 no-auth CONNECT handshake over a connection already open to a proxy (e.g. a
 * Unix socket forwarded to it); closes the connection when the handshake fails.
 * @param conn the connection to the proxy
 * @param host IPv4 literal or host name (sent as a domain name)
 * @param port destination port
 * @param proxy the proxy's name, for messages
 * @returns the same connection, past the handshake
 * @throws {Socks5Error} when the proxy refuses
 */
export async function socks5Handshake<C extends Deno.Conn>(
  conn: C,
  host: string,
  port: number,
  proxy: string,
): Promise<C> {
  try {
    await writeAll(conn, new Uint8Array([5, 1, 0])); // version 5, one method: no auth
    const method = await readExact(conn, 2);
    if (method[0] !== 5 || method[1] !== 0) {
      throw new Socks5Error(`SOCKS5 proxy ${proxy} refused no-auth: ${method[0]} ${method[1]}`);
    }
    await writeAll(conn, connectRequest(host, port));
    const head = await readExact(conn, 4);
    if (head[1] !== 0) {
      throw new Socks5Error(
        `SOCKS5 CONNECT ${host}:${port} via ${proxy}: ${REPLIES[head[1]] ?? `reply ${head[1]}`}`,
      );
    }
    // Skip the bound address: IPv4 (4), domain (1+len) or IPv6 (16), then the port (2).
    const atyp = head[3];
    const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : (await readExact(conn, 1))[0];
    await readExact(conn, addrLen + 2);
    return conn;
  } catch (err) {
    conn.close();
    throw err;
  }
}

/**
 * Opens a TCP connection to a proxy at "ip:port".
 * @param proxy the proxy's address as the lab prints it
 * @returns the connection
 */
export function dialProxy(proxy: string): Promise<Deno.TcpConn> {
  const at = proxy.lastIndexOf(":");
  return Deno.connect({ hostname: proxy.slice(0, at), port: Number(proxy.slice(at + 1)) });
}

/**
 * One UDP exchange through a SOCKS5 UDP ASSOCIATE (no auth): a datagram to `ip:port` (IPv4),
 * re-sent once a second until an answer comes (UDP may be lost on the way in).
 * @param proxyPort the proxy's port on 127.0.0.1
 * @param ip destination IPv4 @param port destination port @param text the payload
 * @param tries how many sends before giving up
 * @returns the answer's payload as text
 * @throws {Socks5Error} when the association fails or no answer comes
 */
export async function socks5UdpExchange(
  proxyPort: number,
  ip: string,
  port: number,
  text: string,
  tries = 10,
): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: proxyPort });
  const u = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    await writeAll(c, new Uint8Array([5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0]));
    const r = await readExact(c, 12);
    if (r[3] !== 0) throw new Socks5Error(`UDP ASSOCIATE via ${proxyPort}: reply ${r[3]}`);
    const relayPort = (r[10] << 8) | r[11];
    const payload = new TextEncoder().encode(text);
    const d = new Uint8Array(10 + payload.length);
    d.set([0, 0, 0, 1, ...ip.split(".").map(Number), port >> 8, port & 0xff]);
    d.set(payload, 10);
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: relayPort };
    for (let i = 0; i < tries; i++) {
      await u.send(d, to);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        u.receive(),
        new Promise<null>((res) => timer = setTimeout(() => res(null), 1000)),
      ]);
      clearTimeout(timer);
      if (got !== null) return new TextDecoder().decode(got[0].subarray(10));
    }
    throw new Socks5Error(`no UDP answer from ${ip}:${port} through the association`);
  } finally {
    c.close();
    u.close();
  }
}

/** The CONNECT request bytes for `host:port`. */
export function connectRequest(host: string, port: number): Uint8Array {
  const v4 = host.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  const addr = v4
    ? [1, ...v4.slice(1).map(Number)]
    : [3, host.length, ...new TextEncoder().encode(host)];
  return new Uint8Array([5, 1, 0, ...addr, port >> 8, port & 0xff]);
}

async function writeAll(conn: Deno.Conn, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.length;) off += await conn.write(b.subarray(off));
}

async function readExact(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const got = await conn.read(out.subarray(off));
    if (got === null) throw new Socks5Error(`SOCKS5 proxy closed after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}
