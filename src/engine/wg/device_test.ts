import { assert, assertEquals } from "../base/testing/assert.ts";
import { toHex } from "../key/keys.ts";
import { settle } from "./testing/memory_bind.ts";
import { advance, ipv4, ipv6, makePair, typeOf } from "./testing/device_pair.ts";
import { INITIATION_LEN, MSG_COOKIE_REPLY, MSG_INITIATION, MSG_TRANSPORT } from "./messages.ts";
import {
  KEEPALIVE_TIMEOUT_MS,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_TIME_MS,
  REKEY_TIMEOUT_JITTER_MAX_MS,
  REKEY_TIMEOUT_MS,
} from "./constants.ts";

const KEEPALIVE_LEN = 32;

// ---- Handshake and transport ----

Deno.test("Device completes a handshake over the memory bind and carries packets both ways", async () => {
  const p = makePair();
  try {
    const out = ipv4("10.0.0.1", "10.0.0.2", 100);
    assert(p.a.sendPacket(out));
    await settle();
    assertEquals(p.gotB.length, 1);
    assertEquals(p.gotB[0], out);
    const back = ipv4("10.0.0.2", "10.0.0.1", 1300);
    assert(p.b.sendPacket(back));
    await settle();
    assertEquals(p.gotA, [back]);
    const sa = p.a.peer(p.b.publicKey)!.stats;
    const sb = p.b.peer(p.a.publicKey)!.stats;
    assertEquals(sa.handshakes, 1);
    assertEquals(sb.handshakes, 1);
    assertEquals(sa.initiationsSent, 1);
    assertEquals(sb.initiationsSent, 0);
    assertEquals(sa.txPackets, 1);
    assertEquals(sb.rxPackets, 1);
    assert(sa.lastHandshakeWallMs > 0);
    // Padding: 120-byte packet goes out as 16 + 128 + 16.
    const data = p.net.log.filter((d) => d.from === "a" && typeOf(d.data) === MSG_TRANSPORT);
    assertEquals(data[0].data.length, 16 + 128 + 16);
    assertEquals(sa.txBytes, INITIATION_LEN + 160);
    assertEquals(Object.values(p.a.drops).reduce((x, y) => x + y), 0);
    assertEquals(Object.values(p.b.drops).reduce((x, y) => x + y), 0);
  } finally {
    await p.close();
  }
});

Deno.test("Device carries IPv6 packets and routes by longest prefix", async () => {
  const p = makePair();
  try {
    p.a.setPeer({ publicKey: p.b.publicKey, allowedIps: ["10.0.0.2/32", "fd7a:115c::/48"] });
    p.b.setPeer({ publicKey: p.a.publicKey, allowedIps: ["10.0.0.1/32", "fd7a:115c:1::1/128"] });
    const pkt = ipv6("fd7a:115c:1::1", "fd7a:115c::2", 64);
    assert(p.a.sendPacket(pkt));
    await settle();
    assertEquals(p.gotB, [pkt]);
    assert(!p.a.sendPacket(ipv6("fd7a:115c:1::1", "fd7b::2")), "no route for fd7b::2");
    assertEquals(p.a.drops.noRoute, 1);
  } finally {
    await p.close();
  }
});

Deno.test("Device seals in place in a caller's buffer with head and tail room", async () => {
  const p = makePair();
  try {
    const pkt = ipv4("10.0.0.1", "10.0.0.2", 37);
    const buf = new Uint8Array(16 + pkt.length + 16 + 16).fill(0xa5);
    buf.set(pkt, 16);
    assert(p.a.send(buf, 16, pkt.length));
    await settle();
    assertEquals(p.gotB, [pkt]);
    const sent = p.net.log.filter((d) => d.from === "a" && typeOf(d.data) === MSG_TRANSPORT)[0];
    // The datagram is the buffer's bytes: header in front, ciphertext where the packet was.
    assertEquals(sent.data, buf.subarray(0, 16 + 64 + 16));
  } finally {
    await p.close();
  }
});

// ---- Drops ----

