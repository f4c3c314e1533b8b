import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { toHex } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { formatIpAddr, parseIpAddr } from "./ip_addr.ts";
import {
  emitIpv6,
  ipv6FlowLabel,
  type Ipv6Header,
  ipv6HopLimit,
  ipv6Len,
  ipv6NextHeader,
  ipv6PayloadLen,
  ipv6TrafficClass,
  isIpv6,
  newIpv6Upper,
  parseIpv6,
  walkIpv6,
} from "./ipv6.ts";
import { assertEmits, CAPTURE } from "./testing/captures.ts";

Deno.test("parseIpv6() reads the fixed header of a Linux ICMPv6 echo request", () => {
  const p = CAPTURE.ICMPV6_ECHO_REQUEST;
  const h = parseIpv6(p, 0);
  assertEquals(h.trafficClass, 0);
  assertEquals(h.flowLabel, 0x7e010);
  assertEquals(h.hopLimit, 64);
  assertEquals(formatIpAddr(h.src), "fd99::1");
  assertEquals(formatIpAddr(h.dst), "fd99::2");
  assertEquals(h.extensions, []);
  assertEquals(h.protocol, 58);
  assertEquals(h.payloadLen, 24);
  assert(isIpv6(p, 0, p.length));
  assertEquals(
    [ipv6FlowLabel(p, 0), ipv6HopLimit(p, 0), ipv6NextHeader(p, 0), ipv6PayloadLen(p, 0)],
    [0x7e010, 64, 58, 24],
  );
  assertEquals(ipv6TrafficClass(p, 0), 0);
});

Deno.test("parseIpv6() walks the hop-by-hop header of an MLDv2 report", () => {
  const p = CAPTURE.IPV6_MLD_HOP_BY_HOP;
  const h = parseIpv6(p, 0);
  assertEquals(h.hopLimit, 1);
  assertEquals(formatIpAddr(h.dst), "ff02::16");
  assertEquals(h.extensions.length, 1);
  const e = h.extensions[0];
  assert(e.type === "hop-by-hop");
  assertEquals(toHex(e.options), "050200000100"); // router alert (MLD), PadN 0
  assertEquals([h.protocol, h.payloadLen], [58, 48]);
  const up = newIpv6Upper();
  assert(walkIpv6(p, 0, p.length, up));
  assertEquals([up.protocol, up.payloadOff, up.payloadEnd, up.fragment], [58, 48, 96, false]);
});

Deno.test("parseIpv6() walks a destination-options header set by IPV6_DSTOPTS", () => {
  const h = parseIpv6(CAPTURE.IPV6_DSTOPTS_UDP, 0);
  assertEquals(h.extensions.length, 1);
  const e = h.extensions[0];
  assert(e.type === "destination");
  assertEquals(toHex(e.options), "010400000000"); // PadN of 4
  assertEquals([h.protocol, h.payloadLen], [17, 16]);
});

Deno.test("walkIpv6() flags both fragments and stops after a later fragment's header", () => {
  const up = newIpv6Upper();
  const first = CAPTURE.IPV6_FRAG_FIRST;
  assert(walkIpv6(first, 0, first.length, up));
  assertEquals(
    [up.protocol, up.payloadOff, up.fragment, up.fragmentOffset, up.moreFragments],
    [17, 48, true, 0, true],
  );
  const id = up.fragmentId;
  const last = CAPTURE.IPV6_FRAG_LAST;
  assert(walkIpv6(last, 0, last.length, up));
  assertEquals(
    [up.protocol, up.payloadOff, up.fragment, up.fragmentOffset, up.moreFragments],
    [17, 48, true, 1232, false],
  );
  assertEquals(up.fragmentId, id);
  assertEquals(id, 0x40ec335c);
  const h = parseIpv6(last, 0);
  assertEquals(h.extensions, [{ type: "fragment", offset: 1232, more: false, id: 0x40ec335c }]);
  assertEquals(h.payloadLen, 824);
});

