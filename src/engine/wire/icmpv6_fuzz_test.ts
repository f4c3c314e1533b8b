/**
 * Fuzzes parseIcmpv6(): mutated captured echo, port-unreachable, MLD and neighbour-discovery
 * messages and random bytes. Only ParseError may escape; a parsed message must survive emit
 * (checksum filled over the pseudo-header) + parse (checksum verified) unchanged.
 * @module
 */
import { assertEquals } from "../base/testing/assert.ts";
import { emitIcmpv6, icmpv6Len, parseIcmpv6 } from "./icmpv6.ts";
import { ICMPV6_SEEDS, mustNotReject, runFuzz } from "./testing/fuzz_seeds.ts";

const PH = { src: new Uint8Array(16).fill(0xfd), dst: new Uint8Array(16).fill(2) };

Deno.test("parseIcmpv6() fuzz: only ParseError escapes; messages round-trip", (t) => {
  runFuzz(
    t,
    "icmpv6",
    ICMPV6_SEEDS,
    (input, rnd) => {
      const m = parseIcmpv6(input, 0, input.length, rnd() < 0.1 ? PH : undefined);
      mustNotReject("emit + parse", () => {
        const out = new Uint8Array(icmpv6Len(m));
        emitIcmpv6(m, out, 0, PH);
        assertEquals(parseIcmpv6(out, 0, out.length, PH), m);
      });
      return true;
    },
    { minShare: 0.4, ci: 200_000 },
  );
});
