/**
 * Fuzzes the DERP frame codec: mutated derper captures and random bytes. Only ParseError may
 * escape parseFrame(), and every parsed frame must survive encode and parse unchanged. Rounds
 * and seed follow tests/fuzz.ts.
 * @module
 */
import { assertEquals } from "../base/testing/assert.ts";
import { fromHex } from "../key/keys.ts";
import { encodeFrame, FRAME_TYPE, parseFrame } from "./derp_frames.ts";
import { DERPER_CAPTURES } from "./testing/derp_frames_captures.ts";
import { mustNotReject, runFuzz } from "../base/testing/fuzz.ts";

const SEEDS = Object.values(DERPER_CAPTURES).map(fromHex);
const types = Object.values(FRAME_TYPE);

/** One fuzz input: a capture mutated a few ways (types and lengths too), or random bytes. */
function frameInput(seeds: readonly Uint8Array[], rnd: () => number): Uint8Array {
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

Deno.test("parseFrame() fuzz: only ParseError escapes; parsed frames round-trip", (t) => {
  runFuzz(t, "derp_frames", SEEDS, (input) => {
    const f = parseFrame(input);
    mustNotReject("encode + parse", () => assertEquals(parseFrame(encodeFrame(f)), f));
    return true;
  }, { minShare: 0.2, ci: 200_000, mutate: frameInput });
});
