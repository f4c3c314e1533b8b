import { assertEquals } from "../base/testing/assert.ts";
import { DNS_TYPE, dnsQuery, parseDnsMessage } from "../wire/dns.ts";
import { dnsRecordBody } from "../wire/dns_text.ts";
import { inspectIp, newIpInfo, parseIpAddr, parseUdp } from "../wire/mod.ts";
import { Quad100Service, udpPacket } from "./quad100.ts";
import { Quad100TcpServer } from "./quad100_tcp.ts";
import { Stack } from "../stack/mod.ts";
import { MagicDnsResolver } from "./resolver.ts";

/** A resolver that knows one peer, peer.tailnet.test at 100.64.0.2, and no upstream. */
function onePeerResolver(): MagicDnsResolver {
  const r = new MagicDnsResolver({ upstream: { exchange: () => Promise.reject(new Error("x")) } });
  r.setConfig({
    magicDns: true,
    resolvers: [],
    fallbackResolvers: [],
    routes: [],
    searchDomains: [],
    certDomains: [],
    extraRecords: [],
    hosts: [{ name: "peer.tailnet.test", addrs: ["100.64.0.2"], ptrAddrs: ["100.64.0.2"] }],
    localDomains: ["tailnet.test"],
    acceptDns: true,
  });
  return r;
}

function service() {
  const r = onePeerResolver();
  return new Quad100Service(() => r);
}

function deliver(s: Quad100Service, packet: Uint8Array): Promise<Uint8Array> {
  const info = newIpInfo();
  if (!inspectIp(packet, 0, packet.length, info)) throw new Error("bad packet");
  return new Promise((resolve) => s.inbound(packet, info, resolve));
}

Deno.test("Quad100Service answers a UDP query to 100.100.100.100:53 from 100.100.100.100:53", async () => {
  const s = service();
  for (
    const [client, quad] of [["100.64.0.1", "100.100.100.100"], [
      "fd7a:115c:a1e0::1",
      "fd7a:115c:a1e0::53",
    ]]
  ) {
    const query = udpPacket(
      parseIpAddr(client),
      40000,
      parseIpAddr(quad),
      53,
      dnsQuery(3, "peer.tailnet.test", DNS_TYPE.A),
    );
    const reply = await deliver(s, query);
    const info = newIpInfo();
    assertEquals(inspectIp(reply, 0, reply.length, info), true);
    const src = parseIpAddr(quad), dst = parseIpAddr(client);
    const udp = parseUdp(reply, info.payloadOff, info.payloadEnd, { src, dst });
    assertEquals([udp.srcPort, udp.dstPort], [53, 40000]);
    const m = parseDnsMessage(udp.payload);
    assertEquals([m.header.id, dnsRecordBody(m.answers[0])], [3, "100.64.0.2"]);
  }
  assertEquals(s.stats.udpQueries, 2);
});

Deno.test("Quad100Service drops what is not UDP to port 53, and answers nothing for dropped queries", () => {
  const s = service();
  const other = udpPacket(
    parseIpAddr("100.64.0.1"),
    1,
    parseIpAddr("100.100.100.100"),
    54,
    new Uint8Array(12),
  );
  const info = newIpInfo();
  inspectIp(other, 0, other.length, info);
  s.inbound(other, info, () => {
    throw new Error("no reply expected");
  });
  assertEquals(s.stats.notDns, 1);
});

Deno.test("Quad100TcpServer answers length-prefixed queries over TCP from a stack", async () => {
  const r = onePeerResolver();
  const info = newIpInfo();
  let client: Stack | null = null;
  const server = new Quad100TcpServer({
    resolver: () => r,
    output: (p) => {
      const i = newIpInfo();
      if (inspectIp(p, 0, p.length, i)) queueMicrotask(() => client!.inputParsed(p, i));
    },
  });
  const service = new Quad100Service(() => r, server);
  client = new Stack({
    addresses: ["100.64.0.1"],
    output: (buf, off, len) => {
      const p = buf.slice(off, off + len);
      queueMicrotask(() => {
        if (inspectIp(p, 0, p.length, info)) service.inbound(p, info, () => {});
      });
    },
  });
  try {
    const conn = await client.connectTcp("100.100.100.100", 53);
    const q = dnsQuery(4, "peer.tailnet.test", DNS_TYPE.A);
    await conn.write(new Uint8Array([0, q.length, ...q, 0, q.length, ...q]));
    const got: number[] = [];
    const buf = new Uint8Array(1024);
    while (got.length < 2 || got.length < 2 + ((got[0] << 8) | got[1]) + 2) {
      const n = await conn.read(buf);
      if (n === null) break;
      got.push(...buf.subarray(0, n));
    }
    const len = (got[0] << 8) | got[1];
    const m = parseDnsMessage(new Uint8Array(got.slice(2, 2 + len)));
    assertEquals([m.header.id, dnsRecordBody(m.answers[0])], [4, "100.64.0.2"]);
    conn.close();
    assertEquals(server.answered >= 1, true);
    assertEquals(service.stats.tcpPackets > 0, true);
  } finally {
    client.close();
    server.close();
  }
});
