/**
 * Fuzzes parseTcp(): mutated captured segments (every option Linux sends) and random bytes.
 * Only ParseError may escape; the accessors must agree with the parse, and a parsed segment
 * must survive emit (checksum filled) + parse (checksum verified) unchanged.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { emitTcp, isTcp, parseTcp, tcpFindMss, tcpLen, tcpSegmentLen, tcpSeqLen } from "./tcp.ts";
import { mustNotReject, runFuzz, TCP_SEEDS } from "./testing/fuzz_seeds.ts";

const PH4 = { src: new Uint8Array([10, 99, 0, 1]), dst: new Uint8Array([10, 99, 0, 2]) };
const PH6 = { src: new Uint8Array(16).fill(0xfd), dst: new Uint8Array(16).fill(2) };

Deno.test("parseTcp() fuzz: only ParseError escapes; segments round-trip with checksums", (t) => {
  runFuzz(
    t,
    "tcp",
    TCP_SEEDS,
    (input, rnd) => {
      const ph = rnd() < 0.5 ? PH4 : PH6;
      const s = parseTcp(input, 0, input.length, rnd() < 0.1 ? ph : undefined);
      assert(isTcp(input, 0, input.length));
      assertEquals(tcpSegmentLen(input, 0, input.length), tcpSeqLen(s));
      const mss = s.options.find((o) => o.kind === "mss");
      assertEquals(tcpFindMss(input, 0), mss && mss.kind === "mss" ? mss.mss : -1);
      mustNotReject("emit + parse", () => {
        const out = new Uint8Array(tcpLen(s));
        emitTcp(s, out, 0, ph);
        assertEquals(parseTcp(out, 0, out.length, ph), s);
      });
      return true;
    },
    { minShare: 0.15, ci: 200_000 },
  );
});
