/**
 * Seeded fuzz of the stream codecs under ts2021: records (splitter and open), the early payload
 * stripper and the map-frame splitter, fed headscale's captured bytes with random flips,
 * truncations and chunkings. Only ParseError may escape. One fuzzer per codec; rounds and
 * seed follow tests/fuzz.ts.
 * @module
 */
import { RecordCipher, RecordSplitter } from "./noise_records.ts";
import { EarlyPayloadStripper } from "./early_payload.ts";
import { emitMapFrame, mapFrameLen, MapFrameSplitter } from "./map_frames.ts";
import { ParseError } from "../base/errors.ts";
import { fromHex } from "../key/keys.ts";
import { fuzzPlan, prng, runRounds } from "../base/testing/fuzz.ts";
import { NOISE_SESSION } from "../crypto/testing/noise_session.ts";

const session = NOISE_SESSION;

function mutateBytes(b: Uint8Array, rnd: () => number): Uint8Array {
  const out = b.slice(0, rnd() < 0.2 ? Math.floor(rnd() * b.length) : b.length);
  const flips = Math.floor(rnd() * 4);
  for (let i = 0; i < flips && out.length > 0; i++) {
    out[Math.floor(rnd() * out.length)] ^= 1 << Math.floor(rnd() * 8);
  }
  return out;
}

function* chunks(b: Uint8Array, rnd: () => number): Generator<Uint8Array> {
  for (let i = 0; i < b.length;) {
    const n = 1 + Math.floor(rnd() * 64);
    yield b.subarray(i, i + n);
    i += n;
  }
}

/**
 * Runs one codec's fuzzer: each round feeds `body` a fresh PRNG; a ParseError is a rejected
 * input, and a round that ends without one is accepted.
 */
function fuzzCodec(
  t: Deno.TestContext,
  name: string,
  minShare: number,
  ciRounds: number,
  body: (rnd: () => number) => void,
): void {
  const plan = fuzzPlan(t, name, { ci: ciRounds });
  runRounds(plan, { minShare, perRoundSeed: true }, (round) => {
    try {
      body(prng(plan.seed + round));
      return true;
    } catch (err) {
      if (err instanceof ParseError) return false;
      throw err;
    }
  });
}

const wire = fromHex(session.serverRecords.join(""));
const plain = fromHex(session.serverPlaintexts.join(""));
const mapBody = new TextEncoder().encode('{"KeepAlive":true}');
const mapWire = new Uint8Array(2 * mapFrameLen(mapBody.length));
emitMapFrame(mapBody, mapWire, emitMapFrame(mapBody, mapWire, 0));

Deno.test("ts2021 record splitter and cipher fuzz: mutated headscale records give ParseError or plaintext", (t) => {
  fuzzCodec(t, "noise_records", 0.15, 100_000, (rnd) => {
    const split = new RecordSplitter();
    const rx = new RecordCipher(fromHex(session.receiveKey));
    for (const c of chunks(mutateBytes(wire, rnd), rnd)) {
      split.push(c);
      for (let r = split.next(); r !== null; r = split.next()) rx.open(r);
    }
  });
});

Deno.test("ts2021 early payload stripper fuzz: mutated headscale plaintext gives ParseError or passes", (t) => {
  fuzzCodec(t, "early_payload", 0.5, 200_000, (rnd) => {
    const s = new EarlyPayloadStripper();
    for (const c of chunks(mutateBytes(plain, rnd), rnd)) s.push(c);
  });
});

Deno.test("ts2021 map frame splitter fuzz: mutated frames give ParseError or frames", (t) => {
  fuzzCodec(t, "map_frames", 0.5, 200_000, (rnd) => {
    const s = new MapFrameSplitter(1 << 16);
    for (const c of chunks(mutateBytes(mapWire, rnd), rnd)) {
      s.push(c);
      while (s.next() !== null) { /* drain */ }
    }
  });
});
