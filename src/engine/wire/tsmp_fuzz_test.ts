/**
 * Fuzzes parseTsmp(): mutated bodies of every TSMP type and random bytes. Only ParseError may
 * escape; a parsed message must survive emit + parse unchanged.
 * @module
 */
import { assertEquals } from "../base/testing/assert.ts";
import { emitTsmp, parseTsmp, tsmpLen, type TsmpMessage } from "./tsmp.ts";
import { mustNotReject, runFuzz } from "./testing/fuzz_seeds.ts";

const SEED_MESSAGES: TsmpMessage[] = [
  { type: "ping", data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
  { type: "pong", data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), peerApiPort: 0x1234 },
  { type: "reject", proto: 6, reason: 0x41, srcPort: 567, dstPort: 443, maybeBroken: false },
  { type: "reject", proto: 17, reason: 0x53, srcPort: 567, dstPort: 443, maybeBroken: true },
  { type: "disco-advert", key: new Uint8Array(32).fill(0x61) },
];
const SEEDS = SEED_MESSAGES.map((m) => {
  const b = new Uint8Array(tsmpLen(m));
  emitTsmp(m, b, 0);
  return b;
});

Deno.test("parseTsmp() fuzz: only ParseError escapes; messages round-trip", (t) => {
  runFuzz(
    t,
    "tsmp",
    SEEDS,
    (input) => {
      const m = parseTsmp(input, 0, input.length);
      mustNotReject("emit + parse", () => {
        const out = new Uint8Array(tsmpLen(m));
        emitTsmp(m, out, 0);
        assertEquals(parseTsmp(out, 0, out.length), m);
      });
      return true;
    },
    { minShare: 0.4, ci: 200_000 },
  );
});
