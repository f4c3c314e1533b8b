import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import { pseudoHeaderSumAt } from "./checksum.ts";
import {
  emitTcp,
  fillTcpChecksum,
  isTcp,
  parseTcp,
  TCP_ACK,
  TCP_AE,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  tcpAck,
  tcpChecksumOk,
  tcpDstPort,
  tcpFindMss,
  tcpFlags,
  tcpHeaderLen,
  tcpLen,
  tcpOptionsLen,
  type TcpSegment,
  tcpSegmentLen,
  tcpSeq,
  tcpSeqLen,
  tcpSrcPort,
  tcpWindow,
} from "./tcp.ts";
import { assertEmits, CAPTURE } from "./testing/captures.ts";

const ph = (p: Uint8Array) =>
  p[0] >>> 4 === 4
    ? { src: p.slice(12, 16), dst: p.slice(16, 20) }
    : { src: p.slice(8, 24), dst: p.slice(24, 40) };
const at = (p: Uint8Array) => (p[0] >>> 4 === 4 ? (p[0] & 15) * 4 : 40);
const seg = (p: Uint8Array) => parseTcp(p, at(p), p.length, ph(p));

Deno.test("parseTcp() reads a Linux SYN with MSS, SACK-permitted, timestamps and window scale", () => {
  const s = seg(CAPTURE.TCPV4_SYN);
  assertEquals([s.srcPort, s.dstPort, s.seq, s.ack], [37918, 8080, 60703819, 0]);
  assertEquals([s.flags, s.window, s.urgent, s.payload.length], [TCP_SYN, 64480, 0, 0]);
  assertEquals(s.options, [
    { kind: "mss", mss: 1240 },
    { kind: "sack-permitted" },
    { kind: "timestamps", tsVal: 1037157906, tsEcr: 0 },
    { kind: "nop" },
    { kind: "window-scale", shift: 10 },
  ]);
  assertEquals(tcpSeqLen(s), 1);
});

Deno.test("parseTcp() reads the SYN-ACK, data, FIN and RST of a Linux connection", () => {
  const sa = seg(CAPTURE.TCPV4_SYN_ACK);
  assertEquals([sa.seq, sa.ack, sa.flags, sa.window], [
    372207964,
    60703820,
    TCP_SYN | TCP_ACK,
    65084,
  ]);
  assertEquals(sa.options[2], { kind: "timestamps", tsVal: 170233362, tsEcr: 1037157906 });
  const d = seg(CAPTURE.TCPV4_DATA);
  assertEquals(d.flags, TCP_PSH | TCP_ACK);
  assertEquals(new TextDecoder().decode(d.payload), "hello tailnet\n");
  assertEquals(d.options, [{ kind: "nop" }, { kind: "nop" }, {
    kind: "timestamps",
    tsVal: 1037157906,
    tsEcr: 170233362,
  }]);
  assertEquals(tcpSeqLen(d), 14);
  const f = seg(CAPTURE.TCPV4_FIN);
  assertEquals([f.flags, tcpSeqLen(f)], [TCP_FIN | TCP_ACK, 1]);
  const r = seg(CAPTURE.TCPV4_RST);
  assertEquals([r.flags, r.seq, r.ack, r.window, r.options], [
    TCP_RST | TCP_ACK,
    0,
    934078186,
    0,
    [],
  ]);
  const s6 = seg(CAPTURE.TCPV6_SYN);
  assertEquals(s6.options[0], { kind: "mss", mss: 1220 });
  assertEquals(new TextDecoder().decode(seg(CAPTURE.TCPV6_DATA).payload), "hello tailnet\n");
});

Deno.test("TCP accessors agree with parseTcp() and verify captured checksums", () => {
  for (const [name, p] of Object.entries(CAPTURE)) {
    const o = at(p);
    if ((p[0] >>> 4 === 4 ? p[9] : p[6]) !== 6) continue;
    assert(isTcp(p, o, p.length), name);
    const s = seg(p);
    assertEquals(
      [
        tcpSrcPort(p, o),
        tcpDstPort(p, o),
        tcpSeq(p, o),
        tcpAck(p, o),
        tcpFlags(p, o),
        tcpWindow(p, o),
      ],
      [s.srcPort, s.dstPort, s.seq, s.ack, s.flags, s.window],
      name,
    );
    assertEquals(tcpSegmentLen(p, o, p.length), tcpSeqLen(s), name);
    const v4 = p[0] >>> 4 === 4;
    const sum = pseudoHeaderSumAt(p, v4 ? 12 : 8, v4 ? 16 : 24, v4 ? 4 : 16, 6, p.length - o);
    assert(tcpChecksumOk(p, o, p.length, sum), name);
  }
  assertEquals(tcpFindMss(CAPTURE.TCPV4_SYN, 20), 1240);
  assertEquals(tcpFindMss(CAPTURE.TCPV6_SYN_ACK, 40), 1220);
  assertEquals(tcpFindMss(CAPTURE.TCPV4_DATA, 20), -1);
});

