/**
 * Fuzzes parseIpv4(): mutated Linux captures and random bytes (see testing/captures.ts for
 * FUZZ_ROUNDS / FUZZ_SEED). Only ParseError may escape; a parsed header must agree with the
 * hot-path accessors and survive emit + parse unchanged.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import {
  emitIpv4,
  fillIpv4Checksum,
  ipv4HeaderLen,
  ipv4IsFragment,
  ipv4Len,
  isIpv4,
  parseIpv4,
} from "./ipv4.ts";
import { ALL_CAPTURE_V4, mustNotReject, runFuzz } from "./testing/fuzz_seeds.ts";

Deno.test("parseIpv4() fuzz: only ParseError escapes; parsed headers round-trip", (t) => {
  runFuzz(
    t,
    "ipv4",
    ALL_CAPTURE_V4,
    (input, rnd) => {
      // Half the time repair the checksum so the parser gets past it to the fields.
      if (rnd() < 0.5 && input.length >= 20 && ipv4HeaderLen(input, 0) <= input.length) {
        fillIpv4Checksum(input, 0);
      }
      const h = parseIpv4(input, 0, { ignoreChecksum: rnd() < 0.25 });
      assert(isIpv4(input, 0, input.length));
      assertEquals(ipv4IsFragment(input, 0), h.moreFragments || h.fragmentOffset !== 0);
      mustNotReject("emit + parse", () => {
        const out = new Uint8Array(ipv4Len(h) + h.payloadLen);
        emitIpv4(h, out, 0);
        assertEquals(parseIpv4(out, 0), h);
      });
      return true;
    },
    { minShare: 0.2, ci: 200_000 },
  );
});
