/**
 * Fuzzes the disco layer a peer (or anyone who can reach our UDP port) feeds us: the inner
 * message parser on mutated pings, pongs and call-me-maybes, and the sealed packet as it comes
 * off the wire, through {@linkcode DiscoSealer.open}. Only ParseError may escape the parser,
 * nothing may escape open() (it answers null), and what parses re-emits to the same message.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { runFuzz } from "../base/testing/fuzz.ts";
import { generatePrivate } from "../key/keys.ts";
import { DiscoSealer } from "../disco/seal.ts";
import {
  DISCO_SENDER_AT,
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

Deno.test("DiscoSealer.open() fuzz: mutated sealed packets never throw, and never open", (t) => {
  const ours = new DiscoSealer(generatePrivate("disco"));
  const peer = new DiscoSealer(generatePrivate("disco"));
  const sealed = MESSAGES.map((m) => peer.seal(ours.publicKey, m));
  const originals = new Set(sealed.map((s) => s.join()));
  runFuzz(
    t,
    "disco_sealed",
    sealed,
    (input) => {
      const got = ours.open(input);
      if (got === null) return false;
      // Poly1305 lets through only the packets the peer sealed, byte for byte.
      // Poly1305 lets through only the packets the peer sealed, byte for byte, except one bit:
      // X25519 ignores the top bit of the sender's key, so that flipped opens too (in Go as
      // well), under a sender key no peer has, which magicsock drops as from no peer.
      const flipped = input.slice();
      flipped[DISCO_SENDER_AT + 31] ^= 0x80;
      if (!originals.has(input.join())) {
        assert(originals.has(flipped.join()), "a mutated packet opened");
        assert(got.sender.join() !== peer.publicKey.join(), "under another key");
        return true;
      }
      assertEquals(got.sender, peer.publicKey);
      return true;
    },
    { minShare: 0 },
  );
  for (const packet of sealed) assertEquals(ours.open(packet)?.sender, peer.publicKey);
});
