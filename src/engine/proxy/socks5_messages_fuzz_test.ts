/**
 * Fuzzes the SOCKS5 parsers with mutated curl captures: only ParseError may escape; a parsed
 * message must survive emit and parse unchanged; a truncated one gives null, never a throw
 * of another kind.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import {
  emitGreeting,
  emitReply,
  emitRequest,
  emitUdpHeader,
  emitUserPass,
  greetingLen,
  parseGreeting,
  parseReply,
  parseRequest,
  parseUdpHeader,
  parseUserPass,
  replyLen,
  requestLen,
  udpHeaderLen,
  userPassLen,
} from "./socks5_messages.ts";
import { hex } from "./testing/loopback.ts";
import { parserCheck, runFuzz, tryEachParser } from "./testing/fuzz.ts";

const SEEDS = [
  hex("05020001"),
  hex("0503000102"),
  hex("05010003107473312e7461696c6e65742e746573741f90"),
  hex("050100017f0000011f90"),
  hex("05010004fd7a115ca1e0000000000000000000011f90"),
  hex("0105616c69636506733363726574"),
  hex("05050001000000000000"),
  hex("000000016440000200356869"),
  hex("0000000303747331000768656c6c6f"),
];

function roundTrip<T>(
  v: T,
  len: (v: T) => number,
  emit: (v: T, out: Uint8Array, off: number) => number,
  parse: (b: Uint8Array, off: number) => { value: T; end: number } | null,
): void {
  const out = new Uint8Array(len(v) + 2).fill(0xa5);
  const end = emit(v, out, 2);
  assertEquals(end, out.length);
  assertEquals(parse(out, 2)!.value, v);
}

Deno.test("SOCKS5 parsers fuzz: only ParseError escapes; messages round-trip", (t) => {
  runFuzz(t, "socks5", SEEDS, (input) =>
    tryEachParser("socks5", [
      parserCheck("greeting", () => parseGreeting(input, 0)?.value ?? null, (v) => {
        roundTrip(v, greetingLen, emitGreeting, parseGreeting);
      }),
      parserCheck("user/pass", () => parseUserPass(input, 0)?.value ?? null, (v) => {
        const copy = { username: v.username.slice(), password: v.password.slice() };
        roundTrip(copy, userPassLen, emitUserPass, parseUserPass);
      }),
      parserCheck("request", () => parseRequest(input, 0)?.value ?? null, (v) => {
        roundTrip(v, requestLen, emitRequest, parseRequest);
      }),
      parserCheck("reply", () => parseReply(input, 0)?.value ?? null, (v) => {
        roundTrip(v, replyLen, emitReply, parseReply);
      }),
      parserCheck("UDP header", () => {
        const p = parseUdpHeader(input, 0);
        assert(p.end <= input.length);
        return p.value;
      }, (v) => {
        roundTrip(v, udpHeaderLen, emitUdpHeader, (b, o) => parseUdpHeader(b, o));
      }),
    ]), { minShare: 0.2, ci: 100_000 });
});
