/**
 * The few assertions the tests use. JSR's @std/assert is not reachable here, so these are
 * written out; each throws an `AssertionError` with both sides in the message. Equality is
 * Node's strict deep equality (`node:util` isDeepStrictEqual, the algorithm behind
 * `node:assert`'s deepStrictEqual): prototypes, Sets, Maps, Dates, Errors, ArrayBuffers and
 * typed arrays are compared by content, never assumed equal. Class instances that keep their
 * state in private fields show no fields to compare, so two of them are compared with their
 * own `equals()` method, or the assertion fails saying it cannot compare them.
 * @module
 */
import { isDeepStrictEqual } from "node:util";

/** Thrown by a failed assertion. */
export class AssertionError extends Error {
  /** @param message what differed */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** Asserts `cond` is truthy. @param cond value @param msg message on failure */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

/**
 * Asserts strict deep equality: same prototypes, same own enumerable properties, same
 * Set/Map entries, Date times, Error names and messages, and buffer bytes.
 */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!deepEqual(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values differ\n  actual:   ${show(actual)}\n  expected: ${
        show(expected)
      }`,
    );
  }
}

/** Asserts strict deep inequality (see {@linkcode assertEquals}). */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (deepEqual(actual, expected)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}values are equal: ${show(actual)}`);
  }
}

/** Asserts `text` matches `re`. */
export function assertMatch(text: string, re: RegExp, msg?: string): void {
  if (!re.test(text)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}${show(text)} does not match ${re}`);
  }
}

/** Asserts `fn` throws, optionally an instance of `cls` whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  cls?: abstract new (...args: any[]) => Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (err) {
    checkError(err, cls, includes);
    return err as Error;
  }
  throw new AssertionError("expected a throw");
}

/** Async twin of {@linkcode assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  cls?: abstract new (...args: any[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    checkError(err, cls, includes);
    return err as Error;
  }
  throw new AssertionError("expected a rejection");
}

function checkError(
  err: unknown,
  // deno-lint-ignore no-explicit-any
  cls?: abstract new (...args: any[]) => Error,
  includes?: string,
): void {
  if (cls && !(err instanceof cls)) {
    throw new AssertionError(`expected ${cls.name}, got ${show(err)}`);
  }
  if (includes && !(err instanceof Error && err.message.includes(includes))) {
    throw new AssertionError(
      `error message ${show((err as Error)?.message)} lacks ${show(includes)}`,
    );
  }
}

function show(v: unknown): string {
  if (v instanceof Uint8Array) {
    return `Uint8Array[${[...v].map((b) => b.toString(16).padStart(2, "0")).join("")}]`;
  }
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  // Deno.inspect shows what JSON cannot: Sets, Maps, Dates, class names, undefined, bigint.
  return Deno.inspect(v, { depth: 8, compact: true, breakLength: Infinity, sorted: true });
}

/** Builtins whose contents live in internal slots that isDeepStrictEqual reads. */
const SLOTTED: readonly (abstract new (...args: never[]) => unknown)[] = [
  Date,
  RegExp,
  Map,
  Set,
  WeakMap,
  WeakSet,
  ArrayBuffer,
  DataView,
  Error,
  Promise,
  URL,
  Headers,
  Number,
  String,
  Boolean,
];

/** A class instance whose state deep equality cannot see: no own enumerable keys. */
function isOpaque(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  if (proto === null || proto === Object.prototype || Array.isArray(v)) return false;
  if (ArrayBuffer.isView(v) || SLOTTED.some((c) => v instanceof c)) return false;
  return Object.keys(v).length === 0 &&
    !Object.getOwnPropertySymbols(v).some((k) => Object.prototype.propertyIsEnumerable.call(v, k));
}

type Equatable = { equals(other: unknown): boolean };

/**
 * Walks `a` and `b` side by side (object keys, array items, Map values) and compares every
 * pair of opaque instances with their `equals()`.
 * @returns false when a pair differs
 * @throws {AssertionError} when a pair has no `equals()`
 */
function opaqueEqual(a: unknown, b: unknown, path: string, depth: number): boolean {
  if (a === b || depth > 64) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return true;
  if (isOpaque(a) && isOpaque(b)) {
    if (typeof (a as Partial<Equatable>).equals === "function") return (a as Equatable).equals(b);
    const name = a.constructor?.name ?? "class";
    throw new AssertionError(
      `cannot compare ${path || "the values"}: two ${name} objects show no fields (their ` +
        `state is private); compare their fields, or give the class an equals()`,
    );
  }
  if (a instanceof Map && b instanceof Map) {
    for (const [k, v] of a) {
      if (b.has(k) && !opaqueEqual(v, b.get(k), `${path}.get(${String(k)})`, depth + 1)) {
        return false;
      }
    }
    return true;
  }
  if (ArrayBuffer.isView(a) || SLOTTED.some((c) => a instanceof c)) return true;
  const rb = b as Record<string, unknown>;
  for (const [k, v] of Object.entries(a)) {
    if (!opaqueEqual(v, rb[k], `${path}.${k}`, depth + 1)) return false;
  }
  return true;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b) && opaqueEqual(a, b, "", 0);
}