Deno.test("Device drops and counts replayed and bit-flipped transport packets", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    const data = p.net.log.find((d) => d.from === "a" && typeOf(d.data) === MSG_TRANSPORT)!.data;
    const from = p.bindA.local;
    p.b.receiveDatagram(data.slice(), from);
    assertEquals(p.b.drops.replay, 1);
    const body = data.slice();
    body[40] ^= 1;
    p.b.receiveDatagram(body, from);
    const counter = data.slice();
    counter[8] ^= 0x10;
    p.b.receiveDatagram(counter, from);
    assertEquals(p.b.drops.badMac, 2);
    const index = data.slice();
    index[4] ^= 0xff;
    p.b.receiveDatagram(index, from);
    assertEquals(p.b.drops.unknownIndex, 1);
    p.b.receiveDatagram(data.subarray(0, 31), from);
    const type = data.slice();
    type[1] = 1;
    p.b.receiveDatagram(type, from);
    assertEquals(p.b.drops.malformed, 2);
    assertEquals(p.gotB.length, 1);
  } finally {
    await p.close();
  }
});

Deno.test("Device drops an initiation with a wrong MAC1 and does not answer it", async () => {
  const p = makePair();
  try {
    p.net.tap = () => false; // capture only
    p.a.initiateHandshake(p.b.publicKey);
    await settle();
    const init = p.net.log[0].data;
    assertEquals(typeOf(init), MSG_INITIATION);
    p.net.tap = null;
    const sentBefore = p.bindB.sent;
    for (const at of [0 + 4, 120, 131]) {
      const bad = init.slice();
      bad[at] ^= 1;
      p.b.receiveDatagram(bad, p.bindA.local);
    }
    await settle();
    assertEquals(p.b.drops.badMac, 3);
    assertEquals(p.bindB.sent, sentBefore);
    // The untouched one is answered.
    p.b.receiveDatagram(init, p.bindA.local);
    await settle();
    assertEquals(p.bindB.sent, sentBefore + 1);
  } finally {
    await p.close();
  }
});

Deno.test("Device drops inner packets whose source is outside the peer's allowed IPs", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.99", "10.0.0.2"));
    await settle();
    assertEquals(p.gotB.length, 0);
    assertEquals(p.b.drops.badAllowedIp, 1);
  } finally {
    await p.close();
  }
});

Deno.test("Device.setPeer() updates allowed IPs in place without dropping the session", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    p.b.setPeer({ publicKey: p.a.publicKey, allowedIps: ["10.0.0.1/32", "10.9.0.0/16"] });
    p.a.setPeer({ publicKey: p.b.publicKey, allowedIps: ["10.0.0.0/24"] });
    p.a.sendPacket(ipv4("10.9.1.1", "10.0.0.2"));
    await settle();
    assertEquals(p.gotB.length, 2);
    assertEquals(p.a.peer(p.b.publicKey)!.stats.handshakes, 1);
    assertEquals(p.b.peer(p.a.publicKey)!.allowedIps, ["10.0.0.1/32", "10.9.0.0/16"]);
  } finally {
    await p.close();
  }
});

// ---- Timers (manual clock) ----

Deno.test("timers: the initiator rekeys after REKEY_AFTER_TIME and in-flight packets on the previous keypair still open", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    // Keep a packet sealed with the first keypair from reaching b for now.
    let held: Uint8Array | null = null;
    p.net.tap = (d) => {
      if (
        held === null && d.from === "a" && typeOf(d.data) === MSG_TRANSPORT && d.data.length > 32
      ) {
        held = d.data;
        return false;
      }
      return true;
    };
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2", 1));
    await advance(p.clock, REKEY_AFTER_TIME_MS - 1000);
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2", 2));
    await settle();
    assertEquals(p.a.peer(p.b.publicKey)!.stats.initiationsSent, 1, "no rekey before 120 s");
    await advance(p.clock, 2000);
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2", 3));
    await settle();
    const sa = p.a.peer(p.b.publicKey)!.stats;
    assertEquals(sa.initiationsSent, 2, "rekey after 120 s");
    assertEquals(sa.handshakes, 2);
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2", 4)); // first on the new keypair: b confirms it
    await settle();
    assertEquals(p.b.peer(p.a.publicKey)!.stats.handshakes, 2);
    assert(held !== null);
    p.b.receiveDatagram(held, p.bindA.local);
    assertEquals(p.gotB.map((x) => x.length - 20), [20, 2, 3, 4, 1]);
    assertEquals(p.b.drops.noSession + p.b.drops.unknownIndex, 0);
  } finally {
    await p.close();
  }
});

