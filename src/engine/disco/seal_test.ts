import { assert, assertEquals } from "../base/testing/assert.ts";
import { generatePrivate } from "../key/keys.ts";
import { DiscoSealer } from "./seal.ts";

Deno.test("DiscoSealer.seal() then open() on the peer gives the sender and message back", () => {
  const a = new DiscoSealer(generatePrivate("disco"));
  const b = new DiscoSealer(generatePrivate("disco"));
  const txid = crypto.getRandomValues(new Uint8Array(12));
  const packet = a.seal(b.publicKey, {
    type: "ping",
    txid,
    nodeKey: new Uint8Array(32).fill(7),
    padding: 0,
  });
  assertEquals(packet.length, 124); // PROTOCOL.md 5.1: a ping without padding is 124 bytes
  const opened = b.open(packet);
  assert(opened !== null);
  assertEquals(opened.sender, a.publicKey);
  assertEquals(opened.message, {
    type: "ping",
    txid,
    nodeKey: new Uint8Array(32).fill(7),
    padding: 0,
  });
});

Deno.test("DiscoSealer.open() drops a flipped bit, a wrong recipient and non-disco bytes", () => {
  const a = new DiscoSealer(generatePrivate("disco"));
  const b = new DiscoSealer(generatePrivate("disco"));
  const c = new DiscoSealer(generatePrivate("disco"));
  const packet = a.seal(b.publicKey, { type: "call-me-maybe", endpoints: [] });
  const flipped = packet.slice();
  flipped[flipped.length - 1] ^= 1;
  assertEquals(b.open(flipped), null);
  assertEquals(c.open(packet), null);
  assertEquals(b.open(new Uint8Array(100)), null);
});
