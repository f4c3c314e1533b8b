/**
 * The one fuzz policy every fuzzer follows, and the seeded driver the codecs' fuzz tests use.
 *
 * - Rounds: {@linkcode CI_MIN_ROUNDS} or more under CI (`CI` set, not `false`/`0`), a few
 *   thousand otherwise; `FUZZ_ROUNDS` overrides both (`deno task fuzz` sets 1,000,000).
 * - Seed: drawn per run unless `FUZZ_SEED` gives one (decimal or `0x` hex); every fuzzer
 *   prints its seed with the command that replays the run, and a failure repeats it.
 * - All randomness comes from {@linkcode prng} seeded from the plan, so a seed replays.
 * - Every fuzzer must run at least one round and see at least its floor share of inputs
 *   accepted: a fuzzer that reaches no parser proves nothing, and FUZZ_ROUNDS=0 fails.
 * - Only what the fuzzed code may throw for bad input counts as a rejection; a ParseError
 *   from re-parsing our own output is a failure ({@linkcode mustNotReject}).
 * @module
 */
import { AssertionError } from "./assert.ts";
import { toHex } from "../bytes.ts";
import { ParseError } from "../errors.ts";

/** Rounds every fuzzer runs at least under CI. */
export const CI_MIN_ROUNDS = 50_000;
/** Rounds outside CI when neither the fuzzer nor FUZZ_ROUNDS says otherwise. */
export const LOCAL_ROUNDS = 3_000;
/**
 * Fewest rounds whose accepted share is checked: below it (a one-round replay, say) the share
 * is noise, so only "at least one round" holds.
 */
export const SHARE_MIN_ROUNDS = 1_000;

/** Round counts one fuzzer asks for; FUZZ_ROUNDS overrides both. */
export interface FuzzRounds {
  /** Under CI; at least {@linkcode CI_MIN_ROUNDS} (the default). */
  ci?: number;
  /** Outside CI; default {@linkcode LOCAL_ROUNDS}. */
  local?: number;
}

/** How one fuzzer runs this time: its rounds, its seed, and how to run it again. */
export interface FuzzPlan {
  /** Short name, shown in every line the fuzzer prints. */
  readonly name: string;
  /** Rounds to run. */
  readonly rounds: number;
  /** The run's seed (a 32-bit unsigned integer). */
  readonly seed: number;
  /**
   * The shell command that reruns this fuzzer.
   * @param seed default the run's seed
   * @param rounds default the run's rounds
   */
  replay(seed?: number, rounds?: number): string;
}

/** Whether the CI variable says this is a CI run. */
export function isCi(): boolean {
  const ci = Deno.env.get("CI") ?? "";
  return ci !== "" && ci !== "false" && ci !== "0";
}

function envInteger(name: string, max: number): number | undefined {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0 || n > max) {
    throw new Error(`${name}=${text}: want an integer from 0 to ${max} (decimal or 0x hex)`);
  }
  return n;
}

