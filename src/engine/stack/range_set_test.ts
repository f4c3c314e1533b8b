import { assert, assertEquals } from "../base/testing/assert.ts";
import { RangeSet } from "./range_set.ts";

function ranges(s: RangeSet): [number, number][] {
  return Array.from({ length: s.count }, (_, i) => [s.start(i), s.end(i)]);
}

Deno.test("RangeSet.add() merges overlapping and touching ranges", () => {
  const s = new RangeSet(8);
  s.add(10, 20);
  s.add(30, 40);
  s.add(20, 25);
  assertEquals(ranges(s), [[10, 25], [30, 40]]);
  s.add(5, 35);
  assertEquals(ranges(s), [[5, 40]]);
  assertEquals(s.bytes, 35);
  assertEquals(s.highest, 40);
});

Deno.test("RangeSet refuses a new range beyond its bound but still merges", () => {
  const s = new RangeSet(2);
  assert(s.add(0, 1) && s.add(10, 11));
  assert(!s.add(20, 21));
  assert(s.add(1, 5));
  assertEquals(ranges(s), [[0, 5], [10, 11]]);
});

Deno.test("RangeSet.shift(), takeFront(), nextGap(), gapBytes(), truncate()", () => {
  const s = new RangeSet(8);
  s.add(0, 4);
  s.add(8, 12);
  assertEquals(s.nextGap(0), 4);
  assertEquals(s.nextGap(9), 12);
  assertEquals(s.gapBytes(0, 12), 4);
  assertEquals(s.takeFront(), 4);
  s.shift(4);
  assertEquals(ranges(s), [[4, 8]]);
  s.shift(6);
  assertEquals(ranges(s), [[0, 2]]);
  s.add(5, 9);
  s.truncate(6);
  assertEquals(ranges(s), [[0, 2], [5, 6]]);
  assert(s.contains(5) && !s.contains(6));
});