Deno.test("timers: a passive keepalive follows received data after KEEPALIVE_TIMEOUT", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    const start = p.clock.now();
    const keepalives: number[] = [];
    p.net.tap = (d) => {
      if (d.from === "b" && d.data.length === KEEPALIVE_LEN) keepalives.push(p.clock.now() - start);
      return true;
    };
    await advance(p.clock, KEEPALIVE_TIMEOUT_MS - 1);
    assertEquals(keepalives, []);
    await advance(p.clock, 1);
    assertEquals(keepalives, [KEEPALIVE_TIMEOUT_MS]);
    // No data from b and no data to b since: no more keepalives, and a starts no handshake.
    await advance(p.clock, 60_000);
    assertEquals(keepalives.length, 1);
    assertEquals(p.a.peer(p.b.publicKey)!.stats.initiationsSent, 1);
  } finally {
    await p.close();
  }
});

Deno.test("timers: a new handshake starts KEEPALIVE+REKEY_TIMEOUT after data sent without reply", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    p.net.tap = (d) => d.from !== "b"; // b goes silent
    const t0 = p.clock.now();
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await advance(p.clock, KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS - 1);
    assertEquals(p.a.peer(p.b.publicKey)!.stats.initiationsSent, 1);
    await advance(p.clock, REKEY_TIMEOUT_JITTER_MAX_MS + 1);
    assertEquals(p.a.peer(p.b.publicKey)!.stats.initiationsSent, 2);
    assert(
      p.clock.now() - t0 <= KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS + REKEY_TIMEOUT_JITTER_MAX_MS,
    );
  } finally {
    await p.close();
  }
});

Deno.test("timers: after REJECT_AFTER_TIME a keypair neither sends nor receives", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    p.net.tap = () => false; // partition: no rekey can complete
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2", 5));
    await settle();
    const late = p.net.log.at(-1)!.data;
    assertEquals(typeOf(late), MSG_TRANSPORT);
    await advance(p.clock, REJECT_AFTER_TIME_MS);
    const before = p.net.log.length;
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2", 6));
    await settle();
    const after = p.net.log.slice(before).map((d) => typeOf(d.data));
    assert(!after.includes(MSG_TRANSPORT), "sent data on an expired keypair");
    assertEquals(p.a.peer(p.b.publicKey)!.staged, 1);
    p.b.receiveDatagram(late, p.bindA.local);
    assertEquals(p.b.drops.noSession, 1);
  } finally {
    await p.close();
  }
});

Deno.test("timers: initiations are retried every REKEY_TIMEOUT plus jitter, then given up", async () => {
  const p = makePair();
  try {
    const times: number[] = [];
    p.net.tap = (d) => {
      if (typeOf(d.data) === MSG_INITIATION) times.push(p.clock.now());
      return false; // b never hears
    };
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await advance(p.clock, 200_000);
    assertEquals(times.length, 20, "1 + 19 retries (MaxTimerHandshakes + 2)");
    for (let i = 1; i < times.length; i++) {
      const gap = times[i] - times[i - 1];
      assert(
        gap >= REKEY_TIMEOUT_MS && gap < REKEY_TIMEOUT_MS + REKEY_TIMEOUT_JITTER_MAX_MS,
        `gap ${gap}`,
      );
    }
    const gaps = new Set(times.slice(1).map((t, i) => t - times[i]));
    assert(gaps.size > 1, "no jitter");
    assertEquals(p.a.peer(p.b.publicKey)!.staged, 0, "staged packets flushed on give-up");
  } finally {
    await p.close();
  }
});

Deno.test("timers: key material is zeroed 3 x REJECT_AFTER_TIME after the last session", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    p.net.tap = () => false;
    await advance(p.clock, 3 * REJECT_AFTER_TIME_MS - 1000);
    assert(p.a.peer(p.b.publicKey)!.hasSession);
    assert(p.b.peer(p.a.publicKey)!.hasSession);
    await advance(p.clock, 2000);
    assert(!p.a.peer(p.b.publicKey)!.hasSession);
    assert(!p.b.peer(p.a.publicKey)!.hasSession);
  } finally {
    await p.close();
  }
});

