/**
 * The proxy folder's fuzz driver. Knobs (environment): `FUZZ_ROUNDS` rounds per parser
 * (default 3000), `FUZZ_SEED` the first seed (default 20261125). Round `r` uses seed
 * `FUZZ_SEED + r`, so a failure's seed replays with `FUZZ_SEED=<seed> FUZZ_ROUNDS=1`.
 * Test-only.
 * @module
 */
import { AssertionError } from "../../../tests/assert.ts";
import { ParseError } from "../base/errors.ts";
import { toHex } from "./_test_util.ts";

/** Rounds per fuzz test. */
export const FUZZ_ROUNDS = Number(Deno.env.get("FUZZ_ROUNDS") ?? "3000");
/** Seed of round 0. */
export const FUZZ_SEED = Number(Deno.env.get("FUZZ_SEED") ?? "20261125");

/** mulberry32. @param seed any integer @returns floats in [0, 1) */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

/** Counts of one fuzz run. */
export interface FuzzStats {
  /** Rounds run. */
  rounds: number;
  /** Inputs that gave a value. */
  parsed: number;
  /** Inputs rejected with ParseError. */
  rejected: number;
  /** Wall time. */
  ms: number;
}

/**
 * Runs `body` FUZZ_ROUNDS times; only ParseError may escape it. Prints one summary line.
 * @param name for the summary @param seeds corpus
 * @param body returns true when the input parsed to a value
 * @returns the counts
 */
export function runFuzz(
  name: string,
  seeds: readonly Uint8Array[],
  body: (input: Uint8Array, rnd: () => number) => boolean,
): FuzzStats {
  const t0 = performance.now();
  let parsed = 0, rejected = 0;
  for (let r = 0; r < FUZZ_ROUNDS; r++) {
    const seed = FUZZ_SEED + r;
    const rnd = prng(seed);
    const input = fuzzInput(seeds, rnd);
    try {
      if (body(input, rnd)) parsed++;
    } catch (err) {
      if (err instanceof ParseError) {
        rejected++;
        continue;
      }
      throw new AssertionError(
        `${name}: seed ${seed} threw ${err instanceof Error ? err.stack : String(err)}\n` +
          `input ${toHex(input)}`,
      );
    }
  }
  const ms = performance.now() - t0;
  // deno-lint-ignore no-console -- the fuzz summary is the test's report
  console.log(
    `fuzz ${name}: ${FUZZ_ROUNDS} rounds, ${parsed} parsed, ${rejected} ParseError, ${
      ms.toFixed(0)
    } ms`,
  );
  return { rounds: FUZZ_ROUNDS, parsed, rejected, ms };
}
