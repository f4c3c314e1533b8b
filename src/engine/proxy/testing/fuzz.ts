/**
 * The proxy folder's fuzz inputs (byte-level edits suited to protocol heads), run by the shared
 * driver and policy of `tests/fuzz.ts` (rounds, seed, replay, floor share). Test-only.
 * @module
 */
import {
  type CorpusFuzzOptions,
  type FuzzStats,
  mustNotReject,
  runFuzz as runSharedFuzz,
} from "../../base/testing/fuzz.ts";
import { ParseError } from "../../base/errors.ts";

export { type FuzzStats, prng } from "../../base/testing/fuzz.ts";

/** A mutated seed (flips, inserts, deletes, truncation, splices) or random bytes. */
export function fuzzInput(seeds: readonly Uint8Array[], rnd: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rnd() * n);
  if (int(10) === 0) return Uint8Array.from({ length: int(80) }, () => int(256));
  let b = Array.from(seeds[int(seeds.length)]);
  const edits = 1 + int(4);
  for (let e = 0; e < edits; e++) {
    switch (int(6)) {
      case 0:
        if (b.length) b[int(b.length)] = int(256);
        break;
      case 1:
        if (b.length) b[int(b.length)] ^= 1 << int(8);
        break;
      case 2:
        b.splice(int(b.length + 1), 0, int(256));
        break;
      case 3:
        if (b.length) b.splice(int(b.length), 1 + int(4));
        break;
      case 4:
        b = b.slice(0, int(b.length + 1));
        break;
      default: {
        const other = seeds[int(seeds.length)];
        const at = int(other.length + 1);
        b.splice(int(b.length + 1), 0, ...other.subarray(at, at + int(16)));
      }
    }
  }
  return Uint8Array.from(b);
}

/**
 * Runs `body` on the plan's rounds of {@linkcode fuzzInput}s; only ParseError may escape it.
 * @param t the running test
 * @param name for the summary
 * @param seeds corpus
 * @param body returns true when the input parsed to a value
 * @param opts the floor share of parsed inputs, round counts
 * @returns the counts
 */
export function runFuzz(
  t: Deno.TestContext,
  name: string,
  seeds: readonly Uint8Array[],
  body: (input: Uint8Array, rnd: () => number) => boolean,
  opts: Omit<CorpusFuzzOptions, "mutate">,
): FuzzStats {
  return runSharedFuzz(t, name, seeds, body, { ...opts, mutate: fuzzInput });
}

/**
 * One parser under {@linkcode tryEachParser}: `parse` may reject the input with a ParseError;
 * `verify` checks what it parsed (our own output re-parsed, for one), where a ParseError is a
 * failure, not a rejection.
 */
export interface ParserCheck {
  /** Runs both steps. @returns true when the parser gave a value */
  run(): boolean;
}

/**
 * Pairs a parse with the checks of its value.
 * @param what names the parser in a failure
 * @param parse parses the input; null means incomplete; a ParseError is a rejection
 * @param verify checks the value (round trip, accessors); any throw is a failure
 * @returns the check for {@linkcode tryEachParser}
 */
export function parserCheck<T>(
  what: string,
  parse: () => T | null,
  verify: (value: T) => void,
): ParserCheck {
  return {
    run() {
      const value = parse();
      if (value === null) return false;
      mustNotReject(what, () => verify(value));
      return true;
    },
  };
}

/**
 * Gives one input to every parser check, so that a ParseError from one does not spare the
 * others. Only a parse step may reject; a ParseError while verifying a parsed value (say,
 * re-parsing our own output) fails the fuzz.
 * @param format names the ParseError thrown when every check rejected the input
 * @param checks from {@linkcode parserCheck}
 * @returns whether any check parsed the input
 * @throws {ParseError} when none parsed and at least one rejected; whatever else a check threw
 */
export function tryEachParser(format: string, checks: readonly ParserCheck[]): boolean {
  let parsed = false, rejected = false;
  for (const check of checks) {
    try {
      parsed = check.run() || parsed;
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      rejected = true;
    }
  }
  if (!parsed && rejected) throw new ParseError(format, "every parser rejected it");
  return parsed;
}
