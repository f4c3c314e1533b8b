import { assert, assertEquals } from "../base/testing/assert.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { generatePrivate, publicOf, toHex } from "../key/keys.ts";
import { WG_TIMINGS } from "./constants.ts";
import { Peer } from "./peer.ts";
import { PeerTimers } from "./timers.ts";

function peerCountingTimers(): { peer: Peer; made: () => number; clock: ManualClock } {
  const privateKey = generatePrivate("node");
  const local = { privateKey, publicKey: publicOf(privateKey) };
  const theirs = publicOf(generatePrivate("node"));
  const clock = new ManualClock();
  let made = 0;
  const peer = new Peer(local, theirs, toHex(theirs), () => {
    made++;
    return new PeerTimers(clock, WG_TIMINGS, (b) => crypto.getRandomValues(b), {
      sendInitiation: () => {},
      sendKeepalive: () => {},
      flushStaged: () => {},
      zeroAll: () => {},
    });
  });
  return { peer, made: () => made, clock };
}

Deno.test("Peer makes its timers at first use, once", () => {
  const { peer, made } = peerCountingTimers();
  assertEquals(made(), 0, "a configured peer never talked to holds no timers");
  assertEquals(peer.persistentKeepaliveMs, 0, "read without making them");
  assertEquals(made(), 0);
  const t = peer.timers;
  assert(t.active);
  assertEquals(peer.timers, t, "the same timers after");
  assertEquals(made(), 1);
  t.persistentKeepaliveMs = 25_000;
  assertEquals(peer.persistentKeepaliveMs, 25_000);
});

Deno.test("Peer stopped before its timers were made gets them stopped, and they stay quiet", () => {
  const { peer, made, clock } = peerCountingTimers();
  peer.stopTimers();
  assertEquals(made(), 0, "stopping does not make them");
  // A packet still in flight after removal reaches the timers: they exist, but arm nothing.
  peer.timers.onHandshakeInitiated();
  peer.timers.onDataSent();
  assertEquals(peer.timers.active, false);
  assertEquals(peer.timers.retransmitHandshake.pending, false);
  assertEquals(peer.timers.newHandshake.pending, false);
  assertEquals(clock.pending, 0);
});