Deno.test("emitIpv6() reproduces captured header chains byte for byte (0xa5 buffer, offset 3)", () => {
  for (
    const name of [
      "ICMPV6_ECHO_REQUEST",
      "TCPV6_SYN",
      "IPV6_MLD_HOP_BY_HOP",
      "IPV6_DSTOPTS_UDP",
      "IPV6_FRAG_FIRST",
      "IPV6_FRAG_LAST",
    ] as const
  ) {
    const p = CAPTURE[name];
    const h = parseIpv6(p, 0);
    assertEmits((out, off) => emitIpv6(h, out, off), p.subarray(0, ipv6Len(h)));
  }
});

Deno.test("emitIpv6() then parseIpv6() round-trips a chain with every extension type", () => {
  const h: Ipv6Header = {
    trafficClass: 0xb8,
    flowLabel: 0xabcde,
    hopLimit: 9,
    src: parseIpAddr("fd7a:115c:a1e0::1"),
    dst: parseIpAddr("fd7a:115c:a1e0::2"),
    extensions: [
      { type: "hop-by-hop", options: new Uint8Array([1, 4, 0, 0, 0, 0]) },
      { type: "destination", options: new Uint8Array(14) },
      { type: "routing", routingType: 4, segmentsLeft: 1, data: new Uint8Array(20) },
      { type: "fragment", offset: 0, more: true, id: 0xdeadbeef },
    ],
    protocol: 6,
    payloadLen: 20,
  };
  const b = new Uint8Array(ipv6Len(h) + h.payloadLen);
  assertEquals(emitIpv6(h, b, 0), 40 + 8 + 16 + 24 + 8);
  assertEquals(parseIpv6(b, 0), h);
  const up = newIpv6Upper();
  assert(walkIpv6(b, 0, b.length, up));
  assertEquals([up.protocol, up.payloadOff, up.fragment], [6, 96, true]);
});

Deno.test("parseIpv6()/walkIpv6() reject a misplaced hop-by-hop header and truncated chains", () => {
  const h: Ipv6Header = {
    trafficClass: 0,
    flowLabel: 0,
    hopLimit: 64,
    src: new Uint8Array(16),
    dst: new Uint8Array(16),
    extensions: [
      { type: "destination", options: new Uint8Array(6) },
      { type: "hop-by-hop", options: new Uint8Array(6) },
    ],
    protocol: 17,
    payloadLen: 0,
  };
  const b = new Uint8Array(ipv6Len(h));
  emitIpv6(h, b, 0);
  assertThrows(() => parseIpv6(b, 0), ParseError, "not first");
  assert(!walkIpv6(b, 0, b.length, newIpv6Upper()));
  // Claim an 8-byte extension but carry only 4 bytes of it.
  const p = CAPTURE.IPV6_DSTOPTS_UDP.slice(0, 44);
  p[5] = 4;
  assertThrows(() => parseIpv6(p, 0), ParseError, "truncated");
  assert(!walkIpv6(p, 0, p.length, newIpv6Upper()));
  // Payload length beyond the bytes.
  assertThrows(() => parseIpv6(CAPTURE.TCPV6_SYN.subarray(0, 79), 0), ParseError, "exceeds");
  assert(!isIpv6(CAPTURE.TCPV6_SYN, 0, 79));
  assertThrows(() => parseIpv6(CAPTURE.TCPV4_SYN, 0), ParseError, "version 4");
});

Deno.test("parseIpv6() reads a Linux segment routing header (routing type 4)", () => {
  const p = CAPTURE.IPV6_SRH_ECHO_REQUEST;
  const h = parseIpv6(p, 0);
  assertEquals(h.extensions.length, 1);
  const e = h.extensions[0];
  assert(e.type === "routing");
  assertEquals([e.routingType, e.segmentsLeft, e.data.length], [4, 1, 36]);
  assertEquals(toHex(e.data.subarray(0, 4)), "01000000"); // last entry 1, flags 0, tag 0
  assertEquals(formatIpAddr(e.data.subarray(4, 20)), "fd98::1"); // segment 0: final destination
  assertEquals(formatIpAddr(e.data.subarray(20, 36)), "fd99::2");
  assertEquals([h.protocol, h.payloadLen], [58, 64]);
  const up = newIpv6Upper();
  assert(walkIpv6(p, 0, p.length, up));
  assertEquals([up.protocol, up.payloadOff], [58, 80]);
  assertEmits((out, off) => emitIpv6(h, out, off), p.subarray(0, 80));
});
