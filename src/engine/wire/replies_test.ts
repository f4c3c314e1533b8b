import { assert, assertEquals } from "../base/testing/assert.ts";
import { toHex } from "../base/bytes.ts";
import { inspectIp, newIpInfo } from "./ip.ts";
import {
  buildIcmpEchoReply,
  buildIcmpPortUnreachable,
  buildTcpRst,
  ICMPV4_ERROR_MAX_PACKET,
} from "./replies.ts";
import { parseIcmpv4 } from "./icmpv4.ts";
import { parseIpv4 } from "./ipv4.ts";
import { parseTcp, TCP_RST } from "./tcp.ts";
import { CAPTURE } from "./testing/captures.ts";

type Builder = typeof buildIcmpEchoReply;

// Builds the reply to `req` with Linux's IP ID / flow label and DF, into a 0xa5 buffer at
// offset 3, and checks it equals what Linux sent.
function assertLinuxReply(
  build: Builder,
  req: Uint8Array,
  want: Uint8Array,
  ipId: number,
  dontFragment = false,
): void {
  const out = new Uint8Array(want.length + 6).fill(0xa5);
  const end = build(req, 0, req.length, out, 3, newIpInfo(), { ipId, dontFragment });
  assertEquals(end, 3 + want.length);
  assertEquals(toHex(out.subarray(3, end)), toHex(want));
  assertEquals(toHex(out.subarray(0, 3)) + toHex(out.subarray(end)), "a5a5a5a5a5a5");
}

Deno.test("buildIcmpEchoReply() equals Linux's echo replies, IPv4 and IPv6", () => {
  assertLinuxReply(
    buildIcmpEchoReply,
    CAPTURE.ICMPV4_ECHO_REQUEST,
    CAPTURE.ICMPV4_ECHO_REPLY,
    5357,
  );
  assertLinuxReply(
    buildIcmpEchoReply,
    CAPTURE.ICMPV6_ECHO_REQUEST,
    CAPTURE.ICMPV6_ECHO_REPLY,
    0x4c4ff,
  );
});

Deno.test("buildIcmpEchoReply() drops IP options and answers only unicast echo requests", () => {
  const req = CAPTURE.IPV4_RR_ECHO_REQUEST;
  const out = new Uint8Array(200);
  const end = buildIcmpEchoReply(req, 0, req.length, out, 0, newIpInfo());
  assertEquals(end, 20 + 64);
  const h = parseIpv4(out.subarray(0, end), 0);
  assertEquals([h.options.length, h.ttl, h.payloadLen], [0, 64, 64]);
  const m = parseIcmpv4(out, 20, end);
  assert(m.type === "echo-reply" && m.ident === 13572);
  const info = newIpInfo();
  for (
    const name of [
      "ICMPV4_ECHO_REPLY",
      "ICMPV6_ECHO_REPLY",
      "TCPV4_SYN",
      "IPV6_MLD_HOP_BY_HOP",
    ] as const
  ) {
    const p = CAPTURE[name];
    assertEquals(buildIcmpEchoReply(p, 0, p.length, out, 0, info), -1, name);
  }
  const mcast = CAPTURE.ICMPV6_ECHO_REQUEST.slice();
  mcast[24] = 0xff; // to a multicast group: no reply
  assertEquals(buildIcmpEchoReply(mcast, 0, mcast.length, out, 0, info), -1);
  assertEquals(buildIcmpEchoReply(req, 0, req.length, new Uint8Array(83), 0, info), -1); // room
});

Deno.test("buildTcpRst() equals Linux's RST-ACK to a SYN on a closed port, IPv4 and IPv6", () => {
  assertLinuxReply(buildTcpRst, CAPTURE.TCPV4_SYN_CLOSED, CAPTURE.TCPV4_RST, 0, true);
  assertLinuxReply(buildTcpRst, CAPTURE.TCPV6_SYN_CLOSED, CAPTURE.TCPV6_RST, 0x4089f);
});

Deno.test("buildTcpRst() answers an ACK with seq = its ack, and never answers a RST", () => {
  const data = CAPTURE.TCPV4_DATA;
  const out = new Uint8Array(40);
  const info = newIpInfo();
  const end = buildTcpRst(data, 0, data.length, out, 0, info);
  assertEquals(end, 40);
  const ph = { src: out.slice(12, 16), dst: out.slice(16, 20) };
  const rst = parseTcp(out, 20, 40, ph);
  const seg = parseTcp(data, 20, data.length);
  assertEquals([rst.flags, rst.seq, rst.ack, rst.srcPort, rst.dstPort], [
    TCP_RST,
    seg.ack,
    0,
    seg.dstPort,
    seg.srcPort,
  ]);
  for (const name of ["TCPV4_RST", "TCPV6_RST", "UDPV4"] as const) {
    const p = CAPTURE[name];
    assertEquals(buildTcpRst(p, 0, p.length, out, 0, info), -1, name);
  }
  // A FIN counts one: RST-ACK acks seq + data + 1 when the FIN has no ACK bit.
  const fin = CAPTURE.TCPV4_FIN.slice();
  fin[33] = 0x01; // FIN only
  assertEquals(buildTcpRst(fin, 0, fin.length, out, 0, info), 40);
  const r = parseTcp(out, 20, 40);
  assertEquals(r.ack, (parseTcp(fin, 20, fin.length).seq + 1) >>> 0);
});

Deno.test("buildIcmpPortUnreachable() equals Linux's port unreachables, IPv4 and IPv6", () => {
  assertLinuxReply(
    buildIcmpPortUnreachable,
    CAPTURE.UDPV4,
    CAPTURE.ICMPV4_PORT_UNREACHABLE,
    0x1594,
  );
  assertLinuxReply(
    buildIcmpPortUnreachable,
    CAPTURE.UDPV6,
    CAPTURE.ICMPV6_PORT_UNREACHABLE,
    0x3fb3b,
  );
});

Deno.test("buildIcmpPortUnreachable() caps the quote at 576 bytes and skips later fragments", () => {
  const info = newIpInfo();
  const out = new Uint8Array(1500);
  const first = CAPTURE.IPV4_FRAG_FIRST;
  const end = buildIcmpPortUnreachable(first, 0, first.length, out, 0, info);
  assertEquals(end, ICMPV4_ERROR_MAX_PACKET);
  assert(inspectIp(out, 0, end, info));
  const m = parseIcmpv4(out, 20, end);
  assert(m.type === "dest-unreachable");
  assertEquals(toHex(m.original), toHex(first.subarray(0, 548)));
  const last = CAPTURE.IPV4_FRAG_LAST;
  assertEquals(buildIcmpPortUnreachable(last, 0, last.length, out, 0, info), -1);
  const v6 = CAPTURE.IPV6_FRAG_FIRST;
  assertEquals(buildIcmpPortUnreachable(v6, 0, v6.length, out, 0, info), 1280);
  assertEquals(buildIcmpPortUnreachable(CAPTURE.TCPV4_SYN, 0, 60, out, 0, info), -1);
  const bcast = CAPTURE.UDPV4.slice();
  bcast.set([255, 255, 255, 255], 16);
  assertEquals(buildIcmpPortUnreachable(bcast, 0, bcast.length, out, 0, info), -1);
});
