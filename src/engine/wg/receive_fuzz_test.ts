/**
 * Fuzz of the wg receive path and message parsers: seeded random and mutated handshake,
 * cookie and transport messages go into `Device.receiveDatagram`. Nothing may throw, no forged
 * packet may be handed up, and the session must still work afterwards. Rounds and seed follow
 * tests/fuzz.ts; every random byte comes from the seeded generator, so a failure replays.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { MemoryNetwork } from "./testing/memory_bind.ts";
import { privateFromText, toHex } from "../key/keys.ts";
import { ipv4, SILENT } from "./testing/device_pair.ts";
import { parsePrefix } from "./allowed_ips.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { Device } from "./device.ts";
import { checkMessage, MSG_TRANSPORT, transportCounter } from "./messages.ts";
import { fuzzPlan, prng, runFuzz, runRounds } from "../base/testing/fuzz.ts";

/**
 * Two devices with an established session whose datagrams are captured, not delivered. Keys,
 * ephemerals and indices come from `random`, so the corpus replays with the seed.
 */
function capturedPair(random: (out: Uint8Array) => void) {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  const bindA = net.bind("a");
  const bindB = net.bind("b");
  const gotB: Uint8Array[] = [];
  const key = () => {
    const b = new Uint8Array(32);
    random(b);
    return privateFromText("node", `privkey:${toHex(b)}`);
  };
  const keyB = key();
  const a = new Device({ privateKey: key(), bind: bindA, clock, log: SILENT, random });
  const b = new Device({
    privateKey: keyB,
    bind: bindB,
    clock,
    log: SILENT,
    random,
    onPacket: (p) => gotB.push(p.slice()),
  });
  a.setPeer({ publicKey: b.publicKey, allowedIps: ["10.0.0.2/32"], endpoint: bindB.local });
  b.setPeer({ publicKey: a.publicKey, allowedIps: ["10.0.0.1/32"], endpoint: bindA.local });
  net.tap = () => false;
  let cursor = 0;
  /** Delivers everything logged and not yet delivered, synchronously, until quiet. */
  const pump = () => {
    if (cursor > net.log.length) cursor = 0;
    for (; cursor < net.log.length; cursor++) {
      const i = cursor;
      const d = net.log[i];
      if (d.to === "b") b.receiveDatagram(d.data, bindA.local);
      else a.receiveDatagram(d.data, bindB.local);
    }
  };
  return { net, clock, a, b, bindA, bindB, gotB, pump, keyB, random };
}

Deno.test("receive path fuzz: random and mutated messages are dropped; the session survives", async (t) => {
  // One stream for the setup and every round: the devices carry state from round to round.
  const plan = fuzzPlan(t, "wg_receive", { ci: 200_000 });
  const rnd = prng(plan.seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const p = capturedPair((out) => {
    for (let i = 0; i < out.length; i++) out[i] = int(256);
  });
  // Build a corpus: initiation, response, keepalive, data, and a cookie reply.
  p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2", 64));
  p.pump(); // initiation → response → data
  const corpus = p.net.log.map((d) => d.data);
  // b's twin under load answers a's initiation with a cookie reply.
  const under = new Device({
    privateKey: p.keyB,
    bind: p.net.bind("u"),
    clock: p.clock,
    log: SILENT,
    random: p.random,
    underLoad: () => true,
  });
  under.setPeer({ publicKey: p.a.publicKey, endpoint: p.bindA.local });
  const mark = p.net.log.length;
  under.receiveDatagram(corpus[0], p.bindA.local);
  corpus.push(...p.net.log.slice(mark).map((d) => d.data));
  await under.close();
  const types = corpus.map((c) => c[0]).sort().join(",");
  assert(
    types.includes("1") && types.includes("2") && types.includes("3") && types.includes("4"),
    types,
  );
  const delivered = p.gotB.length;
  assertEquals(delivered, 1);

  let input = new Uint8Array(0);
  runRounds(plan, {
    minShare: 0.15,
    what: "well-formed messages",
    describe: () => toHex(input),
  }, (round) => {
    if (round % 10 === 0) p.clock.advance(1);
    if (p.net.log.length > 1000) p.net.log.length = 0; // (nothing is delivered meanwhile)
    const kind = int(10);
    if (kind === 0) {
      input = new Uint8Array(int(200));
      for (let i = 0; i < input.length; i++) input[i] = int(256);
      if (input.length >= 4 && int(2) === 0) input.set([1 + int(4), 0, 0, 0]);
    } else {
      input = corpus[int(corpus.length)].slice();
      const edits = 1 + int(4);
      for (let e = 0; e < edits; e++) {
        switch (int(6)) {
          case 0:
          case 1:
            if (input.length) input[int(input.length)] ^= 1 << int(8);
            break;
          case 2:
            if (input.length) input[int(input.length)] = int(256);
            break;
          case 3:
            input = input.slice(0, int(input.length + 1));
            break;
          case 4: {
            const more = new Uint8Array(input.length + 1 + int(32));
            more.set(input);
            input = more;
            break;
          }
          case 5:
            if (input.length >= 4) input[int(4)] = int(6);
            break;
        }
      }
    }
    const type = checkMessage(input);
    if (type === MSG_TRANSPORT) transportCounter(input);
    (int(2) === 0 ? p.b : p.a).receiveDatagram(input, int(2) ? p.bindA.local : p.bindB.local);
    return type !== 0;
  });
  assertEquals(p.gotB.length, delivered, "a forged packet was handed up");
  // The session still works (or re-forms) after the storm.
  p.clock.advance(1000);
  p.net.log.length = 0;
  p.a.sendPacket(ipv4("10.0.0.1", "10.0.0.2", 10));
  p.pump();
  assert(p.gotB.length > delivered, "session broken by fuzzing");
  const drops = { a: p.a.drops, b: p.b.drops };
  Deno.stderr.writeSync(new TextEncoder().encode(`fuzz drops: ${JSON.stringify(drops)}\n`));
  await p.a.close();
  await p.b.close();
});

const PREFIX_SEEDS = [
  "10.0.0.2/32",
  "100.64.0.0/10",
  "0.0.0.0/0",
  "fd7a:115c:a1e0::1/128",
  "fd7a:115c:a1e0:ab12:4843:cd96:6258:b240/128",
  "::/0",
  "::ffff:10.1.2.3/96",
  "10.0.0.1",
].map((s) => new TextEncoder().encode(s));

Deno.test("parsePrefix() fuzz: mutated prefixes give ParseError or a valid prefix", (t) => {
  runFuzz(t, "parsePrefix", PREFIX_SEEDS, (input) => {
    const pfx = parsePrefix(String.fromCharCode(...input));
    assert(pfx.addr.length === 4 || pfx.addr.length === 16);
    assert(pfx.bits <= pfx.addr.length * 8);
    return true;
  }, { minShare: 0.03, ci: 200_000 });
});
