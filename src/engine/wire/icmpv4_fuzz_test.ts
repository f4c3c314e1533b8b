/**
 * Fuzzes parseIcmpv4(): mutated captured echo and port-unreachable messages and random bytes.
 * Only ParseError may escape; a parsed message must survive emit + parse (checksum verified).
 * @module
 */
import { assertEquals } from "../base/testing/assert.ts";
import { emitIcmpv4, fillIcmpv4Checksum, icmpv4Len, parseIcmpv4 } from "./icmpv4.ts";
import { ICMPV4_SEEDS, mustNotReject, runFuzz } from "./testing/fuzz_seeds.ts";

Deno.test("parseIcmpv4() fuzz: only ParseError escapes; messages round-trip", (t) => {
  runFuzz(
    t,
    "icmpv4",
    ICMPV4_SEEDS,
    (input, rnd) => {
      if (rnd() < 0.5 && input.length >= 8) fillIcmpv4Checksum(input, 0, input.length);
      const m = parseIcmpv4(input, 0, input.length, { ignoreChecksum: rnd() < 0.25 });
      mustNotReject("emit + parse", () => {
        const out = new Uint8Array(icmpv4Len(m));
        emitIcmpv4(m, out, 0);
        assertEquals(parseIcmpv4(out, 0, out.length), m);
      });
      return true;
    },
    { minShare: 0.3, ci: 200_000 },
  );
});
