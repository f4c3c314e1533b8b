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
import { runFuzz, tryEachParser } from "./testing/fuzz.ts";

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

Deno.test("SOCKS5 parsers fuzz: only ParseError escapes; messages round-trip", () => {
  const stats = runFuzz("socks5", SEEDS, (input) =>
    tryEachParser("socks5", [
      () => {
        const p = parseGreeting(input, 0);
        if (p !== null) roundTrip(p.value, greetingLen, emitGreeting, parseGreeting);
        return p !== null;
      },
      () => {
        const p = parseUserPass(input, 0);
        if (p === null) return false;
        const v = { username: p.value.username.slice(), password: p.value.password.slice() };
        roundTrip(v, userPassLen, emitUserPass, parseUserPass);
        return true;
      },
      () => {
        const p = parseRequest(input, 0);
        if (p !== null) roundTrip(p.value, requestLen, emitRequest, parseRequest);
        return p !== null;
      },
      () => {
        const p = parseReply(input, 0);
        if (p !== null) roundTrip(p.value, replyLen, emitReply, parseReply);
        return p !== null;
      },
      () => {
        const p = parseUdpHeader(input, 0);
        assert(p.end <= input.length);
        roundTrip(p.value, udpHeaderLen, emitUdpHeader, (b, o) => parseUdpHeader(b, o));
        return true;
      },
    ]));
  assert(stats.parsed > stats.rounds / 20, "too few inputs parsed for the fuzz to mean much");
});