/** @param seed a 32-bit seed @returns it as `0x` hex, the form FUZZ_SEED takes back */
export function seedText(seed: number): string {
  return `0x${(seed >>> 0).toString(16)}`;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * Decides one fuzzer's rounds and seed from the environment and prints them with the replay
 * command: `fuzz <name>: seed=0x… rounds=N (replay: FUZZ_SEED=0x… FUZZ_ROUNDS=N deno test …)`.
 * @param t the running test: its file and name go into the replay command
 * @param name the fuzzer's short name
 * @param rounds this fuzzer's round counts
 * @returns the plan
 */
export function fuzzPlan(t: Deno.TestContext, name: string, rounds: FuzzRounds = {}): FuzzPlan {
  const ci = Math.max(rounds.ci ?? CI_MIN_ROUNDS, CI_MIN_ROUNDS);
  const count = envInteger("FUZZ_ROUNDS", Number.MAX_SAFE_INTEGER) ??
    (isCi() ? ci : rounds.local ?? LOCAL_ROUNDS);
  const seed = envInteger("FUZZ_SEED", 0xffff_ffff) ??
    crypto.getRandomValues(new Uint32Array(1))[0];
  const root = new URL("../", import.meta.url).href;
  const file = t.origin.startsWith(root) ? t.origin.slice(root.length) : t.origin;
  const plan: FuzzPlan = {
    name,
    rounds: count,
    seed,
    replay: (s = seed, r = count) =>
      `FUZZ_SEED=${seedText(s)} FUZZ_ROUNDS=${r} deno test --allow-all --unstable-net ` +
      `--filter ${shellQuote(t.name)} ${file}`,
  };
  // deno-lint-ignore no-console -- the seed line is what makes a failure replayable
  console.log(`fuzz ${name}: seed=${seedText(seed)} rounds=${count} (replay: ${plan.replay()})`);
  return plan;
}

/**
 * Fails unless the fuzzer ran at least one round and, from {@linkcode SHARE_MIN_ROUNDS}
 * rounds on, at least `minShare` of its rounds were accepted (parsed, or whatever the fuzzer
 * counts). Each fuzzer's floor is about half the share measured at 50,000 rounds.
 * @param plan the run
 * @param ran rounds actually run
 * @param accepted rounds whose input was accepted
 * @param minShare the floor, a fraction of `ran`
 * @param what what `accepted` counts, for the message
 */
export function assertFuzzShare(
  plan: FuzzPlan,
  ran: number,
  accepted: number,
  minShare: number,
  what = "accepted",
): void {
  if (ran < 1) {
    throw new AssertionError(
      `fuzz ${plan.name}: no rounds ran (FUZZ_ROUNDS=${plan.rounds}); a fuzzer must run`,
    );
  }
  if (ran >= SHARE_MIN_ROUNDS && accepted < ran * minShare) {
    throw new AssertionError(
      `fuzz ${plan.name}: only ${accepted} of ${ran} inputs ${what} ` +
        `(${(100 * accepted / ran).toFixed(2)}%, floor ${100 * minShare}%): the fuzzer no ` +
        `longer reaches what it fuzzes\n  replay: ${plan.replay()}`,
    );
  }
}

/** What a fuzz run saw. */
export interface FuzzResult {
  /** Rounds run. */
  rounds: number;
  /** Rounds whose input was accepted (the body returned true). */
  accepted: number;
  /** Wall time in ms. */
  ms: number;
}

/** How {@linkcode runRounds} runs. */
export interface RoundsOptions {
  /** Least share of rounds that must be accepted (see {@linkcode assertFuzzShare}). */
  minShare: number;
  /** What an accepted round is, for the messages; default "accepted". */
  what?: string;
  /**
   * Each round draws from its own `prng(seed + round)`, so a failing round replays alone
   * (FUZZ_SEED=seed+round, FUZZ_ROUNDS=1). Default false: one stream, so the replay runs
   * every round up to the failing one.
   */
  perRoundSeed?: boolean;
  /** Describes the failing round's input for the failure message. */
  describe?: () => string;
}

/**
 * Runs `body` for each of the plan's rounds, counts accepted rounds, turns anything thrown
 * into a failure naming the round and its replay command, prints one summary line, and
 * asserts the floor share.
 * @param plan from {@linkcode fuzzPlan}
 * @param opts the floor share and how rounds are seeded
 * @param body runs round `round`; returns true when its input was accepted
 * @returns the counts
 */
export function runRounds(
  plan: FuzzPlan,
  opts: RoundsOptions,
  body: (round: number) => boolean,
): FuzzResult {
  const t0 = performance.now();
  let accepted = 0, ran = 0;
  for (let round = 0; round < plan.rounds; round++) {
    try {
      if (body(round)) accepted++;
    } catch (err) {
      const replay = opts.perRoundSeed
        ? plan.replay((plan.seed + round) >>> 0, 1)
        : plan.replay(plan.seed, round + 1);
      const input = opts.describe ? `\n  input: ${opts.describe()}` : "";
      throw new AssertionError(
        `fuzz ${plan.name} (seed=${seedText(plan.seed)}) failed in round ${round}: ` +
          `${err instanceof Error ? err.stack : String(err)}${input}\n  replay: ${replay}`,
      );
    }
    ran++;
  }
  const ms = performance.now() - t0;
  // deno-lint-ignore no-console -- the fuzz summary is the test's report
  console.log(
    `fuzz ${plan.name}: ${ran} rounds, ${accepted} ${opts.what ?? "accepted"} ` +
      `(${ran ? (100 * accepted / ran).toFixed(1) : 0}%), ${ms.toFixed(0)} ms`,
  );
  assertFuzzShare(plan, ran, accepted, opts.minShare, opts.what);
  return { rounds: ran, accepted, ms };
}

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

/**
 * Runs the checks on our own output after a successful parse (emit, re-parse, compare), so
 * that a ParseError there fails the fuzz instead of passing as a rejection of the input.
 * @param what names the step in the failure message
 * @param fn the checks
 */
export function mustNotReject(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParseError) {
      throw new AssertionError(`${what}: re-parse of our own output failed: ${err.message}`);
    }
    throw err;
  }
}

/** What a corpus fuzz run saw. */
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

/** How {@linkcode runFuzz} runs, beyond the corpus and the body. */
export interface CorpusFuzzOptions extends FuzzRounds {
  /** Least share of inputs that must parse. */
  minShare: number;
  /** Makes an input from the corpus; default {@linkcode fuzzInput}. */
  mutate?: (seeds: readonly Uint8Array[], rnd: () => number) => Uint8Array;
}

/**
 * Runs `body` on the plan's rounds of mutated corpus inputs, round `r` drawing from
 * `prng(seed + r)`. A ParseError counts as a rejection; anything else thrown fails with the
 * round's own replay command and the input in hex. Asserts the floor share of parsed inputs.
 * @param t the running test
 * @param name shown in the summary
 * @param seeds the corpus
 * @param body parses (and round-trips) one input; returns true when it parsed
 * @param opts the floor share, round counts and mutator
 * @returns the counts
 */
export function runFuzz(
  t: Deno.TestContext,
  name: string,
  seeds: readonly Uint8Array[],
  body: (input: Uint8Array, rnd: () => number) => boolean,
  opts: CorpusFuzzOptions,
): FuzzStats {
  const plan = fuzzPlan(t, name, opts);
  const mutate = opts.mutate ?? fuzzInput;
  let rejected = 0;
  let input: Uint8Array = new Uint8Array(0);
  const result = runRounds(
    plan,
    { minShare: opts.minShare, what: "parsed", perRoundSeed: true, describe: () => toHex(input) },
    (round) => {
      const rnd = prng(plan.seed + round);
      input = mutate(seeds, rnd);
      try {
        return body(input, rnd);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        rejected++;
        return false;
      }
    },
  );
  return { rounds: result.rounds, parsed: result.accepted, rejected, ms: result.ms };
}
