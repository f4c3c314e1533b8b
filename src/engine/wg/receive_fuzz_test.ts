/**
 * Fuzz of the wg receive path and message parsers: seeded random and mutated handshake,
 * cookie and transport messages go into `Device.receiveDatagram`. Nothing may throw, no forged
 * packet may be handed up, and the session must still work afterwards. `FUZZ_ROUNDS` sets the
 * rounds (default 3000), `FUZZ_SEED` the seed; a failure prints both and the input.
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { MemoryNetwork } from "./testing/memory_bind.ts";
import { generatePrivate, toHex } from "../key/keys.ts";
import { ParseError } from "../base/errors.ts";
import { ipv4, SILENT } from "./testing/device_pair.ts";
import { parsePrefix } from "./allowed_ips.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { Device } from "./device.ts";
import { checkMessage, MSG_TRANSPORT, transportCounter } from "./messages.ts";
import { prng as mulberry32 } from "../base/testing/fuzz.ts";

const ROUNDS = Number(Deno.env.get("FUZZ_ROUNDS") ?? 3000);
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 0x7a11e7);

/** Two devices with an established session whose datagrams are captured, not delivered. */
function capturedPair() {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  const bindA = net.bind("a");
  const bindB = net.bind("b");
  const gotB: Uint8Array[] = [];
  const keyB = generatePrivate("node");
  const a = new Device({ privateKey: generatePrivate("node"), bind: bindA, clock, log: SILENT });
  const b = new Device({
    privateKey: keyB,
    bind: bindB,
    clock,
    log: SILENT,
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
  return { net, clock, a, b, bindA, bindB, gotB, pump, keyB };
}

Deno.test(`receive path survives ${ROUNDS} rounds of random and mutated messages (seed ${SEED})`, async () => {
  const p = capturedPair();
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

  const rnd = mulberry32(SEED);
  const int = (n: number) => Math.floor(rnd() * n);
  let input = new Uint8Array(0);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 10 === 0) p.clock.advance(1);
      if (p.net.log.length > 1000) p.net.log.length = 0; // (nothing is delivered meanwhile)
      const kind = int(10);
      if (kind === 0) {
        input = crypto.getRandomValues(new Uint8Array(int(200)));
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
      const t = checkMessage(input);
      if (t === MSG_TRANSPORT) transportCounter(input);
      (int(2) === 0 ? p.b : p.a).receiveDatagram(input, int(2) ? p.bindA.local : p.bindB.local);
    }
  } catch (err) {
    throw new Error(`fuzz failed (FUZZ_SEED=${SEED}) on input ${toHex(input)}: ${err}`);
  }
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

Deno.test(`parsePrefix() only throws ParseError on ${ROUNDS} random strings`, () => {
  const rnd = mulberry32(SEED ^ 0x5eed);
  const alphabet = "0123456789abcdef.:/%x ";
  for (let i = 0; i < ROUNDS; i++) {
    let s = "";
    const n = Math.floor(rnd() * 45);
    for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    try {
      const pfx = parsePrefix(s);
      assert(pfx.addr.length === 4 || pfx.addr.length === 16, s);
      assert(pfx.bits <= pfx.addr.length * 8, s);
    } catch (err) {
      if (!(err instanceof ParseError)) {
        throw new Error(`parsePrefix(${JSON.stringify(s)}): ${err}`);
      }
    }
  }
});
