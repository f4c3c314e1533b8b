import { assert, assertEquals } from "../base/testing/assert.ts";
import { ByteRing } from "./byte_ring.ts";

Deno.test("ByteRing.push() wraps around and grows up to its bound, keeping order", () => {
  const r = new ByteRing(8, 64);
  assertEquals(r.push(new Uint8Array([1, 2, 3, 4, 5, 6])), 6);
  r.consume(4);
  assertEquals(r.push(new Uint8Array([7, 8, 9, 10])), 4); // wraps in 8 bytes
  assertEquals(r.capacity, 8);
  assertEquals(r.push(new Uint8Array(20).fill(11)), 20); // grows with wrapped data inside
  assert(r.capacity >= 26);
  const out = new Uint8Array(26);
  r.copyOut(0, 26, out, 0);
  assertEquals([...out.subarray(0, 6)], [5, 6, 7, 8, 9, 10]);
  assertEquals(out[25], 11);
  assertEquals(r.push(new Uint8Array(100)), 64 - 26, "stops at the bound");
  assertEquals(r.free, 0);
});

Deno.test("ByteRing.writeAt() writes ahead of the readable end and commit() exposes it", () => {
  const r = new ByteRing(4, 32);
  r.push(new Uint8Array([1, 2, 3]));
  r.consume(2); // head inside the buffer, so the grow below must keep the ahead bytes in place
  assert(r.writeAt(5, new Uint8Array([9, 9])));
  assert(r.writeAt(1, new Uint8Array([4, 5, 6, 7])));
  r.commit(6);
  const out = new Uint8Array(7);
  r.copyOut(0, 7, out, 0);
  assertEquals([...out], [3, 4, 5, 6, 7, 9, 9]);
  assert(!r.writeAt(30, new Uint8Array(4)), "past the bound");
});

Deno.test("ByteRing.release() frees the storage", () => {
  const r = new ByteRing(16, 1024);
  r.push(new Uint8Array(600));
  r.release();
  assertEquals(r.length, 0);
  assert(r.capacity <= 16);
  assertEquals(r.push(new Uint8Array([1])), 1);
});
