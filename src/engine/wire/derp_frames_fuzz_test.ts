/**
 * Fuzzes the DERP frame codec: mutated derper captures and random bytes. Only ParseError may
 * escape parseFrame(), and every parsed frame must survive encode and parse unchanged.
 * FUZZ_ROUNDS sets the number of rounds (default 5000); FUZZ_SEED the starting seed.
 * @module
 */
import { assertEquals, AssertionError } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import { fromHex } from "../key/keys.ts";
import { encodeFrame, FRAME_TYPE, parseFrame } from "./derp_frames.ts";
import { DERPER_CAPTURES } from "./testing/derp_frames_captures.ts";
import { prng } from "../base/testing/fuzz.ts";

const ROUNDS = Number(Deno.env.get("FUZZ_ROUNDS") ?? "5000");
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? "20261125");

const seeds = Object.values(DERPER_CAPTURES).map(fromHex);
const types = Object.values(FRAME_TYPE);

/** One fuzz input for `round`: a capture mutated a few ways, or random bytes. */
export function fuzzInput(round: number): Uint8Array {
  const rnd = prng(SEED + round);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = int(10);
  if (pick === 0) {
    const out = new Uint8Array(int(200));
    for (let i = 0; i < out.length; i++) out[i] = int(256);
    return out;
  }
  let b = seeds[int(seeds.length)].slice();
  const edits = 1 + int(4);
  for (let e = 0; e < edits; e++) {
    switch (int(7)) {
      case 0: // flip a byte
        if (b.length > 0) b[int(b.length)] ^= 1 + int(255);
        break;
      case 1: // truncate
        b = b.slice(0, int(b.length + 1));
        break;
      case 2: { // append junk
        const extra = new Uint8Array(int(40));
        for (let i = 0; i < extra.length; i++) extra[i] = int(256);
        const n = new Uint8Array(b.length + extra.length);
        n.set(b);
        n.set(extra, b.length);
        b = n;
        break;
      }
      case 3: // another (maybe unknown) type
        if (b.length > 0) b[0] = rnd() < 0.7 ? types[int(types.length)] : int(256);
        break;
      case 4: // lie about the length, keeping it consistent with the buffer half the time
        if (b.length >= 5) {
          const len = rnd() < 0.5 ? b.length - 5 : int(rnd() < 0.9 ? 300 : 0x7fffffff);
          new DataView(b.buffer, b.byteOffset).setUint32(1, len);
        }
        break;
      case 5: // make the length match the buffer
        if (b.length >= 5) new DataView(b.buffer, b.byteOffset).setUint32(1, b.length - 5);
        break;
      default: // small body for a random type
        b = new Uint8Array(5 + int(12));
        b[0] = types[int(types.length)];
        b[4] = b.length - 5;
    }
  }
  return b;
}

Deno.test(`parseFrame() survives ${ROUNDS} fuzz rounds (seed ${SEED}); parsed frames round-trip`, () => {
  const t0 = performance.now();
  let parsed = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const input = fuzzInput(r);
    let f;
    try {
      f = parseFrame(input);
    } catch (err) {
      if (err instanceof ParseError) continue;
      throw new AssertionError(`round ${r} (seed ${SEED + r}): ${err} for input ${input.join()}`);
    }
    parsed++;
    try {
      assertEquals(parseFrame(encodeFrame(f)), f);
    } catch (err) {
      throw new AssertionError(`round ${r} (seed ${SEED + r}) did not round-trip: ${err}`);
    }
  }
  const ms = performance.now() - t0;
  if (ROUNDS >= 100_000) {
    // deno-lint-ignore no-console -- the one line a long fuzz run is for
    console.log(`derp_frames fuzz: ${ROUNDS} rounds, ${parsed} parsed, ${ms.toFixed(0)} ms`);
  }
  // Guard against a fuzzer that only ever produces garbage.
  if (ROUNDS >= 1000 && parsed < ROUNDS / 20) {
    throw new AssertionError(`only ${parsed} of ${ROUNDS} inputs parsed: the mutator is too harsh`);
  }
});
