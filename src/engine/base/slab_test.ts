import { assert, assertEquals } from "./testing/assert.ts";
import { ByteSlab } from "./slab.ts";

Deno.test("ByteSlab hands out zeroed views that never overlap, across slab changes", () => {
  const slab = new ByteSlab(1024);
  const views: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) {
    const v = slab.take(1 + (i * 37) % 250);
    assert(v.every((b) => b === 0), `view ${i} is not zeroed`);
    v.fill(i & 0xff);
    views.push(v);
  }
  // Every view still holds what was written into it: no later view shared its bytes.
  views.forEach((v, i) => assert(v.every((b) => b === (i & 0xff)), `view ${i} was overwritten`));
  // Views of one slab are 8-byte aligned.
  assert(views.every((v) => v.byteOffset % 8 === 0));
});

Deno.test("ByteSlab gives a request over a quarter slab a buffer of its own", () => {
  const slab = new ByteSlab(1024);
  const small = slab.take(16);
  const big = slab.take(257);
  assertEquals(big.byteOffset, 0);
  assertEquals(big.buffer.byteLength, 257);
  assert(big.buffer !== small.buffer);
  // The slab goes on where it was.
  assertEquals(slab.take(8).byteOffset, 16);
});

Deno.test("ByteSlab.copyOf() copies, and later writes to the source do not reach the copy", () => {
  const slab = new ByteSlab();
  const src = new Uint8Array([1, 2, 3, 4, 5]);
  const copy = slab.copyOf(src);
  src.fill(9);
  assertEquals([...copy], [1, 2, 3, 4, 5]);
  assertEquals(slab.copyOf(new Uint8Array(0)).length, 0);
});
