/**
 * Fuzzes parseStunResponse(): mutated real derper answers, the RFC 5769 sample and random
 * bytes. Only ParseError (StunParseError) may escape; a parsed answer has a 4- or 16-byte
 * address and a 16-bit port.
 * @module
 */
import { assert } from "../base/testing/assert.ts";
import { fromHex } from "../base/bytes.ts";
import { runFuzz } from "../base/testing/fuzz.ts";
import { parseStunResponse, stunRequest } from "./stun.ts";

const SEEDS = [
  "010100182112a442a0a1a2a3a4a5a6a7a8a9aaab002000140002ec342112a442a0a1a2a3a4a55958d7a9aaaa",
  "010100182112a442a0a1a2a3a4a5a6a7a8a9aaab002000140002a2712112a442a0a1a2a3a4a5a6a7a8a9aaaa",
  "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220" +
  "002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7" +
  "80280004c07d4c96",
  "0101000c2112a442a0a1a2a3a4a5a6a7a8a9aaab00010008000112340a010203",
].map(fromHex).concat([stunRequest(new Uint8Array(12))]);

Deno.test("parseStunResponse() fuzz: only ParseError escapes; answers are well formed", (t) => {
  runFuzz(
    t,
    "stun",
    SEEDS,
    (input) => {
      const r = parseStunResponse(input);
      assert(r.ip.length === 4 || r.ip.length === 16, "address length");
      assert(r.port >= 0 && r.port <= 0xffff, "port range");
      assert(r.txid.length === 12, "txid length");
      return true;
    },
    { minShare: 0.1 },
  );
});
