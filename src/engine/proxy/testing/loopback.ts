/**
 * Test fixtures for the proxy tests: local TCP/UDP echo servers, a dialer that records and
 * redirects to loopback, curl, hex. Not imported by production code.
 * @module
 */
import type { Dialer, ProxyConn, ProxyUdpFlow } from "../dialer.ts";
import { HostDialer } from "../host_dialer.ts";
import { concat } from "../../base/bytes.ts";

/** Bytes from hex (spaces allowed). @param s hex @returns bytes */
export function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Hex of bytes. @param b bytes @returns lowercase hex */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * A dialer that records each dial (`tcp <host> <port>`, `udp <host> <port>`) and sends it to
 * 127.0.0.1 at the same port, so that tailnet IPs and names like ts1 reach local servers.
 */
export class LoopbackDialer implements Dialer {
  /** Every dial, in order. */
  calls: string[] = [];
  #host = new HostDialer();

  /** Records the dial, then connects to 127.0.0.1:`port`. */
  dialTcp(host: string, port: number, signal?: AbortSignal): Promise<ProxyConn> {
    this.calls.push(`tcp ${host} ${port}`);
    return this.#host.dialTcp("127.0.0.1", port, signal);
  }

  /** Records the dial, then opens a flow to 127.0.0.1:`port`. */
  dialUdp(host: string, port: number, signal?: AbortSignal): Promise<ProxyUdpFlow> {
    this.calls.push(`udp ${host} ${port}`);
    return this.#host.dialUdp("127.0.0.1", port, signal);
  }
}

/** A TCP echo server on 127.0.0.1; echoes until EOF, then half-closes. */
export class TcpEcho {
  readonly listener: Deno.TcpListener;
  #tasks = new Set<Promise<void>>();
  #conns = new Set<Deno.Conn>();
  #loop: Promise<void>;

  constructor(hostname = "127.0.0.1") {
    this.listener = Deno.listen({ hostname, port: 0 });
    this.#loop = this.#accept();
  }

  get port(): number {
    return this.listener.addr.port;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await this.listener.accept();
      } catch {
        return;
      }
      this.#conns.add(c);
      const t = (async () => {
        const buf = new Uint8Array(65536);
        try {
          for (;;) {
            const n = await c.read(buf);
            if (n === null) break;
            let off = 0;
            while (off < n) off += await c.write(buf.subarray(off, n));
          }
          await c.closeWrite();
        } catch { /* reset */ }
        try {
          c.close();
        } catch { /* closed */ }
        this.#conns.delete(c);
      })();
      this.#tasks.add(t);
      t.finally(() => this.#tasks.delete(t));
    }
  }

  async close(): Promise<void> {
    this.listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await this.#loop;
    await Promise.all([...this.#tasks]);
  }
}

/** A UDP echo server; prefixes each reply with `prefix`. */
export class UdpEcho {
  readonly sock: Deno.DatagramConn;
  #loop: Promise<void>;

  constructor(hostname = "127.0.0.1", prefix = "") {
    const sock = Deno.listenDatagram({ transport: "udp", hostname, port: 0 });
    this.sock = sock;
    const p = new TextEncoder().encode(prefix);
    this.#loop = (async () => {
      for (;;) {
        try {
          const [data, from] = await sock.receive();
          await sock.send(concat([p, data]), from);
        } catch {
          return;
        }
      }
    })();
  }

  get port(): number {
    return (this.sock.addr as Deno.NetAddr).port;
  }

  async close(): Promise<void> {
    this.sock.close();
    await this.#loop;
  }
}

/**
 * Runs curl; returns its exit code, stdout and stderr.
 * @param args curl's arguments after `-sS --max-time`
 * @param maxTimeS curl's `--max-time`, in seconds
 */
export async function curl(
  args: string[],
  maxTimeS = 10,
): Promise<{ code: number; stdout: Uint8Array; out: string; err: string }> {
  const r = await new Deno.Command("/usr/bin/curl", {
    args: ["-sS", "--max-time", String(maxTimeS), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const td = new TextDecoder();
  return { code: r.code, stdout: r.stdout, out: td.decode(r.stdout), err: td.decode(r.stderr) };
}

/** A free TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = l.addr.port;
  l.close();
  return p;
}

/** Reads exactly `n` bytes (or fewer at EOF). */
export async function readN(c: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const r = await c.read(out.subarray(off));
    if (r === null) break;
    off += r;
  }
  return out.subarray(0, off);
}

/** Reads exactly `n` bytes; an EOF before them is an error naming how many came. */
export async function readExactly(c: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = await readN(c, n);
  if (out.length < n) throw new Error(`EOF after ${out.length} of ${n} bytes`);
  return out;
}

/** Reads until EOF. */
export async function readAll(c: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    let n: number | null;
    try {
      n = await c.read(buf);
    } catch {
      break;
    }
    if (n === null) break;
    parts.push(buf.slice(0, n));
  }
  return concat(parts);
}

/** Writes all of `b`. */
export async function writeAll(c: Deno.Conn, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await c.write(b.subarray(off));
}

/** Polls `cond` every 10 ms for up to `ms`; returns whether it became true. */
export async function eventually(cond: () => boolean, ms = 2000): Promise<boolean> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited >= ms) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
