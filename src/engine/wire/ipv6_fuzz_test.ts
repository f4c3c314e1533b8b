/**
 * Fuzzes parseIpv6() and walkIpv6(): mutated Linux captures (hop-by-hop, destination options,
 * fragments) and random bytes. Only ParseError may escape; the walk must agree with the parse,
 * and a parsed chain must survive emit + parse unchanged.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { emitIpv6, ipv6Len, newIpv6Upper, parseIpv6, walkIpv6 } from "./ipv6.ts";
import { ALL_CAPTURE_V6, mustNotReject, runFuzz } from "./testing/fuzz_seeds.ts";

Deno.test("parseIpv6() fuzz: only ParseError escapes; walk agrees; chains round-trip", (t) => {
  const up = newIpv6Upper();
  runFuzz(
    t,
    "ipv6",
    ALL_CAPTURE_V6,
    (input) => {
      const walked = walkIpv6(input, 0, input.length, up);
      let h;
      try {
        h = parseIpv6(input, 0);
      } catch (err) {
        assert(!walked, "walkIpv6 accepted what parseIpv6 rejected");
        throw err;
      }
      assert(walked, "walkIpv6 rejected what parseIpv6 accepted");
      assertEquals(up.protocol, h.protocol);
      assertEquals(up.payloadOff, ipv6Len(h));
      assertEquals(up.payloadEnd - up.payloadOff, h.payloadLen);
      assertEquals(up.fragment, h.extensions.some((e) => e.type === "fragment"));
      mustNotReject("emit + parse", () => {
        const out = new Uint8Array(ipv6Len(h) + h.payloadLen);
        emitIpv6(h, out, 0);
        assertEquals(parseIpv6(out, 0), h);
      });
      return true;
    },
    { minShare: 0.2, ci: 200_000 },
  );
});
