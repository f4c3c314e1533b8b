import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { toHex } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { formatIpAddr } from "./ip_addr.ts";
import {
  emitIpv4,
  fillIpv4Checksum,
  ipv4ChecksumOk,
  ipv4DontFragment,
  ipv4FragmentOffset,
  ipv4HeaderLen,
  ipv4Id,
  ipv4IsFragment,
  ipv4Len,
  ipv4MoreFragments,
  ipv4Protocol,
  ipv4TotalLen,
  ipv4Ttl,
  isIpv4,
  parseIpv4,
} from "./ipv4.ts";
import { assertEmits, CAPTURE } from "./testing/captures.ts";

Deno.test("parseIpv4() reads the fields of a Linux TCP SYN", () => {
  const p = CAPTURE.TCPV4_SYN;
  const h = parseIpv4(p, 0);
  assertEquals(h.tos, 0);
  assertEquals(h.id, 62687);
  assertEquals(h.dontFragment, true);
  assertEquals(h.moreFragments, false);
  assertEquals(h.fragmentOffset, 0);
  assertEquals(h.ttl, 64);
  assertEquals(h.protocol, 6);
  assertEquals(formatIpAddr(h.src), "10.99.0.1");
  assertEquals(formatIpAddr(h.dst), "10.99.0.2");
  assertEquals(h.options.length, 0);
  assertEquals(h.payloadLen, 40);
});

Deno.test("isIpv4() and the accessors agree with parseIpv4() on every IPv4 capture", () => {
  for (const [name, p] of Object.entries(CAPTURE)) {
    if (p[0] >>> 4 !== 4) continue;
    assert(isIpv4(p, 0, p.length), name);
    assert(ipv4ChecksumOk(p, 0), name);
    const h = parseIpv4(p, 0);
    assertEquals(ipv4HeaderLen(p, 0), ipv4Len(h), name);
    assertEquals(ipv4TotalLen(p, 0), p.length, name);
    assertEquals(ipv4Ttl(p, 0), h.ttl, name);
    assertEquals(ipv4Protocol(p, 0), h.protocol, name);
    assertEquals(ipv4Id(p, 0), h.id, name);
    assertEquals(ipv4DontFragment(p, 0), h.dontFragment, name);
  }
});

Deno.test("parseIpv4() keeps the Record Route option of ping -R", () => {
  const h = parseIpv4(CAPTURE.IPV4_RR_ECHO_REQUEST, 0);
  assertEquals(ipv4Len(h), 60);
  assertEquals(h.options.length, 40);
  assertEquals(toHex(h.options.subarray(0, 4)), "01072708"); // NOP, RR len 39 pointer 8
  assertEquals(formatIpAddr(h.options.subarray(4, 8)), "10.99.0.1");
  const r = parseIpv4(CAPTURE.IPV4_RR_ECHO_REPLY, 0);
  assertEquals(toHex(r.options.subarray(0, 3)), "072710"); // RR, pointer now 16
  assertEquals(r.options[39], 0); // EOL
  assertEquals(r.payloadLen, 64);
});

Deno.test("ipv4IsFragment() flags both fragments of a 2048-byte UDP datagram", () => {
  const first = CAPTURE.IPV4_FRAG_FIRST;
  const last = CAPTURE.IPV4_FRAG_LAST;
  assert(ipv4IsFragment(first, 0) && ipv4MoreFragments(first, 0));
  assertEquals(ipv4FragmentOffset(first, 0), 0);
  assert(ipv4IsFragment(last, 0) && !ipv4MoreFragments(last, 0));
  assertEquals(ipv4FragmentOffset(last, 0), 1256);
  assertEquals(ipv4Id(first, 0), ipv4Id(last, 0));
  assert(!ipv4IsFragment(CAPTURE.UDPV4, 0));
  const h = parseIpv4(last, 0);
  assertEquals([h.moreFragments, h.fragmentOffset, h.payloadLen], [false, 1256, 800]);
});

Deno.test("emitIpv4() reproduces the captured headers byte for byte (0xa5 buffer, offset 3)", () => {
  for (
    const name of [
      "TCPV4_SYN",
      "TCPV4_RST",
      "IPV4_RR_ECHO_REQUEST",
      "IPV4_RR_ECHO_REPLY",
      "ICMPV4_PORT_UNREACHABLE",
      "IPV4_FRAG_FIRST",
      "IPV4_FRAG_LAST",
    ] as const
  ) {
    const p = CAPTURE[name];
    const h = parseIpv4(p, 0);
    assertEmits((out, off) => emitIpv4(h, out, off), p.subarray(0, ipv4HeaderLen(p, 0)));
  }
});

Deno.test("emitIpv4() then parseIpv4() round-trips a header", () => {
  const h = parseIpv4(CAPTURE.IPV4_RR_ECHO_REQUEST, 0);
  h.ttl = 1;
  h.tos = 0xb8;
  h.moreFragments = true;
  h.fragmentOffset = 8 * 1000;
  const b = new Uint8Array(ipv4Len(h) + h.payloadLen);
  emitIpv4(h, b, 0);
  assertEquals(parseIpv4(b, 0), h);
});

Deno.test("parseIpv4() rejects impossible lengths, a wrong version and a bad checksum", () => {
  const p = CAPTURE.TCPV4_SYN;
  assertThrows(() => parseIpv4(p.subarray(0, 19), 0), ParseError, "19 bytes");
  assertThrows(() => parseIpv4(p.subarray(0, 59), 0), ParseError, "total length 60");
  const v6 = p.slice();
  v6[0] = 0x65;
  assertThrows(() => parseIpv4(v6, 0), ParseError, "version 6");
  const ihl = p.slice();
  ihl[0] = 0x44;
  assertThrows(() => parseIpv4(ihl, 0), ParseError, "IHL 16");
  assert(!isIpv4(ihl, 0, ihl.length));
  const bad = p.slice();
  bad[8] = 63; // TTL changed, checksum not
  assertThrows(() => parseIpv4(bad, 0), ParseError, "bad checksum");
  assertEquals(parseIpv4(bad, 0, { ignoreChecksum: true }).ttl, 63);
  fillIpv4Checksum(bad, 0);
  assertEquals(parseIpv4(bad, 0).ttl, 63);
  assert(!isIpv4(p, 0, 59));
  assert(!isIpv4(p, 0, p.length + 1));
});

Deno.test("parseIpv4() ignores link padding after the total length", () => {
  const padded = new Uint8Array(CAPTURE.TCPV4_RST.length + 6);
  padded.set(CAPTURE.TCPV4_RST);
  assertEquals(parseIpv4(padded, 0).payloadLen, 20);
});

Deno.test("emitIpv4() refuses options not a multiple of 4 and too little room", () => {
  const h = parseIpv4(CAPTURE.TCPV4_SYN, 0);
  assertThrows(
    () => emitIpv4({ ...h, options: new Uint8Array(3) }, new Uint8Array(60), 0),
    RangeError,
  );
  assertThrows(
    () => emitIpv4({ ...h, options: new Uint8Array(44) }, new Uint8Array(80), 0),
    RangeError,
  );
  assertThrows(() => emitIpv4(h, new Uint8Array(19), 0), RangeError);
  assertThrows(() => emitIpv4({ ...h, payloadLen: 65516 }, new Uint8Array(20), 0), RangeError);
});
