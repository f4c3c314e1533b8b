import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { toHex } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import {
  emitIcmpv4,
  fillIcmpv4Checksum,
  ICMPV4_CODE_FRAG_NEEDED,
  ICMPV4_CODE_PORT_UNREACHABLE,
  icmpv4ChecksumOk,
  icmpv4Code,
  type Icmpv4Message,
  icmpv4Type,
  isIcmpv4,
  parseIcmpv4,
} from "./icmpv4.ts";
import { assertEmits, CAPTURE } from "./testing/captures.ts";

const body = (p: Uint8Array) => p.subarray((p[0] & 15) * 4);

Deno.test("parseIcmpv4() reads a Linux echo request and its reply", () => {
  const req = body(CAPTURE.ICMPV4_ECHO_REQUEST);
  const m = parseIcmpv4(req, 0, req.length);
  assert(m.type === "echo-request");
  assertEquals([m.ident, m.seq, m.data.length], [13570, 1, 56]);
  const rep = body(CAPTURE.ICMPV4_ECHO_REPLY);
  const r = parseIcmpv4(rep, 0, rep.length);
  assert(r.type === "echo-reply");
  assertEquals([r.ident, r.seq], [13570, 1]);
  assertEquals(toHex(r.data), toHex(m.data));
  assert(isIcmpv4(rep, 0, rep.length) && icmpv4ChecksumOk(rep, 0, rep.length));
  assertEquals([icmpv4Type(rep, 0), icmpv4Code(rep, 0)], [0, 0]);
});

Deno.test("parseIcmpv4() reads a port unreachable quoting the whole UDP datagram", () => {
  const b = body(CAPTURE.ICMPV4_PORT_UNREACHABLE);
  const m = parseIcmpv4(b, 0, b.length);
  assert(m.type === "dest-unreachable");
  assertEquals([m.code, m.mtu], [ICMPV4_CODE_PORT_UNREACHABLE, 0]);
  assertEquals(toHex(m.original), toHex(CAPTURE.UDPV4));
});

Deno.test("emitIcmpv4() reproduces captured messages (0xa5 buffer, offset 3)", () => {
  for (
    const name of [
      "ICMPV4_ECHO_REQUEST",
      "ICMPV4_ECHO_REPLY",
      "ICMPV4_PORT_UNREACHABLE",
      "IPV4_RR_ECHO_REPLY",
    ] as const
  ) {
    const b = body(CAPTURE[name]);
    const m = parseIcmpv4(b, 0, b.length);
    assertEmits((out, off) => emitIcmpv4(m, out, off), b);
  }
});

Deno.test("emitIcmpv4() then parseIcmpv4() round-trips every message kind", () => {
  const msgs: Icmpv4Message[] = [
    { type: "echo-request", ident: 0xffff, seq: 0, data: new Uint8Array([1, 2, 3]) },
    {
      type: "dest-unreachable",
      code: ICMPV4_CODE_FRAG_NEEDED,
      mtu: 1280,
      original: CAPTURE.TCPV4_SYN.slice(0, 28),
    },
    { type: "time-exceeded", code: 0, original: CAPTURE.UDPV4.slice(0, 28) },
    { type: "other", icmpType: 13, code: 0, rest: 0x12345678, data: new Uint8Array(12) },
    { type: "other", icmpType: 8, code: 1, rest: 7, data: new Uint8Array(0) }, // echo, odd code
  ];
  for (const m of msgs) {
    const b = new Uint8Array(64);
    const end = emitIcmpv4(m, b, 5);
    assertEquals(parseIcmpv4(b, 5, end), m);
  }
});

Deno.test("parseIcmpv4() rejects short messages and bad checksums", () => {
  const b = body(CAPTURE.ICMPV4_ECHO_REQUEST).slice();
  assertThrows(() => parseIcmpv4(b, 0, 7), ParseError, "7 bytes");
  b[20] ^= 0xff;
  assertThrows(() => parseIcmpv4(b, 0, b.length), ParseError, "bad checksum");
  assertEquals(parseIcmpv4(b, 0, b.length, { ignoreChecksum: true }).type, "echo-request");
  fillIcmpv4Checksum(b, 0, b.length);
  assertEquals(parseIcmpv4(b, 0, b.length).type, "echo-request");
});
