import { assert, assertEquals, assertMatch } from "../base/testing/assert.ts";
import type { NetworkMap } from "../control/mod.ts";
import { Socks5Server } from "./socks5_server.ts";
import { HostDialer } from "./host_dialer.ts";
import { RouterDialer } from "./router_dialer.ts";
import { NetmapResolver } from "./netmap_resolver.ts";
import { type Dialer, DialError } from "./dialer.ts";
import {
  emitUdpHeader,
  parseReply,
  parseUdpHeader,
  REP_ADDRESS_TYPE_NOT_SUPPORTED,
  REP_COMMAND_NOT_SUPPORTED,
  REP_CONNECTION_REFUSED,
  REP_GENERAL_FAILURE,
  REP_HOST_UNREACHABLE,
  type Socks5UdpHeader,
  udpHeaderLen,
} from "./socks5_messages.ts";
import {
  closedPort,
  curl,
  eventually,
  hex,
  LoopbackDialer,
  readAll,
  readN,
  TcpEcho,
  toHex,
  UdpEcho,
  writeAll,
} from "./testing/loopback.ts";

const td = new TextDecoder();
const te = new TextEncoder();

function netmap(): NetworkMap {
  const node = (id: number, name: string, ip: string) => ({
    id,
    stableId: `n${id}`,
    name,
    hostname: name.split(".")[0],
    userId: 1,
    key: "",
    keyExpiry: null,
    machine: "",
    discoKey: "",
    addresses: [`${ip}/32`, `fd7a:115c:a1e0::${id}/128`],
    allowedIps: [],
    endpoints: [],
  });
  return {
    self: node(1, "self.tailnet.test.", "100.64.0.1"),
    peers: [node(2, "ts1.tailnet.test.", "100.64.0.2")],
    derpMap: null,
    dns: null,
    packetFilter: [],
    userProfiles: new Map(),
    domain: "tailnet.test",
    extra: {},
  } as unknown as NetworkMap;
}

function router(tailnet: Dialer | null = new LoopbackDialer()) {
  return new RouterDialer({
    tailnet,
    host: new HostDialer(),
    resolver: new NetmapResolver(netmap()),
  });
}

async function withHttp(fn: (port: number) => Promise<void>): Promise<void> {
  const ac = new AbortController();
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) =>
      new Response(`hello ${req.method} ${new URL(req.url).pathname} ${await req.text()}`),
  );
  try {
    await fn(srv.addr.port);
  } finally {
    ac.abort();
    await srv.finished;
  }
}

/** Greets (no auth) and sends `req`; returns the reply bytes (10 for an IPv4 bind). */
async function socksRequest(port: number, req: Uint8Array): Promise<[Deno.TcpConn, Uint8Array]> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(c, hex("050100"));
  assertEquals(toHex(await readN(c, 2)), "0500");
  await writeAll(c, req);
  return [c, await readN(c, 10)];
}

Deno.test("Socks5Server relays curl --socks5-hostname to a local HTTP server", async () => {
  await withHttp(async (httpPort) => {
    await using s = Socks5Server.listen({ port: 0, dialer: router() });
    const r = await curl([
      "--socks5-hostname",
      `127.0.0.1:${s.addr.port}`,
      `http://localhost:${httpPort}/x`,
    ]);
    assertEquals(r.code, 0, r.err);
    assertEquals(r.out, "hello GET /x ");
    const r2 = await curl([
      "--socks5",
      `127.0.0.1:${s.addr.port}`,
      "--data",
      "abc",
      `http://127.0.0.1:${httpPort}/p`,
    ]);
    assertEquals(r2.out, "hello POST /p abc");
    assertEquals(s.stats.connects, 2);
  });
});

Deno.test("Socks5Server over IPv6 loopback, and host unreachable (4) for a name that does not resolve", async () => {
  await withHttp(async (httpPort) => {
    await using s = Socks5Server.listen({ hostname: "::1", port: 0, dialer: router() });
    const r = await curl(["--socks5", `[::1]:${s.addr.port}`, `http://127.0.0.1:${httpPort}/v6`]);
    assertEquals(r.code, 0, r.err);
    assertEquals(r.out, "hello GET /v6 ");
    const bad = await curl([
      "--socks5-hostname",
      `[::1]:${s.addr.port}`,
      "http://no-such-host.invalid/",
    ]);
    assertEquals(bad.code, 97, bad.err);
    assertMatch(bad.err, /\(4\)/); // curl names the reply code
  });
});

