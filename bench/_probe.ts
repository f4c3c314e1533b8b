/**
 * Small probes through a node's SOCKS5 proxy to an echo server reached at a peer's tailnet
 * address (a userspace-networking node forwards inbound TCP to 127.0.0.1:<port>): the first
 * packet answered, request/response round trips on one connection, and short connections.
 * @module
 */
import { socks5Connect } from "../tests/lab/socks5.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP echo server on 127.0.0.1; close it when done. */
export interface EchoServer extends Disposable {
  /** Its port. */
  port: number;
}

/**
 * Starts a TCP echo server on 127.0.0.1 (every connection gets back what it sends).
 * @returns the server
 */
export function startEchoServer(): EchoServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const c of listener) {
      (async () => {
        try {
          c.setNoDelay(true);
          await c.readable.pipeTo(c.writable);
        } catch { /* peer closed */ }
      })();
    }
  })().catch(() => {});
  return { port: listener.addr.port, [Symbol.dispose]: () => listener.close() };
}

/** Where a probe goes: through `proxy` to `host:port`. */
export interface ProbeTarget {
  /** The node's SOCKS5 proxy, "127.0.0.1:port". */
  proxy: string;
  /** The peer's tailnet IP. */
  host: string;
  /** The echo server's port. */
  port: number;
}

async function readFull(conn: Deno.Conn, buf: Uint8Array): Promise<void> {
  for (let got = 0; got < buf.length;) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) throw new Error(`echo closed after ${got} of ${buf.length} bytes`);
    got += n;
  }
}

async function writeAll(conn: Deno.Conn, buf: Uint8Array): Promise<void> {
  for (let off = 0; off < buf.length;) off += await conn.write(buf.subarray(off));
}

/**
 * One connection, `message` bytes sent and read back, closed.
 * @param t where to
 * @param message what to send
 */
export async function echoOnce(t: ProbeTarget, message = new Uint8Array([42])): Promise<void> {
  const conn = await socks5Connect(t.proxy, t.host, t.port);
  try {
    await writeAll(conn, message);
    const back = new Uint8Array(message.length);
    await readFull(conn, back);
    if (back.some((b, i) => b !== message[i])) throw new Error("echo differs");
  } finally {
    conn.close();
  }
}

/**
 * Milliseconds from `t0` until one echo through the proxy succeeds (tried every 20 ms).
 * @param t0 `performance.now()` when `up` began
 * @param t where to
 * @param timeoutMs give up after
 * @returns the milliseconds
 */
export async function firstPacketMs(
  t0: number,
  t: ProbeTarget,
  timeoutMs = 30_000,
): Promise<number> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    try {
      await echoOnce(t);
      return performance.now() - t0;
    } catch {
      await sleep(20);
    }
  }
  throw new Error(`no echo through ${t.proxy} to ${t.host}:${t.port} in ${timeoutMs} ms`);
}

/**
 * Request/response round trips of `size`-byte messages on one connection (Nagle off), each
 * timed from the write to the whole echo read back.
 * @param t where to
 * @param count how many round trips
 * @param size message size
 * @returns each round trip, microseconds, sorted
 */
export async function roundTripsUs(t: ProbeTarget, count: number, size = 64): Promise<number[]> {
  const conn = await socks5Connect(t.proxy, t.host, t.port);
  try {
    conn.setNoDelay(true);
    const msg = crypto.getRandomValues(new Uint8Array(size));
    const back = new Uint8Array(size);
    const us: number[] = [];
    for (let i = 0; i < count; i++) {
      const t1 = performance.now();
      await writeAll(conn, msg);
      await readFull(conn, back);
      us.push((performance.now() - t1) * 1000);
    }
    return us.sort((a, b) => a - b);
  } finally {
    conn.close();
  }
}

/**
 * The `p` quantile of sorted samples (nearest rank).
 * @param sorted ascending
 * @param p 0..1, e.g. 0.99
 * @returns the sample at that rank
 */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/**
 * Short connections one after another: open, 64-byte request, its echo, close.
 * @param t where to
 * @param count how many
 * @returns connections per second
 */
export async function shortConnectionsPerSecond(t: ProbeTarget, count: number): Promise<number> {
  const msg = new Uint8Array(64).fill(7);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await echoOnce(t, msg);
  return count / ((performance.now() - t0) / 1000);
}
