import { assert, assertEquals, assertRejects } from "../base/testing/assert.ts";
import type { NetworkMap } from "../control/mod.ts";
import {
  type Dialer,
  DialError,
  type ProxyConn,
  type ProxyUdpFlow,
  toDialError,
} from "./dialer.ts";
import { HostDialer } from "./host_dialer.ts";
import { RouterDialer } from "./router_dialer.ts";
import { isTailnetIp, NetmapResolver } from "./netmap_resolver.ts";
import { StackDialer, type TailnetDatagram, type TailnetStack } from "./stack_dialer.ts";
import { closedPort, TcpEcho, UdpEcho } from "./testing/loopback.ts";

const te = new TextEncoder();
const td = new TextDecoder();

function nm(): NetworkMap {
  const node = (id: number, name: string, addrs: string[]) => ({
    id,
    name,
    hostname: "h",
    addresses: addrs,
  });
  return {
    self: node(1, "me.tailnet.test.", ["fd7a:115c:a1e0::1/128", "100.64.0.1/32"]),
    peers: [
      node(2, "ts1.tailnet.test.", ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"]),
      node(3, "v6only.tailnet.test.", ["fd7a:115c:a1e0::3/128"]),
      node(4, "me.other.test.", ["100.64.0.4/32"]), // same first label as self: self wins
    ],
  } as unknown as NetworkMap;
}

Deno.test("isTailnetIp() knows 100.64.0.0/10 and fd7a:115c:a1e0::/48", () => {
  for (
    const ip of ["100.64.0.0", "100.127.255.255", "fd7a:115c:a1e0::1", "FD7A:115C:A1E0:ffff::9"]
  ) assert(isTailnetIp(ip), ip);
  for (
    const ip of ["100.63.255.255", "100.128.0.0", "10.0.0.1", "fd7a:115c:a1e1::1", "::1", "ts1", ""]
  ) assert(!isTailnetIp(ip), ip);
});

Deno.test("NetmapResolver maps full and short MagicDNS names, IPv4 first, any case", () => {
  const r = new NetmapResolver(nm());
  assertEquals(r.resolve("ts1"), "100.64.0.2");
  assertEquals(r.resolve("ts1.tailnet.test"), "100.64.0.2");
  assertEquals(r.resolve("TS1.Tailnet.Test."), "100.64.0.2");
  assertEquals(r.resolve("v6only"), "fd7a:115c:a1e0::3");
  assertEquals(r.resolve("me"), "100.64.0.1");
  assertEquals(r.resolve("me.other.test"), "100.64.0.4");
  assertEquals(r.resolve("example.com"), null);
  assertEquals(r.resolve("ts1.tailnet"), null);
  r.update(null);
  assertEquals(r.resolve("ts1"), null);
  // From a getter: follows the current netmap.
  let current: NetworkMap | null = null;
  const g = new NetmapResolver(() => current);
  assertEquals(g.resolve("ts1"), null);
  current = nm();
  assertEquals(g.resolve("ts1"), "100.64.0.2");
  current = null;
  assertEquals(g.resolve("ts1"), null);
});

class Recorder implements Dialer {
  calls: string[] = [];
  constructor(readonly name: string) {}
  dialTcp(host: string, port: number): Promise<ProxyConn> {
    this.calls.push(`${this.name} tcp ${host}:${port}`);
    return Promise.reject(new DialError("dial-refused", "recorded"));
  }
  dialUdp(host: string, port: number): Promise<ProxyUdpFlow> {
    this.calls.push(`${this.name} udp ${host}:${port}`);
    return Promise.reject(new DialError("dial-refused", "recorded"));
  }
}

Deno.test("RouterDialer sends tailnet IPs and netmap names to the tailnet, the rest to the host", async () => {
  const t = new Recorder("tailnet"), h = new Recorder("host");
  const r = new RouterDialer({ tailnet: t, host: h, resolver: new NetmapResolver(nm()) });
  for (
    const host of [
      "ts1",
      "ts1.tailnet.test.",
      "100.100.1.1",
      "FD7A:115C:A1E0:0::2",
      "example.com",
      "127.0.0.1",
      "::1",
    ]
  ) {
    await assertRejects(() => r.dialTcp(host, 80), DialError);
  }
  await assertRejects(() => r.dialUdp("v6only", 53), DialError);
  await assertRejects(() => r.dialUdp("8.8.8.8", 53), DialError);
  assertEquals(t.calls, [
    "tailnet tcp 100.64.0.2:80",
    "tailnet tcp 100.64.0.2:80",
    "tailnet tcp 100.100.1.1:80",
    "tailnet tcp fd7a:115c:a1e0::2:80",
    "tailnet udp fd7a:115c:a1e0::3:53",
  ]);
  assertEquals(h.calls, [
    "host tcp example.com:80",
    "host tcp 127.0.0.1:80",
    "host tcp ::1:80",
    "host udp 8.8.8.8:53",
  ]);
  const none = new RouterDialer({ tailnet: null, host: h, resolver: new NetmapResolver(nm()) });
  const e = await assertRejects(
    () => none.dialTcp("ts1", 22),
    DialError,
    "tailnet stack is not running",
  );
  assertEquals((e as DialError).code, "dial-unreachable");
});

Deno.test("RouterDialer sends addresses the tailnet routes (subnet route, exit node) to the tailnet, asking on every dial", async () => {
  const t = new Recorder("tailnet"), h = new Recorder("host");
  let routed = new Set(["10.77.1.2"]);
  const r = new RouterDialer({
    tailnet: t,
    host: h,
    resolver: new NetmapResolver(nm()),
    routes: (ip) => routed.has(ip),
  });
  await assertRejects(() => r.dialTcp("10.77.1.2", 80), DialError);
  await assertRejects(() => r.dialUdp("10.77.1.2", 53), DialError);
  await assertRejects(() => r.dialTcp("10.77.2.2", 80), DialError);
  // a name is not an address literal: the host resolves and dials it
  await assertRejects(() => r.dialTcp("example.com", 80), DialError);
  routed = new Set(["10.77.2.2", "2001:db8::1"]);
  await assertRejects(() => r.dialTcp("10.77.1.2", 80), DialError);
  await assertRejects(() => r.dialTcp("2001:DB8:0::1", 443), DialError);
  assertEquals(t.calls, [
    "tailnet tcp 10.77.1.2:80",
    "tailnet udp 10.77.1.2:53",
    "tailnet tcp 2001:db8::1:443",
  ]);
  assertEquals(h.calls, [
    "host tcp 10.77.2.2:80",
    "host tcp example.com:80",
    "host tcp 10.77.1.2:80",
  ]);
});

Deno.test("HostDialer connects, half-closes, and maps refusals and aborts", async () => {
  const echo = new TcpEcho();
  try {
    const d = new HostDialer();
    const c = await d.dialTcp("127.0.0.1", echo.port);
    assertEquals(c.localAddr?.hostname, "127.0.0.1");
    const w = c.writable.getWriter();
    await w.write(te.encode("ping"));
    await w.close(); // FIN: the echo server answers and closes
    let got = "";
    for await (const chunk of c.readable) got += td.decode(chunk);
    assertEquals(got, "ping");
    c.close();
    c.close();
    const e = await assertRejects(() => d.dialTcp("127.0.0.1", closedPort()), DialError);
    assertEquals((e as DialError).code, "dial-refused");
    const aborted = AbortSignal.abort(new DOMException("t", "TimeoutError"));
    const e2 = await assertRejects(() => d.dialTcp("127.0.0.1", echo.port, aborted), DialError);
    assertEquals((e2 as DialError).code, "dial-timeout");
    const e3 = await assertRejects(
      () => d.dialUdp("no-such-name.invalid", 1, undefined),
      DialError,
    );
    assertEquals((e3 as DialError).code, "dial-unreachable");
  } finally {
    await echo.close();
  }
});

Deno.test("HostDialer UDP flows talk to their destination only", async () => {
  const echo = new UdpEcho("127.0.0.1", "e:");
  const d = new HostDialer();
  const f = await d.dialUdp("localhost", echo.port);
  try {
    // A stranger's datagram to the flow's port is ignored.
    const stranger = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    await stranger.send(te.encode("bad"), {
      transport: "udp",
      hostname: "127.0.0.1",
      port: f.localPort!,
    });
    stranger.close();
    await f.send(te.encode("hi"));
    assertEquals(td.decode((await f.receive())!), "e:hi");
  } finally {
    f.close();
    f.close();
    assertEquals(await f.receive(), null);
    await echo.close();
  }
});

Deno.test("toDialError() classifies Deno's errors", () => {
  assertEquals(toDialError(new Deno.errors.ConnectionRefused("x"), "a:1").code, "dial-refused");
  assertEquals(toDialError(new Deno.errors.TimedOut("x"), "a:1").code, "dial-timeout");
  assertEquals(toDialError(new Deno.errors.AddrNotAvailable("x"), "a:1").code, "dial-unreachable");
  assertEquals(
    toDialError(new Deno.errors.NotConnected("no data plane"), "a:1").code,
    "dial-unreachable",
  );
  assertEquals(
    toDialError(new Error("Network is unreachable (os error 101)"), "a:1").code,
    "dial-unreachable",
  );
  assertEquals(toDialError(new Error("boom"), "a:1").code, "dial-failed");
  assertEquals(toDialError(new Error("boom"), "a:1").message, "Cannot connect to a:1: boom");
});

/** A fake stack: TCP to 127.0.0.1 on the same port, UDP through a loopback socket pair. */
class FakeStack implements TailnetStack {
  connected: string[] = [];
  sent: string[] = [];
  inbox: TailnetDatagram[] = [];
  async dialTcp(ip: string, port: number, signal?: AbortSignal) {
    this.connected.push(`${ip}:${port}`);
    if (ip === "100.64.0.99") throw new Deno.errors.ConnectionRefused("rst");
    return await Deno.connect({ hostname: "127.0.0.1", port, signal });
  }
  listenUdp() {
    const inbox = this.inbox, sent = this.sent;
    let closed = false;
    return {
      receive: () => Promise.resolve(closed ? null : inbox.shift() ?? null),
      send(data: Uint8Array, hostname: string, port: number) {
        sent.push(`${hostname}:${port} ${td.decode(data)}`);
        return true;
      },
      close() {
        closed = true;
      },
    };
  }
}

Deno.test("StackDialer adapts the stack's connections and UDP sockets", async () => {
  const echo = new TcpEcho();
  const stack = new FakeStack();
  const d = new StackDialer(stack);
  try {
    const c = await d.dialTcp("100.64.0.2", echo.port);
    const w = c.writable.getWriter();
    await w.write(te.encode("x"));
    await w.close();
    const r = c.readable.getReader();
    assertEquals(td.decode((await r.read()).value), "x");
    c.close();
    const e = await assertRejects(() => d.dialTcp("100.64.0.99", 1), DialError);
    assertEquals((e as DialError).code, "dial-refused");
    stack.inbox.push(
      { data: te.encode("stranger"), remoteAddr: { hostname: "100.64.0.3", port: 53 } },
      { data: te.encode("answer"), remoteAddr: { hostname: "100.64.0.2", port: 53 } },
    );
    const f = await d.dialUdp("100.64.0.2", 53);
    await f.send(te.encode("q"));
    assertEquals(td.decode((await f.receive())!), "answer");
    f.close();
    assertEquals(await f.receive(), null);
    assertEquals(stack.sent, ["100.64.0.2:53 q"]);
    assertEquals(stack.connected, [`100.64.0.2:${echo.port}`, "100.64.0.99:1"]);
  } finally {
    await echo.close();
  }
});
