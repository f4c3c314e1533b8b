/**
 * Seeded fuzz of the stream codecs under ts2021: records (splitter and open), the early payload
 * stripper and the map-frame splitter, fed headscale's captured bytes with random flips,
 * truncations and chunkings. Only ParseError may escape. Rounds: FUZZ_ROUNDS (default 2000);
 * seed: FUZZ_SEED.
 */
import { RecordCipher, RecordSplitter } from "./noise_records.ts";
import { EarlyPayloadStripper } from "./early_payload.ts";
import { emitMapFrame, mapFrameLen, MapFrameSplitter } from "./map_frames.ts";
import { ParseError } from "../base/errors.ts";
import { fromHex } from "../key/keys.ts";
import { prng } from "../base/testing/fuzz.ts";
import { NOISE_SESSION as session } from "../crypto/testing/noise_session.ts";

const ROUNDS = Number(Deno.env.get("FUZZ_ROUNDS") ?? 2000);
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 0x5eed);

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

function onlyParseErrors(round: number, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParseError) return;
    throw new Error(`round ${round} (seed ${SEED}): ${err instanceof Error ? err.stack : err}`);
  }
}

const wire = fromHex(session.serverRecords.join(""));
const plain = fromHex(session.serverPlaintexts.join(""));
const mapBody = new TextEncoder().encode('{"KeepAlive":true}');
const mapWire = new Uint8Array(2 * mapFrameLen(mapBody.length));
emitMapFrame(mapBody, mapWire, emitMapFrame(mapBody, mapWire, 0));

Deno.test(`ts2021 stream codecs reject mutated headscale bytes only with ParseError (seed ${SEED})`, () => {
  const rnd = prng(SEED);
  for (let round = 0; round < ROUNDS; round++) {
    onlyParseErrors(round, () => {
      const split = new RecordSplitter();
      const rx = new RecordCipher(fromHex(session.receiveKey));
      for (const c of chunks(mutateBytes(wire, rnd), rnd)) {
        split.push(c);
        for (let r = split.next(); r !== null; r = split.next()) rx.open(r);
      }
    });
    onlyParseErrors(round, () => {
      const s = new EarlyPayloadStripper();
      for (const c of chunks(mutateBytes(plain, rnd), rnd)) s.push(c);
    });
    onlyParseErrors(round, () => {
      const s = new MapFrameSplitter(1 << 16);
      for (const c of chunks(mutateBytes(mapWire, rnd), rnd)) {
        s.push(c);
        while (s.next() !== null) { /* drain */ }
      }
    });
  }
});
