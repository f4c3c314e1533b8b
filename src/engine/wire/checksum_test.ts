import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { fromHex } from "../base/bytes.ts";
import {
  checksumAdd,
  checksumFinish,
  checksumUpdate16,
  checksumUpdate32,
  internetChecksum,
  pseudoHeaderSum,
  pseudoHeaderSumAt,
} from "./checksum.ts";
import { CAPTURE } from "./testing/captures.ts";

Deno.test("internetChecksum() matches the RFC 1071 example", () => {
  // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
  const b = fromHex("0001f203f4f5f6f7");
  assertEquals(internetChecksum(b, 0, b.length), 0x220d);
});

Deno.test("internetChecksum() pads an odd last byte with zero", () => {
  assertEquals(
    internetChecksum(fromHex("0001f203f4f5f6f7ab"), 0, 9),
    ~(0xddf2 + 0xab00 + 1) & 0xffff,
  );
  assertEquals(internetChecksum(new Uint8Array(0), 0, 0), 0xffff);
});

Deno.test("internetChecksum() is 0 over each captured IPv4 header", () => {
  for (const name of ["TCPV4_SYN", "IPV4_RR_ECHO_REQUEST", "ICMPV4_PORT_UNREACHABLE"] as const) {
    const p = CAPTURE[name];
    assertEquals(internetChecksum(p, 0, (p[0] & 15) * 4), 0, name);
  }
});

Deno.test("pseudoHeaderSumAt() verifies captured TCP/UDP/ICMPv6 over both families", () => {
  const syn = CAPTURE.TCPV4_SYN; // 20-byte IPv4 header, 40-byte TCP
  assertEquals(
    checksumFinish(checksumAdd(pseudoHeaderSumAt(syn, 12, 16, 4, 6, 40), syn, 20, 60)),
    0,
  );
  const u6 = CAPTURE.UDPV6;
  const n = u6.length - 40;
  assertEquals(
    checksumFinish(checksumAdd(pseudoHeaderSumAt(u6, 8, 24, 16, 17, n), u6, 40, u6.length)),
    0,
  );
  const e6 = CAPTURE.ICMPV6_ECHO_REQUEST;
  const sum = pseudoHeaderSum(e6.slice(8, 24), e6.slice(24, 40), 58, e6.length - 40);
  assertEquals(checksumFinish(checksumAdd(sum, e6, 40, e6.length)), 0);
  // A wrong protocol number breaks it: the test can fail.
  assert(checksumFinish(checksumAdd(pseudoHeaderSumAt(syn, 12, 16, 4, 17, 40), syn, 20, 60)) !== 0);
});

Deno.test("pseudoHeaderSum() rejects mismatched address lengths", () => {
  assertThrows(() => pseudoHeaderSum(new Uint8Array(4), new Uint8Array(16), 6, 0), RangeError);
});

Deno.test("checksumAdd() over a large buffer equals a word-by-word sum", () => {
  const b = new Uint8Array(70001);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7919) & 0xff;
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  s += b[b.length - 1] << 8;
  assertEquals(checksumFinish(checksumAdd(0, b, 0, b.length)), checksumFinish(s));
  assertEquals(
    checksumFinish(checksumAdd(0, b, 3, 1003)),
    checksumFinish(checksumAdd(0, b.slice(3, 1003), 0, 1000)),
  );
});

Deno.test("checksumUpdate16/32() agree with a full recomputation after a rewrite", () => {
  const p = CAPTURE.TCPV4_DATA.slice();
  const hl = 20;
  const old = (p[8] << 8) | p[9]; // TTL and protocol word
  p[8] = 63; // decrement TTL
  const c1 = checksumUpdate16((p[10] << 8) | p[11], old, (p[8] << 8) | p[9]);
  p[10] = 0;
  p[11] = 0;
  assertEquals(c1, internetChecksum(p, 0, hl));
  // Rewrite the source address (NAT) and fix the IPv4 checksum incrementally.
  const q = CAPTURE.TCPV4_DATA.slice();
  const oldSrc = ((q[12] << 24) | (q[13] << 16) | (q[14] << 8) | q[15]) >>> 0;
  const newSrc = 0x64400001; // 100.64.0.1
  const c2 = checksumUpdate32((q[10] << 8) | q[11], oldSrc, newSrc);
  q[12] = 100;
  q[13] = 64;
  q[14] = 0;
  q[15] = 1;
  q[10] = 0;
  q[11] = 0;
  assertEquals(c2, internetChecksum(q, 0, hl));
});
