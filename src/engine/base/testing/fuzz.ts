/**
 * The seeded fuzz driver every codec's fuzz test uses: a small PRNG, mutations of a seed
 * corpus (bit flips, byte sets, truncation, extension, splices), and a runner where only
 * ParseError may escape a parser.
 *
 * Knobs (environment): `FUZZ_ROUNDS` rounds per parser (default 3000), `FUZZ_SEED` the first
 * seed (default 20261125). Round `r` uses seed `FUZZ_SEED + r`, so a failure message's seed
 * replays exactly with `FUZZ_SEED=<seed> FUZZ_ROUNDS=1`.
 * @module
 */
import { AssertionError } from "./assert.ts";
import { toHex } from "../bytes.ts";
import { ParseError } from "../errors.ts";

/** Rounds per fuzz test. */
export const FUZZ_ROUNDS = Number(Deno.env.get("FUZZ_ROUNDS") ?? "3000");
/** Seed of round 0. */
export const FUZZ_SEED = Number(Deno.env.get("FUZZ_SEED") ?? "20261125");

/**
 * mulberry32: a small seeded PRNG.
 * @param seed any integer
 * @returns a function giving floats in [0, 1)
 */
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

const BOUNDARY = [
  0x00,
  0x01,
  0x02,
  0x04,
  0x05,
  0x06,
  0x0f,
  0x10,
  0x3f,
  0x40,
  0x45,
  0x60,
  0x7f,
  0x80,
  0xfe,
  0xff,
];

/**
 * One fuzz input: random bytes (1 in 8), or a seed mutated one to four times (flip, set to a
 * boundary value, truncate, extend, insert, delete, splice another seed).
 * @param seeds the corpus
 * @param rnd the round's PRNG
 * @returns a new array
 */
export function fuzzInput(seeds: readonly Uint8Array[], rnd: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rnd() * n);
  if (int(8) === 0) {
    const out = new Uint8Array(int(120));
    for (let i = 0; i < out.length; i++) out[i] = int(256);
    return out;
  }
  let b = seeds[int(seeds.length)].slice();
  const edits = 1 + int(4);
  for (let e = 0; e < edits; e++) {
    const at = int(b.length + 1);
    switch (int(7)) {
      case 0:
        if (b.length > 0) b[int(b.length)] ^= 1 << int(8);
        break;
      case 1:
        if (b.length > 0) b[int(b.length)] = BOUNDARY[int(BOUNDARY.length)];
        break;
      case 2:
        b = b.slice(0, at);
        break;
      case 3: {
        const n = new Uint8Array(b.length + 1 + int(16));
        n.set(b);
        for (let i = b.length; i < n.length; i++) n[i] = int(256);
        b = n;
        break;
      }
      case 4: {
        const n = new Uint8Array(b.length + 1);
        n.set(b.subarray(0, at));
        n[at] = int(256);
        n.set(b.subarray(at), at + 1);
        b = n;
        break;
      }
      case 5:
        if (at < b.length) b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1)]);
        break;
      case 6: {
        const other = seeds[int(seeds.length)];
        const from = int(other.length + 1);
        const len = Math.min(other.length - from, b.length - Math.min(at, b.length));
        if (len > 0) b.set(other.subarray(from, from + len), at);
        break;
      }
    }
  }
  return b;
}

/** What a fuzz run saw. */
export interface FuzzStats {
  /** Rounds run. */
  rounds: number;
  /** Rounds whose input parsed (the body returned true). */
  parsed: number;
  /** Rounds that ended in a ParseError. */
  rejected: number;
  /** Wall time in ms. */
  ms: number;
}

/**
 * Runs `body` on FUZZ_ROUNDS inputs. A ParseError counts as a rejection; anything else thrown
 * fails with the round's seed and the input in hex. Prints one summary line.
 * @param name shown in the summary
 * @param seeds the corpus
 * @param body parses (and round-trips) one input; returns true when it parsed
 * @param mutate makes an input from the corpus; default {@linkcode fuzzInput}
 * @returns the counts
 */
export function runFuzz(
  name: string,
  seeds: readonly Uint8Array[],
  body: (input: Uint8Array, rnd: () => number) => boolean,
  mutate: (seeds: readonly Uint8Array[], rnd: () => number) => Uint8Array = fuzzInput,
): FuzzStats {
  const t0 = performance.now();
  let parsed = 0, rejected = 0;
  for (let r = 0; r < FUZZ_ROUNDS; r++) {
    const seed = FUZZ_SEED + r;
    const rnd = prng(seed);
    const input = mutate(seeds, rnd);
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
    `fuzz ${name}: ${FUZZ_ROUNDS} rounds, ${parsed} parsed, ${rejected} ParseError, ` +
      `${ms.toFixed(0)} ms`,
  );
  return { rounds: FUZZ_ROUNDS, parsed, rejected, ms };
}
