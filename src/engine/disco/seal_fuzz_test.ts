/**
 * Fuzzes the sealed disco packet as it comes off the wire, through {@linkcode DiscoSealer.open}:
 * nothing may escape (it answers null), and a mutated packet never opens as from the peer.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { runFuzz } from "../base/testing/fuzz.ts";
import { generatePrivate } from "../key/keys.ts";
import { DISCO_SENDER_AT, type DiscoMessage } from "../wire/disco_messages.ts";
import { DiscoSealer } from "./seal.ts";

const MESSAGES: DiscoMessage[] = [
  {
    type: "ping",
    txid: new Uint8Array(12).fill(1),
    nodeKey: new Uint8Array(32).fill(2),
    padding: 0,
  },
  { type: "pong", txid: new Uint8Array(12).fill(6), src: { ip: "192.0.2.7", port: 41641 } },
  { type: "call-me-maybe", endpoints: [{ ip: "198.51.100.1", port: 41641 }] },
];

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
