import { assertEquals } from "./base/testing/assert.ts";
import { generatePrivate, type NodePublic, publicOf } from "./key/keys.ts";
import { IpPinger } from "./ping/pinger.ts";
import { Responder } from "./ping/responder.ts";
import { ACCEPT_ALL, type LocalService, type PacketFilter, PacketPipeline } from "./pipeline.ts";
import type { IpInfo } from "./wire/ip.ts";
import { parseIpAddr } from "./wire/ip_addr.ts";
import { IP_PROTO_TSMP, IP_PROTO_UDP } from "./wire/ip_proto.ts";
import { emitTsmpPacket, tsmpPacketLen } from "./wire/tsmp.ts";
import { ipv4UdpPacket } from "./wire/testing/packets.ts";

const PEER: NodePublic = publicOf(generatePrivate("node"));

/** A UDP packet from `src` to `dst`:53 carrying three bytes. */
function udp(src: string, dst: string): Uint8Array {
  return ipv4UdpPacket(src, dst, 1000, 53, new Uint8Array([1, 2, 3]));
}

function pipeline() {
  const toStack: number[] = [];
  const sent: Uint8Array[] = [];
  const pinger = new IpPinger();
  const p = new PacketPipeline({
    send: (buf, off, len) => {
      sent.push(buf.slice(off, off + len));
      return true;
    },
    sendCopy: (packet) => {
      sent.push(packet);
      return true;
    },
    stackInput: (_packet, info) => toStack.push(info.protocol),
    pinger,
    responder: new Responder(),
  });
  p.setLocalAddresses([parseIpAddr("100.64.0.1")]);
  return { p, toStack, sent, pinger };
}

Deno.test("PacketPipeline passes a parsed packet to the stack, and drops a malformed one", () => {
  const { p, toStack, pinger } = pipeline();
  p.inbound(udp("100.64.0.2", "100.64.0.1"), PEER);
  p.inbound(new Uint8Array([0x45, 0, 0]), PEER);
  assertEquals(toStack, [IP_PROTO_UDP]);
  assertEquals(p.inboundStats.passed, 1);
  assertEquals(p.inboundStats.drops.malformed, 1);
  assertEquals(p.inboundStats.dropped, 1);
  pinger.close();
});

Deno.test("PacketPipeline's filter slot sees each packet once, parsed, both ways", () => {
  const { p, toStack, sent, pinger } = pipeline();
  const seen: string[] = [];
  const filter: PacketFilter = {
    inbound: (_b: Uint8Array, info: Readonly<IpInfo>, peer: NodePublic) => {
      seen.push(`in ${info.protocol} ${peer === PEER}`);
      return false;
    },
    outbound: (_b: Uint8Array, info: Readonly<IpInfo>) => {
      seen.push(`out ${info.protocol}`);
      return false;
    },
  };
  p.setFilter(filter);
  p.inbound(udp("100.64.0.2", "100.64.0.1"), PEER);
  const buf = new Uint8Array(16 + 31);
  buf.set(udp("100.64.0.1", "100.64.0.2"), 16);
  assertEquals(p.outbound(buf, 16, 31), false);
  assertEquals(p.outboundPacket(udp("100.64.0.1", "100.64.0.2")), false);
  assertEquals(seen, ["in 17 true", "out 17", "out 17"]);
  assertEquals(toStack, []);
  assertEquals(sent, []);
  assertEquals(p.inboundStats.drops.filtered, 1);
  assertEquals(p.outboundStats.drops.filtered, 2);
  p.setFilter(ACCEPT_ALL);
  assertEquals(p.outbound(buf, 16, 31), true);
  assertEquals(p.outboundStats.sent, 1);
  pinger.close();
});

Deno.test("PacketPipeline hands packets to 100.100.100.100 to its service, whose replies go out", () => {
  const { p, toStack, sent, pinger } = pipeline();
  p.inbound(udp("100.64.0.2", "100.100.100.100"), PEER);
  assertEquals(toStack, [IP_PROTO_UDP], "an empty slot leaves them to the stack");
  const dns: LocalService = {
    inbound: (_packet, _info, reply) => reply(udp("100.100.100.100", "100.64.0.2")),
  };
  p.setQuad100(dns);
  p.inbound(udp("100.64.0.2", "100.100.100.100"), PEER);
  p.inbound(udp("100.64.0.2", "100.64.0.1"), PEER);
  assertEquals(toStack.length, 2);
  assertEquals(p.inboundStats.quad100, 1);
  assertEquals(sent.length, 1);
  assertEquals([...sent[0].subarray(12, 16)], [100, 100, 100, 100]);
  pinger.close();
});

Deno.test("PacketPipeline: TSMP pings are answered before the filter, as tailscaled's tstun does", () => {
  const { p, sent, toStack, pinger } = pipeline();
  p.setFilter({ inbound: () => false, outbound: () => true });
  const ping = { type: "ping" as const, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) };
  const pkt = new Uint8Array(tsmpPacketLen(ping, 4));
  emitTsmpPacket(ping, parseIpAddr("100.64.0.2"), parseIpAddr("100.64.0.1"), pkt, 0);
  p.inbound(pkt, PEER);
  assertEquals(p.inboundStats.answered, 1);
  assertEquals(sent.length, 1);
  assertEquals(sent[0][9], IP_PROTO_TSMP);
  // Anything else still meets the filter.
  p.inbound(udp("100.64.0.2", "100.64.0.1"), PEER);
  assertEquals(p.inboundStats.drops.filtered, 1);
  assertEquals(toStack, []);
  pinger.close();
});
