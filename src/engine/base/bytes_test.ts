import { assert, assertEquals, assertThrows } from "./testing/assert.ts";
import {
  concat,
  equals,
  fromHex,
  readU16be,
  readU16le,
  readU32be,
  readU32le,
  readU64be,
  readU64le,
  toHex,
  writeU16be,
  writeU16le,
  writeU32be,
  writeU32le,
  writeU64be,
  writeU64le,
} from "./bytes.ts";

Deno.test("readU16be/readU32be/readU64be() read network order", () => {
  const b = fromHex("0102030405060708f0");
  assertEquals(readU16be(b, 0), 0x0102);
  assertEquals(readU32be(b, 1), 0x02030405);
  assertEquals(readU32be(fromHex("ffffffff"), 0), 0xffffffff);
  assertEquals(readU64be(b, 1), 0x02030405060708f0n);
});

Deno.test("readU16le/readU32le/readU64le() read little-endian", () => {
  const b = fromHex("0102030405060708f0");
  assertEquals(readU16le(b, 0), 0x0201);
  assertEquals(readU32le(b, 0), 0x04030201);
  assertEquals(readU32le(fromHex("000000ff"), 0), 0xff000000);
  assertEquals(readU64le(b, 1), 0xf008070605040302n);
});

Deno.test("write*() write at the offset, return the next, leave neighbours alone", () => {
  const b = new Uint8Array(12).fill(0xa5);
  assertEquals(writeU16be(b, 1, 0x1234), 3);
  assertEquals(writeU32be(b, 3, 0xdeadbeef), 7);
  assertEquals(toHex(b), "a51234deadbeefa5a5a5a5a5");
  const c = new Uint8Array(20).fill(0xa5);
  assertEquals(writeU16le(c, 0, 0x1234), 2);
  assertEquals(writeU32le(c, 2, 0xdeadbeef), 6);
  assertEquals(writeU64le(c, 6, 0x0102030405060708n), 14);
  assertEquals(writeU64be(c, 14 - 2, 0xffn), 20);
  assertEquals(toHex(c), "3412efbeadde080706050403000000000000" + "00ff");
});

Deno.test("concat() and equals()", () => {
  const j = concat([fromHex("01"), new Uint8Array(0), fromHex("0203")]);
  assertEquals(toHex(j), "010203");
  assert(equals(j, fromHex("010203")));
  assert(!equals(j, fromHex("010204")));
  assert(!equals(j, fromHex("0102")));
});

Deno.test("fromHex() ignores whitespace and rejects bad input", () => {
  assertEquals(toHex(fromHex(" 0a\nFF ")), "0aff");
  assertThrows(() => fromHex("abc"), SyntaxError);
  assertThrows(() => fromHex("zz"), SyntaxError);
});