Deno.test("timers: persistent keepalive sends every interval of silence", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    const keepalives: number[] = [];
    p.net.tap = (d) => {
      if (d.from === "a" && d.data.length === KEEPALIVE_LEN) keepalives.push(p.clock.now());
      return true;
    };
    const t0 = p.clock.now();
    p.a.setPeer({ publicKey: p.b.publicKey, persistentKeepaliveSec: 25 });
    await advance(p.clock, 100_000);
    // b's passive keepalive at 10 s (it received data at 0) is traffic too: the interval
    // restarts from it, so a's next keepalive is at 35 s, then every 25 s of silence.
    assertEquals(keepalives.map((t) => t - t0), [0, 35_000, 60_000, 85_000]);
  } finally {
    await p.close();
  }
});

Deno.test("timers: the initiator rekeys on receive shortly before REJECT_AFTER_TIME", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    // Only b sends data from now on; a answers with keepalives.
    await advance(p.clock, REJECT_AFTER_TIME_MS - KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS + 1);
    assertEquals(p.a.peer(p.b.publicKey)!.stats.initiationsSent, 1);
    p.b.sendPacket(ipv4("10.0.0.2", "10.0.0.1"));
    await settle();
    assertEquals(p.a.peer(p.b.publicKey)!.stats.initiationsSent, 2);
    assertEquals(p.a.peer(p.b.publicKey)!.stats.handshakes, 2);
  } finally {
    await p.close();
  }
});

// ---- Cookies under load ----

Deno.test("Device under load answers with a cookie reply and the initiator retries with MAC2", async () => {
  const p = makePair({}, { underLoad: () => true });
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    const types = p.net.log.map((d) => `${d.from}:${typeOf(d.data)}`);
    assertEquals(types, [`a:${MSG_INITIATION}`, `b:${MSG_COOKIE_REPLY}`]);
    assertEquals(p.b.drops.cookieRequired, 1);
    assertEquals(p.a.peer(p.b.publicKey)!.stats.cookiesReceived, 1);
    assertEquals(p.net.log[0].data.subarray(132), new Uint8Array(16), "first mac2 is zero");
    await advance(p.clock, REKEY_TIMEOUT_MS + REKEY_TIMEOUT_JITTER_MAX_MS);
    const retry = p.net.log.filter((d) => typeOf(d.data) === MSG_INITIATION)[1].data;
    assert(retry.subarray(132).some((x) => x !== 0), "retry carries mac2");
    assertEquals(p.gotB.length, 1);
    assertEquals(p.b.drops.cookieRequired, 1);
  } finally {
    await p.close();
  }
});

Deno.test("Device detects load from a flood of handshake messages and demands cookies", async () => {
  const p = makePair();
  try {
    p.net.tap = () => false;
    p.a.initiateHandshake(p.b.publicKey);
    await settle();
    const init = p.net.log[0].data;
    p.net.tap = null;
    for (let i = 0; i < 200; i++) p.b.receiveDatagram(init.slice(), p.bindA.local);
    await settle();
    assert(p.b.drops.cookieRequired > 0, "no cookie replies under a flood");
    assertEquals(p.b.drops.cookieRequired + p.b.drops.badHandshake, 199);
    // Load passes after a second without a flood.
    await advance(p.clock, 2000);
    const before = p.b.drops.cookieRequired;
    p.b.receiveDatagram(init.slice(), p.bindA.local);
    assertEquals(p.b.drops.cookieRequired, before);
  } finally {
    await p.close();
  }
});

Deno.test("Device under load rate-limits MAC2-valid handshakes per source IP", async () => {
  const p = makePair({}, { underLoad: () => true });
  try {
    p.a.initiateHandshake(p.b.publicKey);
    await settle(); // initiation → cookie reply → a holds a cookie
    assertEquals(p.a.peer(p.b.publicKey)!.stats.cookiesReceived, 1);
    p.net.tap = (d) => d.from !== "a"; // capture a's retry instead of delivering it
    await advance(p.clock, REKEY_TIMEOUT_MS + REKEY_TIMEOUT_JITTER_MAX_MS);
    const retry = p.net.log.filter((d) => d.from === "a" && typeOf(d.data) === MSG_INITIATION)
      .at(-1)!.data;
    for (let i = 0; i < 10; i++) p.b.receiveDatagram(retry.slice(), p.bindA.local);
    // 4 pass the limiter at once (the first is consumed, 3 are replays); 6 are limited.
    assertEquals(p.b.drops.rateLimited, 6);
    assertEquals(p.b.drops.badHandshake, 3);
    assertEquals(p.b.peer(p.a.publicKey)!.stats.rxBytes, INITIATION_LEN);
  } finally {
    await p.close();
  }
});

