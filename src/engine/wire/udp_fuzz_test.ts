/**
 * Fuzzes parseUdp(): mutated captured datagrams and random bytes. Only ParseError may escape;
 * a parsed datagram must survive emit (checksum filled) + parse (checksum verified) unchanged.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { emitUdp, isUdp, parseUdp, udpLen } from "./udp.ts";
import { mustNotReject, runFuzz, UDP_SEEDS } from "./testing/fuzz_seeds.ts";

const PH4 = { src: new Uint8Array([10, 99, 0, 1]), dst: new Uint8Array([10, 99, 0, 2]) };
const PH6 = { src: new Uint8Array(16).fill(0xfd), dst: new Uint8Array(16).fill(2) };

Deno.test("parseUdp() fuzz: only ParseError escapes; datagrams round-trip with checksums", (t) => {
  runFuzz(
    t,
    "udp",
    UDP_SEEDS,
    (input, rnd) => {
      const ph = rnd() < 0.5 ? PH4 : PH6;
      const d = parseUdp(input, 0, input.length, rnd() < 0.1 ? ph : undefined);
      assert(isUdp(input, 0, input.length));
      mustNotReject("emit + parse", () => {
        const out = new Uint8Array(udpLen(d));
        emitUdp(d, out, 0, ph);
        assertEquals(parseUdp(out, 0, out.length, ph), d);
      });
      return true;
    },
    { minShare: 0.1, ci: 200_000 },
  );
});
