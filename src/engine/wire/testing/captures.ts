/**
 * Shared by the wire codecs' tests (not shipped): the captures as bytes, the 0xa5 / offset-3
 * emit checks, and the seeded fuzz driver of `tests/fuzz.ts` (its policy: rounds, seeds,
 * floors) re-exported.
 * @module
 */

import { assertEquals } from "../../base/testing/assert.ts";
import * as CAPTURES from "./linux_captures.ts";
import { fromHex, toHex } from "../../base/bytes.ts";
import { inspectIp, newIpInfo } from "../ip.ts";

/** Every Linux capture, by name, as bytes. */
export const CAPTURE: Readonly<Record<keyof typeof CAPTURES, Uint8Array>> = Object.fromEntries(
  Object.entries(CAPTURES).map(([k, v]) => [k, fromHex(v)]),
) as Record<keyof typeof CAPTURES, Uint8Array>;

/** All captures as a list. */
export const ALL_CAPTURES: readonly Uint8Array[] = Object.values(CAPTURE);

/**
 * The upper-layer bytes of every capture carrying `protocol` (unfragmented or first fragment).
 * @param protocol IP protocol number
 * @returns transport-layer slices
 */
export function transportSeeds(protocol: number): Uint8Array[] {
  const info = newIpInfo();
  const out: Uint8Array[] = [];
  for (const c of ALL_CAPTURES) {
    if (inspectIp(c, 0, c.length, info) && info.protocol === protocol && !info.laterFragment) {
      out.push(c.slice(info.payloadOff, info.payloadEnd));
    }
  }
  return out;
}

/**
 * Checks an emitter three ways against `expected`: into a buffer pre-filled with 0xa5 (every
 * byte must be written), at offset 3 (bytes 0–2 untouched), and the returned offset.
 * @param emit writes at `off` into `out`, returns the new offset
 * @param expected the bytes it must produce
 */
export function assertEmits(
  emit: (out: Uint8Array, off: number) => number,
  expected: Uint8Array,
): void {
  const a = new Uint8Array(expected.length).fill(0xa5);
  assertEquals(emit(a, 0), expected.length, "offset returned");
  assertEquals(toHex(a), toHex(expected), "emit into 0xa5 buffer");
  const b = new Uint8Array(expected.length + 6).fill(0xa5);
  assertEquals(emit(b, 3), expected.length + 3, "offset returned at 3");
  assertEquals(toHex(b.subarray(0, 3)), "a5a5a5", "bytes before the offset");
  assertEquals(toHex(b.subarray(3, 3 + expected.length)), toHex(expected), "emit at offset 3");
  assertEquals(toHex(b.subarray(3 + expected.length)), "a5a5a5", "bytes after the end");
}

export {
  fuzzInput,
  type FuzzStats,
  mustNotReject,
  prng,
  runFuzz,
} from "../../base/testing/fuzz.ts";
