import { assertEquals, assertThrows } from "../base/testing/assert.ts";
import { emitMapFrame, mapFrameLen, MapFrameSplitter } from "./map_frames.ts";
import { ParseError } from "../base/errors.ts";

const KEEPALIVE = new TextEncoder().encode('{"KeepAlive":true}');

Deno.test("emitMapFrame() writes a little-endian length at an offset", () => {
  const out = new Uint8Array(3 + mapFrameLen(KEEPALIVE.length)).fill(0xa5);
  const end = emitMapFrame(KEEPALIVE, out, 3);
  assertEquals(end, out.length);
  assertEquals([...out.subarray(0, 7)], [0xa5, 0xa5, 0xa5, 18, 0, 0, 0]);
  assertEquals(new TextDecoder().decode(out.subarray(7)), '{"KeepAlive":true}');
});

Deno.test("MapFrameSplitter reads frames split and joined arbitrarily", () => {
  const big = new TextEncoder().encode(JSON.stringify({ Peers: "x".repeat(70_000) }));
  const wire = new Uint8Array(mapFrameLen(KEEPALIVE.length) * 2 + mapFrameLen(big.length));
  let off = emitMapFrame(KEEPALIVE, wire, 0);
  off = emitMapFrame(big, wire, off);
  emitMapFrame(KEEPALIVE, wire, off);
  for (const step of [1, 3, 4096, wire.length]) {
    const s = new MapFrameSplitter(1 << 20);
    const lens: number[] = [];
    for (let i = 0; i < wire.length; i += step) {
      s.push(wire.subarray(i, i + step));
      for (let f = s.next(); f !== null; f = s.next()) lens.push(f.length);
    }
    assertEquals(lens, [18, big.length, 18], `step ${step}`);
    assertEquals(s.pending, 0);
  }
  // 70_000 > 65535: the length needs its third byte, which a big-endian reader would misplace.
  assertEquals(wire[mapFrameLen(18) + 2], (big.length >> 16) & 0xff);
});

Deno.test("MapFrameSplitter rejects zero-length and over-long frames", () => {
  const s = new MapFrameSplitter(100);
  s.push(new Uint8Array([0, 0, 0, 0]));
  assertThrows(() => s.next(), ParseError, "zero length");
  const t = new MapFrameSplitter(100);
  t.push(new Uint8Array([101, 0, 0, 0]));
  assertThrows(() => t.next(), ParseError, "exceeds 100");
});