Deno.test("Device pair converges when both sides initiate at the same moment", async () => {
  const p = makePair();
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2", 1));
    p.b.sendPacket(ipv4("10.0.0.2", "10.0.0.1", 2));
    await advance(p.clock, 30_000);
    assertEquals(p.gotA.length, 1, "a got b's packet");
    assertEquals(p.gotB.length, 1, "b got a's packet");
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2", 3));
    p.b.sendPacket(ipv4("10.0.0.2", "10.0.0.1", 4));
    await settle();
    assertEquals([p.gotA.length, p.gotB.length], [2, 2]);
  } finally {
    await p.close();
  }
});

Deno.test("Device.onUnknownPeer configures a peer from its first initiation (crypto routing)", async () => {
  const asked: string[] = [];
  let answer = true;
  const p = makePair({}, {
    onUnknownPeer: (key) => {
      asked.push(toHex(key));
      return answer ? { publicKey: key, allowedIps: ["10.0.0.1/32"] } : null;
    },
  });
  try {
    p.b.removePeer(p.a.publicKey);
    answer = false;
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    assertEquals(p.gotB.length, 0);
    assertEquals(p.b.drops.badHandshake, 1);
    answer = true;
    await advance(p.clock, REKEY_TIMEOUT_MS + REKEY_TIMEOUT_JITTER_MAX_MS);
    assertEquals(p.gotB.length, 1, "packet delivered after lazy configuration");
    assertEquals(asked, [toHex(p.a.publicKey), toHex(p.a.publicKey)]);
    const status = p.b.peer(p.a.publicKey)!;
    assertEquals(String(status.endpoint), "mem:a", "endpoint learned from the initiation");
    assertEquals(status.allowedIps, ["10.0.0.1/32"]);
  } finally {
    await p.close();
  }
});

Deno.test("Device keeps receiving when the onPacket handler throws, and counts it", async () => {
  let calls = 0;
  const p = makePair({}, {
    onPacket: () => {
      calls++;
      throw new Error("handler bug");
    },
  });
  try {
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2"));
    await settle();
    assertEquals(calls, 2);
    assertEquals(p.b.drops.handlerError, 2);
  } finally {
    await p.close();
  }
});

Deno.test("Device.handshakeIfWaiting() resends an unanswered initiation at once, and only then", async () => {
  const p = makePair();
  try {
    // b does not know a yet (control told it later): a's first initiation is dropped.
    assert(p.b.removePeer(p.a.publicKey));
    const pkt = ipv4("10.0.0.1", "10.0.0.2", 50);
    assert(p.a.sendPacket(pkt));
    await settle();
    assertEquals(p.gotB.length, 0);
    assertEquals(p.a.peer(p.b.publicKey)!.stats.initiationsSent, 1);
    // Nothing to redo for a peer we have no initiation out to.
    assertEquals(p.b.handshakeIfWaiting(p.a.publicKey), false);
    // b learns of a; a hears from b (a disco pong) well before its retransmit timer.
    p.b.setPeer({ publicKey: p.a.publicKey, allowedIps: ["10.0.0.1/32"], endpoint: p.bindA.local });
    await advance(p.clock, 100);
    assert(p.a.handshakeIfWaiting(p.b.publicKey));
    await settle();
    assertEquals(p.gotB, [pkt], "the staged packet went once the session was up");
    assertEquals(p.a.peer(p.b.publicKey)!.stats.initiationsSent, 2);
    // With a session, or with nothing staged, it does nothing.
    assertEquals(p.a.handshakeIfWaiting(p.b.publicKey), false);
    assertEquals(p.a.peer(p.b.publicKey)!.stats.initiationsSent, 2);
  } finally {
    await p.close();
  }
});