Deno.test("Socks5Server sends netmap names and tailnet IPs to the tailnet dialer", async () => {
  await withHttp(async (httpPort) => {
    const tn = new LoopbackDialer();
    await using s = Socks5Server.listen({ port: 0, dialer: router(tn) });
    const proxy = ["--socks5-hostname", `127.0.0.1:${s.addr.port}`];
    for (const host of ["ts1", "ts1.tailnet.test", "TS1.tailnet.test.", "100.64.0.9"]) {
      const r = await curl([...proxy, `http://${host}:${httpPort}/`]);
      assertEquals(r.code, 0, `${host}: ${r.err}`);
    }
    const r6 = await curl([
      "--socks5",
      `127.0.0.1:${s.addr.port}`,
      `http://[fd7a:115c:a1e0::2]:${httpPort}/`,
    ]);
    assertEquals(r6.code, 0, r6.err);
    assertEquals(tn.calls, [
      `tcp 100.64.0.2 ${httpPort}`,
      `tcp 100.64.0.2 ${httpPort}`,
      `tcp 100.64.0.2 ${httpPort}`,
      `tcp 100.64.0.9 ${httpPort}`,
      `tcp fd7a:115c:a1e0::2 ${httpPort}`,
    ]);
  });
});

Deno.test("Socks5Server requires RFC 1929 credentials when configured", async () => {
  await withHttp(async (httpPort) => {
    await using s = Socks5Server.listen({
      port: 0,
      dialer: router(),
      username: "alice",
      password: "s3cret",
    });
    const url = `http://127.0.0.1:${httpPort}/`;
    const ok = await curl(["--socks5", `127.0.0.1:${s.addr.port}`, "-U", "alice:s3cret", url]);
    assertEquals(ok.code, 0, ok.err);
    const bad = await curl(["--socks5", `127.0.0.1:${s.addr.port}`, "-U", "alice:wrong", url]);
    assertEquals(bad.code, 97, bad.err); // CURLE_PROXY
    const none = await curl(["--socks5", `127.0.0.1:${s.addr.port}`, url]);
    assertEquals(none.code, 97, none.err);
    assertEquals(s.stats.authFailures, 2);
    assertEquals(s.stats.connects, 1);
  });
});

Deno.test("Socks5Server answers refused, unreachable, BIND and unknown address types", async () => {
  const unreachable: Dialer = {
    dialTcp: () => Promise.reject(new DialError("dial-unreachable", "no route")),
    dialUdp: () => Promise.reject(new DialError("dial-unreachable", "no route")),
  };
  await using s = Socks5Server.listen({
    port: 0,
    dialer: new RouterDialer({
      tailnet: null,
      host: new HostDialer(),
      resolver: new NetmapResolver(),
    }),
  });
  const p = closedPort();
  const cases: [string, number][] = [
    [`050100017f000001${p.toString(16).padStart(4, "0")}`, REP_CONNECTION_REFUSED],
    ["05010001644000020050", REP_HOST_UNREACHABLE], // tailnet IP, no stack
    ["05020001644000020050", REP_COMMAND_NOT_SUPPORTED], // BIND
    ["05090001644000020050", REP_COMMAND_NOT_SUPPORTED],
    ["05010009644000020050", REP_ADDRESS_TYPE_NOT_SUPPORTED],
    ["0401000164400002005000", REP_GENERAL_FAILURE], // version 4 request
  ];
  for (const [req, code] of cases) {
    const [c, reply] = await socksRequest(s.addr.port, hex(req));
    assertEquals(parseReply(reply, 0)!.value.reply, code, req);
    assertEquals(await readAll(c), new Uint8Array(0), "closed after an error reply");
    c.close();
  }
  await using s2 = Socks5Server.listen({ port: 0, dialer: unreachable });
  const [c, reply] = await socksRequest(s2.addr.port, hex("05010003037473310050"));
  assertEquals(toHex(reply), "05040001000000000000");
  c.close();
  assertEquals(s.stats.dialFailures, 2);
  assertEquals(s.stats.unsupportedCommands, 2);
  assertEquals(s.stats.badInput, 2);
});

