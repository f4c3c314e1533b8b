/**
 * The proxy folder's fuzz inputs (byte-level edits suited to protocol heads), run by the shared
 * driver of `base/testing/fuzz.ts`. Knobs (environment): `FUZZ_ROUNDS` rounds per parser
 * (default 3000), `FUZZ_SEED` the first seed (default 20261125). Round `r` uses seed
 * `FUZZ_SEED + r`, so a failure's seed replays with `FUZZ_SEED=<seed> FUZZ_ROUNDS=1`.
 * Test-only.
 * @module
 */
import { type FuzzStats, runFuzz as runSharedFuzz } from "../../base/testing/fuzz.ts";
import { ParseError } from "../../base/errors.ts";

export { FUZZ_ROUNDS, FUZZ_SEED, type FuzzStats, prng } from "../../base/testing/fuzz.ts";

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
 * Runs `body` FUZZ_ROUNDS times on {@linkcode fuzzInput}s; only ParseError may escape it.
 * @param name for the summary @param seeds corpus
 * @param body returns true when the input parsed to a value
 * @returns the counts
 */
export function runFuzz(
  name: string,
  seeds: readonly Uint8Array[],
  body: (input: Uint8Array, rnd: () => number) => boolean,
): FuzzStats {
  return runSharedFuzz(name, seeds, body, fuzzInput);
}

/**
 * Gives one input to every parser check, so that a ParseError from one does not spare the
 * others.
 * @param format names the ParseError thrown when every check rejected the input
 * @param checks each returns true when its parser gave a value; a ParseError is a rejection
 * @returns whether any check parsed the input
 * @throws {ParseError} when none parsed and at least one rejected; whatever else a check threw
 */
export function tryEachParser(format: string, checks: readonly (() => boolean)[]): boolean {
  let parsed = false, rejected = false;
  for (const check of checks) {
    try {
      parsed = check() || parsed;
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      rejected = true;
    }
  }
  if (!parsed && rejected) throw new ParseError(format, "every parser rejected it");
  return parsed;
}
