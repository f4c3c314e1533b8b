import { assertEquals } from "../base/testing/assert.ts";
import { parseTcp, TCP_ACK, TCP_SYN } from "../wire/mod.ts";
import { emitTcpRepr, newTcpRepr, parseTcpRepr, tcpReprHeaderLen } from "./tcp_repr.ts";

Deno.test("emitTcpRepr() writes a SYN the wire codec reads back, options in Linux's order", () => {
  const r = newTcpRepr();
  Object.assign(r, { srcPort: 1, dstPort: 2, seq: 3, ack: 0, flags: TCP_SYN, window: 65535 });
  r.mss = 1240;
  r.wscale = 7;
  r.sackPermitted = true;
  r.hasTs = true;
  r.tsVal = 0x01020304;
  r.tsEcr = 0;
  const out = new Uint8Array(3 + tcpReprHeaderLen(r)).fill(0xa5);
  const end = emitTcpRepr(r, out, 3);
  assertEquals([...out.subarray(0, 3)], [0xa5, 0xa5, 0xa5]);
  assertEquals(end - 3, 40);
  const p = parseTcp(out, 3, end);
  assertEquals(p.options.map((o) => o.kind), [
    "mss",
    "sack-permitted",
    "timestamps",
    "nop",
    "window-scale",
  ]);
  const back = newTcpRepr();
  parseTcpRepr(out, 3, end, back);
  assertEquals([back.mss, back.wscale, back.sackPermitted, back.tsVal], [
    1240,
    7,
    true,
    0x01020304,
  ]);
});

Deno.test("parseTcpRepr() reads SACK blocks and timestamps of an ACK, ignores bad options", () => {
  const r = newTcpRepr();
  Object.assign(r, { srcPort: 5, dstPort: 6, seq: 7, ack: 8, flags: TCP_ACK, window: 9 });
  r.hasTs = true;
  r.tsVal = 11;
  r.tsEcr = 12;
  r.sackCount = 3;
  r.sack.splice(0, 6, 100, 200, 300, 400, 500, 600);
  const out = new Uint8Array(tcpReprHeaderLen(r) + 4);
  const at = emitTcpRepr(r, out, 0);
  out.set([1, 2, 3, 4], at);
  const back = newTcpRepr();
  assertEquals(parseTcpRepr(out, 0, out.length, back), true);
  assertEquals(back.sackCount, 3);
  assertEquals(back.sack.slice(0, 6), [100, 200, 300, 400, 500, 600]);
  assertEquals([back.tsVal, back.tsEcr], [11, 12]);
  assertEquals([...back.payload], [1, 2, 3, 4]);
  // A length byte of 1 is malformed: parsing stops there, the header is still usable.
  out[20 + 2] = 8;
  out[20 + 3] = 1;
  assertEquals(parseTcpRepr(out, 0, out.length, back), true);
  assertEquals(back.hasTs, false);
  assertEquals(parseTcpRepr(out, 0, 19, back), false);
});
