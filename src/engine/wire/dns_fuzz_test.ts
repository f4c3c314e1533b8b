/**
 * Fuzzes parseDnsMessage(): mutated tailscaled answers and queries (and compressed forms of
 * them). Only ParseError may escape; a parsed message must survive emit (compressed and not)
 * and parse unchanged. `FUZZ_ROUNDS=1000000` runs the million rounds the issue asks for.
 * @module
 */
import { assertEquals } from "../base/testing/assert.ts";
import { runFuzz } from "../base/testing/fuzz.ts";
import { dnsQuery, emitDnsMessage, parseDnsMessage } from "./dns.ts";
import {
  TAILSCALED_1102,
  TAILSCALED_198,
  TAILSCALED_UPSTREAM_QUERY,
} from "./testing/dns_captures.ts";

const captures = [...TAILSCALED_198, ...TAILSCALED_1102].map((c) => c.bytes);
// Compressed forms too, so pointers get mutated: each answer with a second record.
const compressed = captures.map((b) => {
  const m = parseDnsMessage(b);
  m.answers.push(...m.answers, ...m.authorities);
  return emitDnsMessage(m);
});
const SEEDS = [
  ...captures,
  ...compressed,
  TAILSCALED_UPSTREAM_QUERY,
  dnsQuery(0x1234, "peer.tailnet.test", 28),
  dnsQuery(7, "2.0.64.100.in-addr.arpa", 12),
];

Deno.test("parseDnsMessage() fuzz: only ParseError escapes; parsed messages round-trip", (t) => {
  runFuzz(
    t,
    "dns",
    SEEDS,
    (input) => {
      const m = parseDnsMessage(input);
      assertEquals(parseDnsMessage(emitDnsMessage(m)), m, "compressed round trip");
      assertEquals(parseDnsMessage(emitDnsMessage(m, { compress: false })), m, "plain round trip");
      return true;
    },
    { minShare: 0.05 },
  );
});