Deno.test("emitTcp() reproduces captured segments byte for byte (0xa5 buffer, offset 3)", () => {
  for (
    const name of [
      "TCPV4_SYN",
      "TCPV4_SYN_ACK",
      "TCPV4_DATA",
      "TCPV4_FIN",
      "TCPV4_RST",
      "TCPV6_SYN",
      "TCPV6_DATA",
      "TCPV6_RST",
    ] as const
  ) {
    const p = CAPTURE[name];
    const s = seg(p);
    assertEmits((out, off) => emitTcp(s, out, off, ph(p)), p.subarray(at(p)));
  }
});

Deno.test("emitTcp() then parseTcp() round-trips SACK blocks, EOL, unknown options and AE", () => {
  const s: TcpSegment = {
    srcPort: 443,
    dstPort: 50000,
    seq: 0xfffffff0,
    ack: 0x80000000,
    flags: TCP_ACK | TCP_AE,
    window: 1,
    urgent: 0,
    options: [
      { kind: "nop" },
      { kind: "nop" },
      { kind: "sack", blocks: [[1, 2], [0xfffffff0, 0x10]] },
      { kind: "unknown", type: 30, data: new Uint8Array([1, 2, 3]) }, // MPTCP-like, kept
      { kind: "eol" },
    ],
    payload: new Uint8Array([1, 2, 3, 4, 5]),
  };
  assertEquals(tcpOptionsLen(s.options), 28); // 2 + 18 + 5 + 1 = 26, padded to 28
  const b = new Uint8Array(tcpLen(s));
  const p = { src: new Uint8Array([100, 64, 0, 1]), dst: new Uint8Array([100, 64, 0, 2]) };
  assertEquals(emitTcp(s, b, 0, p), 20 + 28 + 5);
  assertEquals(tcpHeaderLen(b, 0), 48);
  assertEquals(parseTcp(b, 0, b.length, p), s);
});

Deno.test("parseTcp() keeps a known option with the wrong length as unknown", () => {
  const b = new Uint8Array(24);
  b[12] = 6 << 4;
  b.set([2, 3, 5, 1], 20); // MSS with length 3, then NOP
  const s = parseTcp(b, 0, b.length);
  assertEquals(s.options, [{ kind: "unknown", type: 2, data: new Uint8Array([5]) }, {
    kind: "nop",
  }]);
  assertEquals(tcpFindMss(b, 0), -1);
});

Deno.test("parseTcp() rejects bad data offsets, option lengths and checksums", () => {
  const p = CAPTURE.TCPV4_SYN;
  const t = p.slice(20);
  assertThrows(() => parseTcp(t, 0, 19), ParseError, "19 bytes");
  assertThrows(() => parseTcp(t, 0, 39), ParseError, "data offset 40");
  const lowOff = t.slice();
  lowOff[12] = 0x40;
  assertThrows(() => parseTcp(lowOff, 0, lowOff.length), ParseError, "data offset 16");
  assert(!isTcp(lowOff, 0, lowOff.length));
  const zeroLen = t.slice();
  zeroLen[21] = 0; // MSS length 0
  assertThrows(() => parseTcp(zeroLen, 0, zeroLen.length), ParseError, "length 0");
  const longOpt = t.slice();
  longOpt[39] = 8; // window scale at the end claims 8 bytes
  longOpt[37] = 3;
  longOpt[38] = 9;
  assertThrows(() => parseTcp(longOpt, 0, longOpt.length), ParseError, "length 9");
  const bad = t.slice();
  bad[4] ^= 0x80;
  assertThrows(() => parseTcp(bad, 0, bad.length, ph(p)), ParseError, "bad checksum");
  fillTcpChecksum(bad, 0, bad.length, pseudoHeaderSumAt(p, 12, 16, 4, 6, 40));
  assertEquals(parseTcp(bad, 0, bad.length, ph(p)).seq, (60703819 ^ 0x80000000) >>> 0);
});

Deno.test("emitTcp() refuses more than 40 option bytes and bad SACK block counts", () => {
  const base = seg(CAPTURE.TCPV4_SYN);
  const many = { ...base, options: [...base.options, ...base.options, ...base.options] };
  assertThrows(() => emitTcp(many, new Uint8Array(200), 0), RangeError);
  const sack = { ...base, options: [{ kind: "sack" as const, blocks: [] }] };
  assertThrows(() => emitTcp(sack, new Uint8Array(200), 0), RangeError);
});
