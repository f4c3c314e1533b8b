/**
 * The few assertions the tests use. JSR's @std/assert is not reachable here, so these are
 * written out; each throws an `AssertionError` with both sides in the message.
 * @module
 */

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

/** Asserts deep equality (structural, for JSON-like values and byte arrays). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!deepEqual(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values differ\n  actual:   ${show(actual)}\n  expected: ${
        show(expected)
      }`,
    );
  }
}

/** Asserts deep inequality. */
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
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
  } catch {
    return String(v);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
    return true;
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) {
      return false;
    }
  }
  return true;
}
