import { assert, assertEquals } from "../base/testing/assert.ts";
import { generatePrivate, publicOf, toHex } from "../key/keys.ts";
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  deriveTransportKeys,
  Handshake,
  HandshakeState,
  INITIAL_CHAIN_KEY,
  INITIAL_HASH,
  type LocalStatic,
} from "./handshake.ts";
import { emitTai64n, tai64nAfter } from "./tai64n.ts";

function identity(): LocalStatic {
  const privateKey = generatePrivate("node");
  return { privateKey, publicKey: publicOf(privateKey) };
}

Deno.test("handshake constants: C0 and H0 as PROTOCOL.md 7.2 gives them", () => {
  assertEquals(
    toHex(INITIAL_CHAIN_KEY),
    "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36",
  );
  assertEquals(
    toHex(INITIAL_HASH),
    "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3",
  );
});

Deno.test("handshake: initiation and response give both sides matching, swapped transport keys", () => {
  const i = identity();
  const r = identity();
  const hsI = { handshake: new Handshake(i, r.publicKey) };
  const hsR = { handshake: new Handshake(r, i.publicKey) };
  const init = createInitiation(i, hsI.handshake, 0x11223344, Date.UTC(2026, 0, 1))!;
  assertEquals(init.length, 148);
  assertEquals([...init.subarray(0, 8)], [1, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]);
  assertEquals(hsI.handshake.state, HandshakeState.initiationCreated);
  const found = consumeInitiation(
    r,
    init,
    (k) => (toHex(k) === toHex(i.publicKey) ? hsR : null),
    0,
  );
  assert(found === hsR);
  assertEquals(hsR.handshake.remoteIndex, 0x11223344);
  const resp = createResponse(hsR.handshake, 0x55667788)!;
  assertEquals(resp.length, 92);
  assert(consumeResponse(i, resp, hsI.handshake));
  const kI = deriveTransportKeys(hsI.handshake)!;
  const kR = deriveTransportKeys(hsR.handshake)!;
  assertEquals(kI.send, kR.recv);
  assertEquals(kI.recv, kR.send);
  assert(kI.isInitiator && !kR.isInitiator);
  assertEquals([kI.localIndex, kI.remoteIndex], [0x11223344, 0x55667788]);
  assertEquals(hsI.handshake.state, HandshakeState.zeroed);
  assertEquals(hsI.handshake.chainKey, new Uint8Array(32), "chain key zeroed");
});

Deno.test("consumeInitiation() rejects unknown keys, replayed timestamps and floods", () => {
  const i = identity();
  const r = identity();
  const hsI = new Handshake(i, r.publicKey);
  const peer = { handshake: new Handshake(r, i.publicKey) };
  const t0 = Date.UTC(2026, 0, 1);
  const first = createInitiation(i, hsI, 1, t0)!;
  assertEquals(consumeInitiation(r, first, () => null, 0), null, "unknown key");
  assert(consumeInitiation(r, first, () => peer, 0) === peer);
  assertEquals(consumeInitiation(r, first, () => peer, 1000), null, "replayed timestamp");
  const soon = createInitiation(i, hsI, 2, t0 + 1000)!;
  assertEquals(consumeInitiation(r, soon, () => peer, 10), null, "within 20 ms of the last");
  assert(consumeInitiation(r, soon, () => peer, 1000) === peer);
  // A different responder key cannot read it.
  const other = identity();
  assertEquals(
    consumeInitiation(other, createInitiation(i, hsI, 3, t0 + 2000)!, () => peer, 5000),
    null,
  );
});

Deno.test("consumeResponse() rejects a response in the wrong state or for another index", () => {
  const i = identity();
  const r = identity();
  const hsI = new Handshake(i, r.publicKey);
  const peer = { handshake: new Handshake(r, i.publicKey) };
  const init = createInitiation(i, hsI, 7, Date.UTC(2026, 0, 1))!;
  consumeInitiation(r, init, () => peer, 0);
  const resp = createResponse(peer.handshake, 9)!;
  const wrongIndex = resp.slice();
  wrongIndex[8] ^= 1;
  assert(!consumeResponse(i, wrongIndex, hsI));
  const flipped = resp.slice();
  flipped[50] ^= 1;
  assert(!consumeResponse(i, flipped, hsI));
  assert(consumeResponse(i, resp, hsI));
  assert(!consumeResponse(i, resp, hsI), "consumed twice");
});

Deno.test("emitTai64n() writes 2^62+10+seconds and whitened nanoseconds; tai64nAfter() orders them", () => {
  const a = new Uint8Array(12);
  emitTai64n(1_000_000_123, a);
  const dv = new DataView(a.buffer);
  assertEquals(dv.getUint32(0), 0x40000000);
  assertEquals(dv.getUint32(4), 1_000_000 + 10);
  assertEquals(dv.getUint32(8), (123_000_000 & ~0xffffff) >>> 0);
  const b = new Uint8Array(12);
  emitTai64n(1_000_000_124, b);
  assert(!tai64nAfter(b, a), "same 16.8 ms window compares equal");
  emitTai64n(1_000_000_200, b);
  assert(tai64nAfter(b, a));
  assert(!tai64nAfter(a, b));
});
