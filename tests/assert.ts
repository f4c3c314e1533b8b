/**
 * The few assertions the tests use. JSR's @std/assert is not reachable here, so these are
 * written out; each throws an `AssertionError` with both sides in the message. Equality is
 * Node's strict deep equality (`node:util` isDeepStrictEqual, the algorithm behind
 * `node:assert`'s deepStrictEqual): prototypes, Sets, Maps, Dates, Errors, ArrayBuffers and
 * typed arrays are compared by content, never assumed equal.
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

function deepEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}
