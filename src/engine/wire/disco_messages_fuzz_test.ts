/**
 * Fuzzes the inner disco message parser on mutated pings, pongs and call-me-maybes: only
 * ParseError may escape, and what parses re-emits to the same message. The sealed packet as it
 * comes off the wire is fuzzed beside `disco/seal.ts`.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { runFuzz } from "../base/testing/fuzz.ts";
import {
  type DiscoMessage,
  discoMessageLen,
  emitDiscoMessage,
  parseDiscoMessage,
} from "./disco_messages.ts";

const MESSAGES: DiscoMessage[] = [
  {
    type: "ping",
    txid: new Uint8Array(12).fill(1),
    nodeKey: new Uint8Array(32).fill(2),
    padding: 0,
  },
  {
    type: "ping",
    txid: new Uint8Array(12).fill(3),
    nodeKey: new Uint8Array(32).fill(4),
    padding: 9,
  },
  { type: "ping", txid: new Uint8Array(12).fill(5), nodeKey: null, padding: 0 },
  { type: "pong", txid: new Uint8Array(12).fill(6), src: { ip: "192.0.2.7", port: 41641 } },
  { type: "pong", txid: new Uint8Array(12).fill(7), src: { ip: "2001:db8::7", port: 3478 } },
  {
    type: "call-me-maybe",
    endpoints: [{ ip: "198.51.100.1", port: 41641 }, { ip: "2001:db8::1", port: 41642 }],
  },
  { type: "call-me-maybe", endpoints: [] },
];

function emit(m: DiscoMessage): Uint8Array {
  const out = new Uint8Array(discoMessageLen(m));
  emitDiscoMessage(m, out, 0);
  return out;
}

Deno.test("parseDiscoMessage() fuzz: only ParseError escapes; what parses re-emits the same", (t) => {
  runFuzz(
    t,
    "disco_message",
    MESSAGES.map(emit),
    (input) => {
      const m = parseDiscoMessage(input);
      if (m.type === "unknown") return true;
      assertEquals(parseDiscoMessage(emit(m)), m);
      if (m.type === "pong") assert(m.src.port >= 0 && m.src.port <= 0xffff, "port range");
      return true;
    },
    { minShare: 0.1 },
  );
});
