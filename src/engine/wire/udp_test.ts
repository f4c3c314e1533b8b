import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import { pseudoHeaderSumAt } from "./checksum.ts";
import {
  emitUdp,
  fillUdpChecksum,
  isUdp,
  parseUdp,
  udpChecksumOk,
  udpDstPort,
  udpLen,
  udpLength,
  udpSrcPort,
} from "./udp.ts";
import { assertEmits, CAPTURE } from "./testing/captures.ts";

const V4 = CAPTURE.UDPV4; // 20-byte IPv4 header
const V6 = CAPTURE.UDPV6; // 40-byte IPv6 header
const ph4 = { src: V4.slice(12, 16), dst: V4.slice(16, 20) };
const ph6 = { src: V6.slice(8, 24), dst: V6.slice(24, 40) };
const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("parseUdp() reads Linux datagrams over IPv4 and IPv6 and verifies their checksums", () => {
  const d4 = parseUdp(V4, 20, V4.length, ph4);
  assertEquals([d4.srcPort, d4.dstPort, text(d4.payload)], [50415, 9999, "nobody here\n"]);
  const d6 = parseUdp(V6, 40, V6.length, ph6);
  assertEquals([d6.srcPort, d6.dstPort, text(d6.payload)], [50034, 9999, "nobody here\n"]);
  assert(isUdp(V4, 20, V4.length));
  assertEquals([udpSrcPort(V6, 40), udpDstPort(V6, 40), udpLength(V6, 40)], [50034, 9999, 20]);
  assert(udpChecksumOk(V4, 20, pseudoHeaderSumAt(V4, 12, 16, 4, 17, 20), false));
  assert(udpChecksumOk(V6, 40, pseudoHeaderSumAt(V6, 8, 24, 16, 17, 20), true));
});

Deno.test("emitUdp() reproduces the captured datagrams (0xa5 buffer, offset 3)", () => {
  assertEmits((out, off) => emitUdp(parseUdp(V4, 20, V4.length), out, off, ph4), V4.subarray(20));
  assertEmits((out, off) => emitUdp(parseUdp(V6, 40, V6.length), out, off, ph6), V6.subarray(40));
});

Deno.test("emitUdp() then parseUdp() round-trips", () => {
  const d = { srcPort: 1, dstPort: 65535, payload: new Uint8Array([9, 8, 7]) };
  const b = new Uint8Array(udpLen(d));
  emitUdp(d, b, 0, ph6);
  assertEquals(parseUdp(b, 0, b.length, ph6), d);
});

Deno.test("parseUdp() takes a zero checksum as absent over IPv4 only", () => {
  const b = V4.slice(20);
  b[6] = 0;
  b[7] = 0;
  assertEquals(parseUdp(b, 0, b.length, ph4).dstPort, 9999);
  const c = V6.slice(40);
  c[6] = 0;
  c[7] = 0;
  assertThrows(() => parseUdp(c, 0, c.length, ph6), ParseError, "bad checksum");
});

Deno.test("fillUdpChecksum() never writes 0", () => {
  // Find a payload whose checksum computes to 0, then check 0xffff is sent instead.
  const b = new Uint8Array(10);
  b[0] = 0;
  b[1] = 0;
  b[4] = 0;
  b[5] = 10;
  for (let x = 0; x < 0x10000; x++) {
    b[8] = x >>> 8;
    b[9] = x & 0xff;
    const c = fillUdpChecksum(b, 0, 0);
    assert(c !== 0);
    if (c === 0xffff) return;
  }
  throw new Error("no payload summed to zero");
});

Deno.test("parseUdp() rejects bad lengths and checksums", () => {
  const b = V4.slice(20);
  assertThrows(() => parseUdp(b, 0, 7), ParseError, "7 bytes");
  assertThrows(() => parseUdp(b, 0, b.length - 1), ParseError, "length 20");
  const short = b.slice();
  short[5] = 7;
  assertThrows(() => parseUdp(short, 0, short.length), ParseError, "length 7");
  assert(!isUdp(short, 0, short.length));
  const bad = b.slice();
  bad[10] ^= 1;
  assertThrows(() => parseUdp(bad, 0, bad.length, ph4), ParseError, "bad checksum");
  assertEquals(parseUdp(bad, 0, bad.length).payload[2], b[10] ^ 1); // unchecked without ph
});

Deno.test("parseUdp() behind a routing header checks against the final destination", () => {
  // RFC 8200 §8.1: with a routing header the pseudo-header carries the last segment
  // (fd98::1), not the IPv6 destination (fd99::2). Linux computed it that way.
  const p = CAPTURE.IPV6_SRH_UDP;
  const udpAt = 40 + 40;
  const finalDst = { src: p.slice(8, 24), dst: p.slice(48, 64) }; // segment 0
  assertEquals(parseUdp(p, udpAt, p.length, finalDst).dstPort, 7777);
  assertThrows(() => parseUdp(p, udpAt, p.length, ph6FromIp(p)), ParseError, "bad checksum");
});

function ph6FromIp(p: Uint8Array) {
  return { src: p.slice(8, 24), dst: p.slice(24, 40) };
}