Deno.test("Socks5Server counts garbage and truncated handshakes, replies once, survives", async () => {
  await using s = Socks5Server.listen({ port: 0, dialer: router(), handshakeTimeoutMs: 300 });
  // An HTTP request to the SOCKS port: one "no acceptable methods" reply, then closed.
  const c1 = await Deno.connect({ hostname: "127.0.0.1", port: s.addr.port });
  await writeAll(c1, te.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  assertEquals(toHex(await readAll(c1)), "05ff");
  c1.close();
  // A greeting cut short, then EOF.
  const c2 = await Deno.connect({ hostname: "127.0.0.1", port: s.addr.port });
  await writeAll(c2, hex("0503"));
  await c2.closeWrite();
  assertEquals(toHex(await readAll(c2)), "");
  c2.close();
  // A request cut short, then silence until the handshake timeout.
  const c3 = await Deno.connect({ hostname: "127.0.0.1", port: s.addr.port });
  await writeAll(c3, hex("050100" + "050100"));
  assertEquals(toHex(await readAll(c3)), "0500");
  c3.close();
  // An over-long greeting stream: 2 KiB of methods headers never completes sensibly.
  const c4 = await Deno.connect({ hostname: "127.0.0.1", port: s.addr.port });
  await writeAll(c4, hex("05ff" + "00".repeat(255) + "050100030000"));
  const r4 = await readAll(c4);
  assertEquals(toHex(r4.subarray(0, 2)), "0500");
  c4.close();
  assertEquals(s.stats.badInput, 2);
  assertEquals(s.stats.truncated, 2);
  // Still serving.
  const [c5, reply] = await socksRequest(s.addr.port, hex("05020001644000020050"));
  assertEquals(reply[1], REP_COMMAND_NOT_SUPPORTED);
  c5.close();
});

Deno.test("Socks5Server relays 4 MiB both ways with half-close, client bytes sent early", async () => {
  const echo = new TcpEcho();
  try {
    await using s = Socks5Server.listen({ port: 0, dialer: router() });
    const c = await Deno.connect({ hostname: "127.0.0.1", port: s.addr.port });
    const data = new Uint8Array(4 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    // Greeting, request and the first payload bytes in one write.
    const port = echo.port.toString(16).padStart(4, "0");
    const head = hex(`050100` + `050100017f000001${port}`);
    const first = new Uint8Array(head.length + 100);
    first.set(head);
    first.set(data.subarray(0, 100), head.length);
    await writeAll(c, first);
    const reading = readAll(c);
    await writeAll(c, data.subarray(100));
    await c.closeWrite();
    const got = await reading;
    c.close();
    assertEquals(toHex(got.subarray(0, 10)), "0500" + "05000001" + "7f000001");
    assertEquals(got.length, 12 + data.length);
    assert(got.subarray(12).every((b, i) => b === data[i]), "echoed bytes differ");
  } finally {
    await echo.close();
  }
});

Deno.test("Socks5Server.close() ends open tunnels and releases every socket", async () => {
  const echo = new TcpEcho();
  const s = Socks5Server.listen({ port: 0, dialer: router() });
  const port = echo.port.toString(16).padStart(4, "0");
  const [c, reply] = await socksRequest(s.addr.port, hex(`050100017f000001${port}`));
  assertEquals(reply[1], 0);
  await s.close();
  await s.close();
  assertEquals(await readAll(c), new Uint8Array(0));
  c.close();
  await echo.close();
  assertEquals(s.stats.active, 0);
});

/** UDP ASSOCIATE from a Deno client: returns the client socket and the relay's address. */
async function udpAssociate(port: number): Promise<[Deno.TcpConn, Deno.DatagramConn, number]> {
  const [c, reply] = await socksRequest(port, hex("05030001000000000000"));
  const r = parseReply(reply, 0)!.value;
  assertEquals(r.reply, 0);
  assertEquals(r.bind.host, "127.0.0.1");
  const u = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  return [c, u, r.bind.port];
}

function datagram(h: Socks5UdpHeader, payload: string): Uint8Array {
  const p = te.encode(payload);
  const out = new Uint8Array(udpHeaderLen(h) + p.length);
  out.set(p, emitUdpHeader(h, out, 0));
  return out;
}

Deno.test("Socks5Server UDP ASSOCIATE: host datagrams to the host, tailnet ones into the tailnet", async () => {
  const hostEcho = new UdpEcho("127.0.0.1", "host:");
  const tn = new LoopbackDialer();
  await using s = Socks5Server.listen({ port: 0, dialer: router(tn) });
  const [c, u, relayPort] = await udpAssociate(s.addr.port);
  try {
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: relayPort };
    const viaHost = {
      frag: 0,
      addr: { type: "ipv4" as const, host: "127.0.0.1", port: hostEcho.port },
    };
    await u.send(datagram(viaHost, "one"), to);
    const [d1] = await u.receive();
    const h1 = parseUdpHeader(d1, 0);
    assertEquals(h1.value, viaHost);
    assertEquals(td.decode(d1.subarray(h1.end)), "host:one");
    // A tailnet name: the fake tailnet sends it to the same local echo, and records the dial.
    const viaTailnet = {
      frag: 0,
      addr: { type: "domain" as const, host: "ts1", port: hostEcho.port },
    };
    await u.send(datagram(viaTailnet, "two"), to);
    const [d2] = await u.receive();
    const h2 = parseUdpHeader(d2, 0);
    assertEquals(h2.value, viaTailnet, "reply names the address the client used");
    assertEquals(td.decode(d2.subarray(h2.end)), "host:two");
    assertEquals(tn.calls, [`udp 100.64.0.2 ${hostEcho.port}`]);
    // Bad header, fragment: dropped, no reply; the association goes on.
    await u.send(hex("0101000100"), to);
    const frag = datagram({ ...viaHost, frag: 1 }, "x");
    await u.send(frag, to);
    await u.send(datagram(viaHost, "three"), to);
    const [d3] = await u.receive();
    assertEquals(td.decode(d3.subarray(parseUdpHeader(d3, 0).end)), "host:three");
    assertEquals(s.stats.udpDrops, 2);
    assertEquals(s.stats.udpOut, 3);
    assertEquals(s.stats.udpIn, 3);
  } finally {
    c.close(); // ends the association
    u.close();
    await s.close();
    await hostEcho.close();
  }
});

Deno.test("Socks5Server refuses no-auth clients from a non-loopback address", async () => {
  const ip = Deno.networkInterfaces().find((i) =>
    i.family === "IPv4" && !i.address.startsWith("127.")
  )?.address;
  if (ip === undefined) return; // no such address on this machine: nothing to test
  await using s = Socks5Server.listen({ hostname: "0.0.0.0", port: 0, dialer: router() });
  const c = await Deno.connect({ hostname: ip, port: s.addr.port });
  await writeAll(c, hex("050100"));
  assertEquals(toHex(await readAll(c)), "05ff");
  c.close();
  await using open = Socks5Server.listen({
    hostname: "0.0.0.0",
    port: 0,
    dialer: router(),
    allowNoAuthFromAnyAddress: true,
  });
  const c2 = await Deno.connect({ hostname: ip, port: open.addr.port });
  await writeAll(c2, hex("050100"));
  assertEquals(toHex(await readN(c2, 2)), "0500");
  c2.close();
});

Deno.test("Socks5Server carries 100 concurrent tunnels of 256 KiB each, intact", async () => {
  const echo = new TcpEcho();
  try {
    await using s = Socks5Server.listen({ port: 0, dialer: router() });
    const port = echo.port.toString(16).padStart(4, "0");
    const one = async (i: number) => {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: s.addr.port });
      const data = new Uint8Array(256 * 1024).fill(i);
      await writeAll(c, hex(`050100050100017f000001${port}`));
      const reading = readAll(c);
      await writeAll(c, data);
      await c.closeWrite();
      const got = await reading;
      c.close();
      assertEquals(got.length, 12 + data.length);
      assert(got.subarray(12).every((b) => b === (i & 0xff)), `tunnel ${i} mixed bytes`);
    };
    await Promise.all(Array.from({ length: 100 }, (_, i) => one(i)));
    assertEquals(s.stats.connects, 100);
    // Handlers finish just after the clients see EOF.
    assert(await eventually(() => s.stats.active === 0), "handlers still active");
  } finally {
    await echo.close();
  }
});
