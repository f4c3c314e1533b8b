/**
 * Proxy throughput on loopback: 16 MiB pushed through our SOCKS5 server (CONNECT) and our
 * HTTP proxy (CONNECT) to a sink, beside the same bytes sent straight to the sink (the
 * floor). MB/s = 16.8 / (time per iteration in s). Servers are set up per iteration, outside
 * the timed part.
 */
import { Socks5Server } from "../src/engine/proxy/socks5_server.ts";
import { HttpProxy } from "../src/engine/proxy/http_proxy.ts";
import { HostDialer } from "../src/engine/proxy/host_dialer.ts";

const TOTAL = 16 << 20;
const CHUNK = new Uint8Array(64 * 1024).fill(0x5a);

/** A sink that reads until EOF, then answers with the byte count and closes. */
function startSink(): { port: number; done: Promise<void>; close: () => void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const c = await l.accept();
    const buf = new Uint8Array(256 * 1024);
    let n = 0;
    for (;;) {
      const r = await c.read(buf);
      if (r === null) break;
      n += r;
    }
    await c.write(new TextEncoder().encode(String(n)));
    c.close();
  })();
  return { port: l.addr.port, done, close: () => l.close() };
}

async function writeAll(c: Deno.Conn, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await c.write(b.subarray(off));
}

async function readUntil(c: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const r = await c.read(out.subarray(off));
    if (r === null) throw new Error("EOF in handshake");
    off += r;
  }
  return out;
}

async function push(c: Deno.Conn): Promise<void> {
  for (let sent = 0; sent < TOTAL; sent += CHUNK.length) await writeAll(c, CHUNK);
  await c.closeWrite();
  const buf = new Uint8Array(32);
  const n = await c.read(buf);
  const got = Number(new TextDecoder().decode(buf.subarray(0, n ?? 0)));
  if (got !== TOTAL) throw new Error(`sink got ${got} bytes`);
  c.close();
}

Deno.bench("direct TCP, 16 MiB (floor)", { group: "throughput", baseline: true }, async (b) => {
  const sink = startSink();
  const c = await Deno.connect({ hostname: "127.0.0.1", port: sink.port });
  b.start();
  await push(c);
  b.end();
  await sink.done;
  sink.close();
});

Deno.bench("SOCKS5 CONNECT, 16 MiB", { group: "throughput" }, async (b) => {
  const sink = startSink();
  const s = Socks5Server.listen({ port: 0, dialer: new HostDialer() });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: s.addr.port });
  const p = sink.port;
  await writeAll(c, new Uint8Array([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, p >> 8, p & 0xff]));
  const hs = await readUntil(c, 12);
  if (hs[3] !== 0) throw new Error(`SOCKS5 reply ${hs[3]}`);
  b.start();
  await push(c);
  b.end();
  await sink.done;
  sink.close();
  await s.close();
});

Deno.bench("HTTP CONNECT, 16 MiB", { group: "throughput" }, async (b) => {
  const sink = startSink();
  const h = HttpProxy.listen({ port: 0, dialer: new HostDialer() });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: h.addr.port });
  await writeAll(c, new TextEncoder().encode(`CONNECT 127.0.0.1:${sink.port} HTTP/1.1\r\n\r\n`));
  await readUntil(c, "HTTP/1.1 200 OK\r\n\r\n".length);
  b.start();
  await push(c);
  b.end();
  await sink.done;
  sink.close();
  await h.close();
});
