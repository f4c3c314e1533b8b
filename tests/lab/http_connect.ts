/**
 * A minimal HTTP CONNECT client (RFC 9110 §9.3.6), to open TCP connections through a node's
 * `--outbound-http-proxy-listen` the way curl --proxytunnel does.
 * @module
 */
import { dialProxy } from "./socks5.ts";

/** The proxy refused the CONNECT or closed before answering. */
export class HttpConnectError extends Error {
  /** @param message what failed */
  constructor(message: string) {
    super(message);
    this.name = "HttpConnectError";
  }
}

/** Longest response head accepted from the proxy. */
const MAX_HEAD = 16 << 10;

/**
 * Opens a TCP connection to `host:port` through the HTTP proxy at `proxy` ("127.0.0.1:8080").
 * @param proxy proxy address, "ip:port"
 * @param host IP literal (IPv6 without brackets) or host name
 * @param port destination port
 * @returns the connection, past the proxy's 200 response; no byte after it has been read
 * @throws {HttpConnectError} when the proxy answers anything but 2xx
 */
export async function httpConnect(
  proxy: string,
  host: string,
  port: number,
): Promise<Deno.TcpConn> {
  const conn = await dialProxy(proxy);
  try {
    const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const req = new TextEncoder().encode(
      `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
    );
    for (let off = 0; off < req.length;) off += await conn.write(req.subarray(off));
    const head = await readHead(conn);
    const status = head.slice(0, head.indexOf("\r\n"));
    if (!/^HTTP\/1\.[01] 2\d\d/.test(status)) {
      throw new HttpConnectError(`HTTP CONNECT ${authority} via ${proxy}: ${status}`);
    }
    return conn;
  } catch (err) {
    conn.close();
    throw err;
  }
}

/** Reads the response head byte by byte, so the tunnel's first bytes stay unread. */
async function readHead(conn: Deno.Conn): Promise<string> {
  const one = new Uint8Array(1);
  let head = "";
  while (!head.endsWith("\r\n\r\n")) {
    if (head.length >= MAX_HEAD) throw new HttpConnectError("HTTP proxy response head too long");
    const n = await conn.read(one);
    if (n === null) {
      throw new HttpConnectError(`HTTP proxy closed after ${head.length} bytes of its answer`);
    }
    head += String.fromCharCode(one[0]);
  }
  return head;
}
