import { assert, assertEquals } from "../base/testing/assert.ts";
import { linkedStacks } from "./testing/memory_link.ts";
import { LoopbackForwarder, udpPortBound } from "./forwarder.ts";
import { MAX_PENDING_SYNS } from "./constants.ts";
import { Stack } from "./stack.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";

async function readAll(r: { read(p: Uint8Array): Promise<number | null> }): Promise<string> {
  const buf = new Uint8Array(4096);
  let s = "";
  for (;;) {
    const n = await r.read(buf);
    if (n === null) return s;
    s += new TextDecoder().decode(buf.subarray(0, n));
  }
}

Deno.test("LoopbackForwarder forwards a SYN to 127.0.0.1:port and pipes both ways", async () => {
  const { a, b, close } = linkedStacks();
  const fwd = new LoopbackForwarder(b);
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (server.addr as Deno.NetAddr).port;
  const served = (async () => {
    const c = await server.accept();
    const got = await readAll(c);
    await c.write(new TextEncoder().encode(`echo:${got}`));
    c.close();
  })();
  try {
    const conn = await a.connectTcp("100.64.0.2", port);
    await conn.write(new TextEncoder().encode("ping"));
    await conn.closeWrite();
    assertEquals(await readAll(conn), "echo:ping");
    conn.close();
    await served;
    assertEquals(fwd.stats.tcpForwarded, 1);
  } finally {
    server.close();
    await fwd.close();
    close();
  }
});

Deno.test("LoopbackForwarder answers RST when nothing listens (IPv6)", async () => {
  const { a, b, close } = linkedStacks();
  const fwd = new LoopbackForwarder(b);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  try {
    let err: unknown = null;
    try {
      await a.connectTcp("fd7a:115c:a1e0::2", port);
    } catch (e) {
      err = e;
    }
    assert(err instanceof Deno.errors.ConnectionRefused, `refused: ${err}`);
    assertEquals(fwd.stats.tcpRefused, 1);
    assertEquals(b.stats.drops.refused, 1);
  } finally {
    await fwd.close();
    close();
  }
});

Deno.test("LoopbackForwarder forwards UDP to 127.0.0.1:port and sends replies back", async () => {
  const { a, b, close } = linkedStacks();
  const fwd = new LoopbackForwarder(b);
  const echo = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (echo.addr as Deno.NetAddr).port;
  const echoing = (async () => {
    const [d, from] = await echo.receive();
    await echo.send(new Uint8Array([...d, 33]), from);
  })();
  const sock = a.bindUdp(0);
  try {
    assert(sock.send(new Uint8Array([1, 2, 3]), "100.64.0.2", port));
    const r = await sock.receive();
    assert(r !== null);
    assertEquals([...r.data], [1, 2, 3, 33]);
    assertEquals(r.remoteAddr.hostname, "100.64.0.2");
    assertEquals(r.remoteAddr.port, port);
    await echoing;
    assertEquals(fwd.stats.udpFlows, 1);
    assertEquals(fwd.stats.udpIn, 1);
  } finally {
    sock.close();
    echo.close();
    await fwd.close();
    close();
  }
});

Deno.test("udpPortBound() tells a bound UDP port from a free one", () => {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (sock.addr as Deno.NetAddr).port;
  assert(udpPortBound("127.0.0.1", port));
  const wild = Deno.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
  assert(udpPortBound("127.0.0.1", (wild.addr as Deno.NetAddr).port), "the wildcard counts");
  sock.close();
  wild.close();
  assert(!udpPortBound("127.0.0.1", port), "free once closed");
});

Deno.test("LoopbackForwarder declines UDP to a port nothing is bound to: ICMP port unreachable", async () => {
  const { a, b, close } = linkedStacks();
  const fwd = new LoopbackForwarder(b);
  const probe = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const sock = a.bindUdp(0);
  try {
    assert(sock.send(new Uint8Array([1, 2, 3]), "100.64.0.2", port));
    await new Promise((r) => setTimeout(r, 10));
    assertEquals(fwd.stats.udpRefused, 1);
    assertEquals(fwd.stats.udpFlows, 0);
    assertEquals(b.stats.icmpErrorsSent, 1);
    assertEquals(a.stats.icmpErrorsReceived, 1, "the ICMP error reached the sender");
  } finally {
    sock.close();
    await fwd.close();
    close();
  }
});

Deno.test("Stack UDP sockets exchange datagrams over IPv6 and count unbound drops", async () => {
  const { a, b, close } = linkedStacks();
  try {
    const sb = b.bindUdp(5000);
    const sa = a.bindUdp(0);
    sa.send(new TextEncoder().encode("hi"), "fd7a:115c:a1e0::2", 5000);
    const got = await sb.receive();
    assertEquals(new TextDecoder().decode(got!.data), "hi");
    assertEquals(got!.remoteAddr.hostname, "fd7a:115c:a1e0::1");
    assert(!sa.send(new Uint8Array(1300), "fd7a:115c:a1e0::2", 5000), "over the MTU");
    sa.send(new Uint8Array(1), "100.64.0.2", 5001);
    await new Promise((r) => setTimeout(r, 5));
    assertEquals(b.stats.drops.noUdpSocket, 1);
    sa.close();
    sb.close();
  } finally {
    close();
  }
});

