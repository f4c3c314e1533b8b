import { assertEquals, assertThrows } from "../base/testing/assert.ts";
import { EarlyPayloadStripper, parseEarlyNoise } from "./early_payload.ts";
import { fromHex, toHex } from "../key/keys.ts";
import { ParseError } from "../base/errors.ts";
import { NOISE_SESSION as session } from "../crypto/testing/noise_session.ts";

const [magic, len, json, settings] = session.serverPlaintexts.map(fromHex);

Deno.test("EarlyPayloadStripper strips headscale's three-record early payload", () => {
  const s = new EarlyPayloadStripper();
  assertEquals(s.push(magic).length, 0);
  assertEquals(s.done, false);
  assertEquals(s.push(len).length, 0);
  assertEquals(s.push(json).length, 0);
  assertEquals(s.done, true);
  assertEquals(s.earlyNoise?.nodeKeyChallenge.startsWith("chalpub:"), true);
  assertEquals(toHex(s.push(settings)), toHex(settings));
});

Deno.test("EarlyPayloadStripper works byte by byte and with trailing HTTP/2 bytes in one chunk", () => {
  const all = new Uint8Array([...magic, ...len, ...json, ...settings]);
  const one = new EarlyPayloadStripper();
  assertEquals(toHex(one.push(all)), toHex(settings));
  const s = new EarlyPayloadStripper();
  const out: number[] = [];
  for (const b of all) out.push(...s.push(new Uint8Array([b])));
  assertEquals(out, [...settings]);
  assertEquals(s.earlyNoise?.nodeKeyChallenge, one.earlyNoise?.nodeKeyChallenge);
});

Deno.test("EarlyPayloadStripper passes an HTTP/2 stream without early payload through", () => {
  const s = new EarlyPayloadStripper();
  assertEquals(toHex(s.push(settings.subarray(0, 2))), toHex(settings.subarray(0, 2)));
  assertEquals(s.done, true);
  assertEquals(s.earlyNoise, null);
  // A prefix of the magic that then differs is also passed through, all of it.
  const t = new EarlyPayloadStripper();
  assertEquals(t.push(new Uint8Array([0xff, 0xff])).length, 0);
  assertEquals([...t.push(new Uint8Array([0x00]))], [0xff, 0xff, 0x00]);
});

Deno.test("EarlyPayloadStripper rejects an over-long or non-JSON payload", () => {
  const big = new Uint8Array([0xff, 0xff, 0xff, 0x54, 0x53, 0x7f, 0, 0, 0]);
  assertThrows(() => new EarlyPayloadStripper().push(big), ParseError, "exceeds");
  assertThrows(() => parseEarlyNoise(new TextEncoder().encode("[1]")), ParseError);
  assertThrows(() => parseEarlyNoise(new TextEncoder().encode("{")), ParseError);
});
