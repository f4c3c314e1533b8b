import { assertEquals, assertThrows } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import { fromHex } from "../key/keys.ts";
import { mustNotReject, runFuzz } from "../base/testing/fuzz.ts";
import {
  type DiscoMessage,
  discoMessageLen,
  emitDiscoMessage,
  isDiscoPacket,
  parseDiscoMessage,
} from "./disco_messages.ts";

// Made with tailscale.com/disco v1.98.10 AppendMarshal (a throwaway Go program outside the repo):
// txid 01..0c, node key a0..bf.
const GO = {
  ping:
    "01000102030405060708090a0b0ca0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf",
  pingPadded:
    "01000102030405060708090a0b0ca0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf0000000000",
  pongV4: "02000102030405060708090a0b0c00000000000000000000ffff7f000001a2a9",
  pongV6: "02000102030405060708090a0b0cfd7a115ca1e00000000000000000000104d2",
  callMeMaybe: "030000000000000000000000ffffc0000207a2a920010db80000000000000000000000050009",
};
const TXID = fromHex("0102030405060708090a0b0c");
const NODE_KEY = fromHex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");

const CASES: [string, string, DiscoMessage][] = [
  ["ping", GO.ping, { type: "ping", txid: TXID, nodeKey: NODE_KEY, padding: 0 }],
  ["padded ping", GO.pingPadded, { type: "ping", txid: TXID, nodeKey: NODE_KEY, padding: 5 }],
  ["pong v4", GO.pongV4, { type: "pong", txid: TXID, src: { ip: "127.0.0.1", port: 41641 } }],
  ["pong v6", GO.pongV6, {
    type: "pong",
    txid: TXID,
    src: { ip: "fd7a:115c:a1e0::1", port: 1234 },
  }],
  ["call-me-maybe", GO.callMeMaybe, {
    type: "call-me-maybe",
    endpoints: [{ ip: "192.0.2.7", port: 41641 }, { ip: "2001:db8::5", port: 9 }],
  }],
];

for (const [name, hex, msg] of CASES) {
  Deno.test(`parseDiscoMessage() reads a Go-marshalled ${name}`, () => {
    assertEquals(parseDiscoMessage(fromHex(hex)), msg);
  });
  Deno.test(`emitDiscoMessage() writes a ${name} as Go does, at an offset, touching nothing else`, () => {
    const want = fromHex(hex);
    const out = new Uint8Array(3 + discoMessageLen(msg)).fill(0xa5);
    assertEquals(emitDiscoMessage(msg, out, 3), out.length);
    assertEquals(out.subarray(0, 3), new Uint8Array([0xa5, 0xa5, 0xa5]));
    assertEquals(out.subarray(3), want);
  });
}

Deno.test("parseDiscoMessage() ignores trailing bytes after a pong", () => {
  const b = new Uint8Array([...fromHex(GO.pongV4), 9, 9, 9]);
  assertEquals(parseDiscoMessage(b), CASES[2][2]);
});

Deno.test("parseDiscoMessage() reads a ping without a node key (old senders)", () => {
  const b = fromHex(GO.ping).subarray(0, 14);
  assertEquals(parseDiscoMessage(b), { type: "ping", txid: TXID, nodeKey: null, padding: 0 });
});

Deno.test("parseDiscoMessage() gives no endpoints for a ragged CallMeMaybe, as Go does", () => {
  const b = fromHex(GO.callMeMaybe).subarray(0, 2 + 18 + 5);
  assertEquals(parseDiscoMessage(b), { type: "call-me-maybe", endpoints: [] });
});

Deno.test("parseDiscoMessage() reports peer-relay types as unknown", () => {
  assertEquals(parseDiscoMessage(new Uint8Array([4, 0, 1, 2])), {
    type: "unknown",
    messageType: 4,
  });
});

Deno.test("parseDiscoMessage() rejects truncated pings and pongs with ParseError", () => {
  assertThrows(() => parseDiscoMessage(new Uint8Array([1])), ParseError);
  assertThrows(() => parseDiscoMessage(fromHex(GO.ping).subarray(0, 10)), ParseError);
  assertThrows(() => parseDiscoMessage(fromHex(GO.pongV4).subarray(0, 20)), ParseError);
});

Deno.test("isDiscoPacket() checks the magic and the minimum length", () => {
  const p = new Uint8Array(62);
  p.set([0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac]);
  assertEquals(isDiscoPacket(p), true);
  assertEquals(isDiscoPacket(p.subarray(0, 37)), false);
  p[5] = 0;
  assertEquals(isDiscoPacket(p), false);
});

Deno.test("disco parser fuzz: only ParseError escapes; known messages round-trip", (t) => {
  const seeds = CASES.map(([, hex]) => fromHex(hex));
  runFuzz(t, "disco", seeds, (input) => {
    const m = parseDiscoMessage(input);
    if (m.type === "unknown") return false;
    mustNotReject("emit + parse", () => {
      const out = new Uint8Array(discoMessageLen(m));
      emitDiscoMessage(m, out, 0);
      assertEquals(parseDiscoMessage(out), m);
    });
    return true;
  }, { minShare: 0.33, ci: 200_000 });
});
