import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { toHex } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { pseudoHeaderSumAt } from "./checksum.ts";
import {
  emitIcmpv6,
  fillIcmpv6Checksum,
  ICMPV6_CODE_PORT_UNREACHABLE,
  icmpv6ChecksumOk,
  icmpv6Code,
  type Icmpv6Message,
  icmpv6Type,
  isIcmpv6,
  parseIcmpv6,
} from "./icmpv6.ts";
import { assertEmits, CAPTURE } from "./testing/captures.ts";

const ph = (p: Uint8Array) => ({ src: p.slice(8, 24), dst: p.slice(24, 40) });

Deno.test("parseIcmpv6() reads a Linux echo request and reply, checking the pseudo-header", () => {
  const p = CAPTURE.ICMPV6_ECHO_REQUEST;
  const m = parseIcmpv6(p, 40, p.length, ph(p));
  assert(m.type === "echo-request");
  assertEquals([m.ident, m.seq, m.data.length], [13571, 1, 16]);
  const r = CAPTURE.ICMPV6_ECHO_REPLY;
  const rm = parseIcmpv6(r, 40, r.length, ph(r));
  assert(rm.type === "echo-reply");
  assertEquals([rm.ident, rm.seq], [13571, 1]);
  assertEquals(toHex(rm.data), toHex(m.data)); // 16 bytes: ping's timeval fills them all
  assert(isIcmpv6(r, 40, r.length));
  assert(icmpv6ChecksumOk(r, 40, r.length, pseudoHeaderSumAt(r, 8, 24, 16, 58, r.length - 40)));
  assertEquals([icmpv6Type(r, 40), icmpv6Code(r, 40)], [129, 0]);
});

Deno.test("parseIcmpv6() reads a port unreachable quoting the UDP datagram", () => {
  const p = CAPTURE.ICMPV6_PORT_UNREACHABLE;
  const m = parseIcmpv6(p, 40, p.length, ph(p));
  assert(m.type === "dest-unreachable");
  assertEquals(m.code, ICMPV6_CODE_PORT_UNREACHABLE);
  assertEquals(toHex(m.original), toHex(CAPTURE.UDPV6));
});

Deno.test("parseIcmpv6() returns an MLDv2 report as other", () => {
  const p = CAPTURE.IPV6_MLD_HOP_BY_HOP;
  const m = parseIcmpv6(p, 48, p.length, ph(p));
  assert(m.type === "other");
  assertEquals([m.icmpType, m.code, m.rest, m.data.length], [143, 0, 2, 40]);
});

Deno.test("emitIcmpv6() reproduces captured messages (0xa5 buffer, offset 3)", () => {
  for (
    const [name, off] of [
      ["ICMPV6_ECHO_REQUEST", 40],
      ["ICMPV6_ECHO_REPLY", 40],
      ["ICMPV6_PORT_UNREACHABLE", 40],
      ["IPV6_MLD_HOP_BY_HOP", 48],
    ] as const
  ) {
    const p = CAPTURE[name];
    const m = parseIcmpv6(p, off, p.length);
    assertEmits((out, o) => emitIcmpv6(m, out, o, ph(p)), p.subarray(off));
  }
});

Deno.test("emitIcmpv6() then parseIcmpv6() round-trips every message kind", () => {
  const p = ph(CAPTURE.ICMPV6_ECHO_REQUEST);
  const orig = CAPTURE.UDPV6.slice(0, 48);
  const msgs: Icmpv6Message[] = [
    { type: "echo-reply", ident: 1, seq: 0xffff, data: new Uint8Array([7]) },
    { type: "dest-unreachable", code: 1, original: orig },
    { type: "time-exceeded", code: 0, original: orig },
    { type: "packet-too-big", code: 0, mtu: 1280, original: orig },
    { type: "parameter-problem", code: 1, pointer: 40, original: orig },
    { type: "other", icmpType: 135, code: 0, rest: 0, data: new Uint8Array(16) },
  ];
  for (const m of msgs) {
    const b = new Uint8Array(100);
    const end = emitIcmpv6(m, b, 1, p);
    assertEquals(parseIcmpv6(b, 1, end, p), m);
  }
});

Deno.test("parseIcmpv6() rejects short messages and bad checksums", () => {
  const p = CAPTURE.ICMPV6_ECHO_REQUEST.slice();
  assertThrows(() => parseIcmpv6(p, 40, 47), ParseError, "7 bytes");
  p[9] ^= 1; // source address: pseudo-header no longer matches
  assertThrows(() => parseIcmpv6(p, 40, p.length, ph(p)), ParseError, "bad checksum");
  fillIcmpv6Checksum(p, 40, p.length, pseudoHeaderSumAt(p, 8, 24, 16, 58, p.length - 40));
  assertEquals(parseIcmpv6(p, 40, p.length, ph(p)).type, "echo-request");
});
