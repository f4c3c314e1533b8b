/**
 * tests/assert.ts compares by content: values of every kind the old hand-written equality
 * took for equal whatever they held (Sets, Maps, Dates, Errors, ArrayBuffers, typed arrays,
 * prototypes, key-less objects) now fail when they differ, and pass when they match.
 * @module
 */
import { assert, assertEquals, AssertionError, assertNotEquals, assertThrows } from "./assert.ts";

class Point {
  constructor(readonly x: number) {}
}

/** State in a private field only, with an equals(). */
class Secret {
  readonly #value: number;
  constructor(value: number) {
    this.#value = value;
  }
  equals(other: unknown): boolean {
    return other instanceof Secret && other.#value === this.#value;
  }
}

/** State in a private field only, and no way to compare it. */
class Sealed {
  readonly #value: number;
  constructor(value: number) {
    this.#value = value;
  }
  get value(): number {
    return this.#value;
  }
}

/** Pairs that must compare unequal, by name. */
const DIFFERENT: [string, unknown, unknown][] = [
  ["Set", new Set([1]), new Set([2])],
  ["Set size", new Set([1]), new Set([1, 2])],
  ["nested Set", { s: new Set(["a"]) }, { s: new Set(["b"]) }],
  ["Map value", new Map([["k", 1]]), new Map([["k", 2]])],
  ["Map key", new Map([["k", 1]]), new Map([["j", 1]])],
  ["Date", new Date(1), new Date(2)],
  ["Error message", new Error("a"), new Error("b")],
  ["Error class", new TypeError("a"), new RangeError("a")],
  ["ArrayBuffer", new Uint8Array([1]).buffer, new Uint8Array([2]).buffer],
  ["ArrayBuffer length", new ArrayBuffer(2), new ArrayBuffer(3)],
  ["Uint8Array", new Uint8Array([1, 2]), new Uint8Array([1, 3])],
  ["Uint16Array", new Uint16Array([1]), new Uint16Array([2])],
  ["Float64Array", new Float64Array([0.5]), new Float64Array([1.5])],
  ["typed array kind", new Uint8Array([1]), new Int8Array([1])],
  ["typed array vs array", new Uint8Array([1]), [1]],
  ["prototype", new Point(1), { x: 1 }],
  ["class field", new Point(1), new Point(2)],
  ["key-less object vs Set", {}, new Set([1])],
  ["RegExp", /a/, /b/],
  ["boxed number", Object(1), Object(2)],
  ["undefined property vs missing", { a: undefined }, {}],
  ["array vs object", [1], { 0: 1 }],
  ["number vs string", 1, "1"],
  ["-0 vs 0", -0, 0],
  ["bigint", 1n, 2n],
  ["private state (equals)", new Secret(1), new Secret(2)],
  ["nested private state (equals)", { k: [new Secret(1)] }, { k: [new Secret(2)] }],
  ["private state in a Map (equals)", new Map([[1, new Secret(1)]]), new Map([[1, new Secret(2)]])],
];

/** Pairs that must compare equal, by name. */
const SAME: [string, unknown, unknown][] = [
  ["Set", new Set([1, { a: 2 }]), new Set([1, { a: 2 }])],
  ["Map", new Map<unknown, unknown>([["k", [1]]]), new Map<unknown, unknown>([["k", [1]]])],
  ["Date", new Date(5), new Date(5)],
  ["Error", new Error("a"), new Error("a")],
  ["ArrayBuffer", new Uint8Array([7]).buffer, new Uint8Array([7]).buffer],
  ["Uint8Array view vs copy", new Uint8Array([9, 1, 2]).subarray(1), new Uint8Array([1, 2])],
  ["Float64Array", new Float64Array([0.5]), new Float64Array([0.5])],
  ["class instance", new Point(1), new Point(1)],
  ["empty objects", {}, {}],
  ["NaN", NaN, NaN],
  ["JSON-like", { a: [1, "x", null], b: { c: true } }, { a: [1, "x", null], b: { c: true } }],
  ["private state (equals)", { k: [new Secret(1)] }, { k: [new Secret(1)] }],
];

for (const [name, a, b] of DIFFERENT) {
  Deno.test(`assertEquals fails on different ${name}; assertNotEquals passes`, () => {
    const err = assertThrows(() => assertEquals(a, b, name), AssertionError, "values differ");
    assert(err.message.startsWith(`${name}: `), err.message);
    assertThrows(() => assertEquals(b, a), AssertionError);
    assertNotEquals(a, b);
  });
}

for (const [name, a, b] of SAME) {
  Deno.test(`assertEquals passes on equal ${name}; assertNotEquals fails`, () => {
    assertEquals(a, b);
    assertEquals(b, a);
    assertThrows(() => assertNotEquals(a, b), AssertionError, "values are equal");
  });
}

Deno.test("a failed assertEquals shows both sides, Sets included", () => {
  const err = assertThrows(() => assertEquals(new Set([1]), new Set([2])), AssertionError);
  assert(err.message.includes("Set(1) { 1 }") && err.message.includes("Set(1) { 2 }"), err.message);
  const bytes = assertThrows(
    () => assertEquals(new Uint8Array([0xab]), new Uint8Array([0xcd])),
    AssertionError,
  );
  assert(bytes.message.includes("Uint8Array[ab]"), bytes.message);
});

Deno.test("assertEquals refuses two instances whose state it cannot see", () => {
  const err = assertThrows(
    () => assertEquals({ key: new Sealed(1) }, { key: new Sealed(2) }),
    AssertionError,
    "cannot compare .key: two Sealed objects show no fields",
  );
  assert(err.message.includes("equals()"), err.message);
  assertThrows(() => assertEquals(new Sealed(1), new Sealed(1)), AssertionError, "cannot compare");
  const same = new Sealed(3);
  assertEquals({ a: same }, { a: same }); // one object: nothing to compare
});
