/**
 * Fuzzes the address text parsers with mutated address strings and random characters. Only
 * ParseError may escape; a parsed address must format and parse back to the same bytes, and
 * prefix parsing must agree with prefixContains on its own address.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { toHex } from "../base/bytes.ts";
import {
  formatIpAddr,
  formatIpPrefix,
  parseIpAddr,
  parseIpPrefix,
  prefixContains,
} from "./ip_addr.ts";
import { mustNotReject, runFuzz } from "./testing/fuzz_seeds.ts";

const enc = new TextEncoder();
const SEEDS = [
  "100.64.0.1",
  "fd7a:115c:a1e0::1",
  "::ffff:10.1.2.3",
  "2001:db8:0:0:1:0:0:1",
  "::",
  "fe80::1/64",
  "100.64.0.0/10",
  "1:2:3:4:5:6:7:8",
].map((s) => enc.encode(s));

Deno.test("parseIpAddr()/parseIpPrefix() fuzz: only ParseError escapes; text round-trips", (t) => {
  runFuzz(
    t,
    "ip_addr",
    SEEDS,
    (input) => {
      const text = String.fromCharCode(...input);
      if (text.includes("/")) {
        const p = parseIpPrefix(text);
        assert(prefixContains(p, p.addr));
        mustNotReject("format + parse", () => {
          const back = parseIpPrefix(formatIpPrefix(p));
          assertEquals([toHex(back.addr), back.bits], [toHex(p.addr), p.bits]);
        });
        return true;
      }
      const a = parseIpAddr(text);
      mustNotReject("format + parse", () => {
        assertEquals(toHex(parseIpAddr(formatIpAddr(a))), toHex(a));
      });
      return true;
    },
    { minShare: 0.03, ci: 200_000 },
  );
});