Deno.test("Stack answers a SYN to a closed port with RST (no forwarder)", async () => {
  const { a, close } = linkedStacks();
  try {
    let err: unknown = null;
    try {
      await a.connectTcp("100.64.0.2", 9);
    } catch (e) {
      err = e;
    }
    assert(err instanceof Deno.errors.ConnectionRefused, `refused: ${err}`);
  } finally {
    close();
  }
});

Deno.test("Stack listener drops SYNs beyond its backlog", async () => {
  const { a, b, close } = linkedStacks();
  const lis = b.listenTcp({ port: 7, backlog: 2 });
  try {
    const conns = await Promise.all([a.connectTcp("100.64.0.2", 7), a.connectTcp("100.64.0.2", 7)]);
    const third = a.openTcp("100.64.0.2", 7);
    await new Promise((r) => setTimeout(r, 10));
    assertEquals(third.socket.state, "syn-sent");
    assertEquals(b.stats.drops.backlogFull, 1);
    const first = await lis.accept();
    first.close();
    for (const c of conns) c.close();
    third.close();
  } finally {
    lis.close();
    close();
  }
});

Deno.test("Stack holds at most MAX_PENDING_SYNS SYNs for the SYN handler", () => {
  const { b, close } = linkedStacks();
  const held: { reject(): void }[] = [];
  b.setSynHandler((req) => held.push(req));
  const sent: Uint8Array[] = [];
  try {
    // SYNs from many ports: build them with a stack whose output we keep.
    const src = new Stack({
      addresses: ["100.64.0.1"],
      clock: new ManualClock(),
      output: (buf, off, len) => sent.push(buf.slice(off, off + len)),
    });
    for (let i = 0; i < MAX_PENDING_SYNS + 5; i++) src.openTcp("100.64.0.2", 80);
    src.close();
    for (const p of sent) if ((p[33] & 0x02) !== 0) b.input(p);
    assertEquals(held.length, MAX_PENDING_SYNS);
    assertEquals(b.stats.drops.synQueueFull, 5);
    for (const r of held) r.reject();
    assertEquals(b.stats.drops.refused, MAX_PENDING_SYNS);
  } finally {
    close();
  }
});

/** Routes 127.0.0.2 through `b` (a stand-in for a subnet route: the test needs a host address). */
function routeTarget(b: Stack): void {
  b.setRouted((buf, off, len) =>
    len === 4 && buf[off] === 127 && buf[off + 1] === 0 && buf[off + 2] === 0 &&
    buf[off + 3] === 2
  );
}

Deno.test("LoopbackForwarder dials a routed destination itself, past the stack's listener on that port", async () => {
  const { a, b, close } = linkedStacks();
  routeTarget(b);
  const fwd = new LoopbackForwarder(b);
  const target = Deno.listen({ hostname: "127.0.0.2", port: 0 });
  const port = (target.addr as Deno.NetAddr).port;
  const mine = b.listenTcp({ port });
  const served = (async () => {
    const c = await target.accept();
    const got = await readAll(c);
    await c.write(new TextEncoder().encode(`target:${got}`));
    c.close();
  })();
  try {
    const conn = await a.connectTcp("127.0.0.2", port);
    await conn.write(new TextEncoder().encode("hi"));
    await conn.closeWrite();
    assertEquals(await readAll(conn), "target:hi");
    conn.close();
    await served;
    assertEquals(fwd.stats.tcpRouted, 1);
    assertEquals(b.stats.drops.notOurs, 0);
  } finally {
    mine.close();
    target.close();
    await fwd.close();
    close();
  }
});

Deno.test("Stack drops and counts a SYN to an address neither ours nor routed", async () => {
  const { a, b, close } = linkedStacks();
  const fwd = new LoopbackForwarder(b);
  const target = Deno.listen({ hostname: "127.0.0.2", port: 0 });
  const port = (target.addr as Deno.NetAddr).port;
  const ac = new AbortController();
  try {
    const dial = a.connectTcp("127.0.0.2", port, { signal: ac.signal }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    assert((await dial) instanceof Error, "no connection");
    assert(b.stats.drops.notOurs >= 1, `notOurs ${b.stats.drops.notOurs}`);
    assertEquals(fwd.stats.tcpForwarded, 0);
  } finally {
    target.close();
    await fwd.close();
    close();
  }
});

Deno.test("LoopbackForwarder relays UDP to a routed destination and only its replies come back", async () => {
  const { a, b, close } = linkedStacks();
  routeTarget(b);
  const fwd = new LoopbackForwarder(b, { udpPortBound: () => false });
  const echo = Deno.listenDatagram({ hostname: "127.0.0.2", port: 0, transport: "udp" });
  const port = (echo.addr as Deno.NetAddr).port;
  const echoing = (async () => {
    const [d, from] = await echo.receive();
    // A stranger writes to the flow's host socket first: it must not reach the peer.
    const stranger = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    await stranger.send(new Uint8Array([66]), from);
    stranger.close();
    await echo.send(new Uint8Array([...d, 33]), from);
  })();
  const sock = a.bindUdp(0);
  try {
    assert(sock.send(new Uint8Array([1, 2]), "127.0.0.2", port));
    const r = await sock.receive();
    assert(r !== null);
    assertEquals([...r.data], [1, 2, 33]);
    assertEquals(r.remoteAddr.hostname, "127.0.0.2");
    await echoing;
    assertEquals(fwd.stats.udpRoutedFlows, 1);
  } finally {
    sock.close();
    echo.close();
    await fwd.close();
    close();
  }
});
