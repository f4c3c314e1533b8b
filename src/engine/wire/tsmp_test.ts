/**
 * TSMP tests. No tailscaled capture yet (our node cannot talk to one): the vectors are built
 * from tailscale's net/packet/tsmp.go, ip4.go and ip6.go (HEAD de9ec7e) by an independent
 * Python script applying those layouts, except the disco advertisement, whose header bytes are
 * the ones in tailscale's own tsmp_test.go. Replace them with lab captures when the lab can
 * run `tailscale ping --tsmp` against us.
 * @module
 */
import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { fromHex, toHex } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import { parseIpAddr } from "./ip_addr.ts";
import { inspectIp, newIpInfo } from "./ip.ts";
import {
  buildTsmpPong,
  emitTsmp,
  emitTsmpPacket,
  parseTsmp,
  TSMP_REASON_ACL,
  TSMP_REASON_SHIELDS_UP,
  tsmpLen,
  type TsmpMessage,
  tsmpPacketLen,
} from "./tsmp.ts";
import { assertEmits } from "./testing/captures.ts";

// 100.64.0.1 -> 100.64.0.2, IPv4 ID 0, TTL 64, proto 99: 'p' + 01..08 (as sendTSMPPing builds it).
const PING4 = "4500001d000000004063b1fb6440000164400002700102030405060708";
// The pong injectOutboundPong answers with: addresses swapped, ID ^0 = 0xffff, peerAPI 0x1234.
const PONG4 = "4500001fffff00004063b1f964400002644000016f01020304050607081234";
// 100.64.0.2 rejects 100.64.0.1's TCP flow 567 -> 443 for ACLs (7-byte body, no flags).
const REJECT4 = "4500001b000000004063b1fd6440000264400001210641023701bb";
// What REJECT4 means.
const REJECT4_MESSAGE: TsmpMessage = {
  type: "reject",
  proto: 6,
  reason: TSMP_REASON_ACL,
  srcPort: 567,
  dstPort: 443,
  maybeBroken: false,
};
// The same for UDP, shields up, MaybeBroken: the optional eighth byte is 0x01.
const REJECT4_MAYBE_BROKEN = "4500001c000000004063b1fc6440000264400001211153023701bb01";
// fd7a:115c:a1e0::1 -> ::2, flow label 0, hop limit 64.
const PING6 =
  "6000000000096340fd7a115ca1e000000000000000000001fd7a115ca1e000000000000000000002700102030405060708";
// Its pong: flow label ^0 & 0xfffff, peerAPI port 0.
const PONG6 =
  "600fffff000b6340fd7a115ca1e000000000000000000002fd7a115ca1e0000000000000000000016f01020304050607080000";
// tailscale's TestTSMPDiscoKeyAdvertisementMarshal: 1.2.3.4 -> 4.3.2.1, key = 32 x 'a'.
const ADVERT4 = "45000035000000004063705d" + "01020304" + "04030201" + "61" + "61".repeat(32);
// And over IPv6: 2001:db8::1 -> 2001:db8::2.
const ADVERT6 = "6000000000216340" + "20010db8000000000000000000000001" +
  "20010db8000000000000000000000002" + "61" + "61".repeat(32);

const body = (hex: string) => {
  const p = fromHex(hex);
  const info = newIpInfo();
  assert(inspectIp(p, 0, p.length, info));
  assertEquals(info.protocol, 99);
  return p.subarray(info.payloadOff, info.payloadEnd);
};

Deno.test("parseTsmp() reads ping, pong, reject and disco advertisement bodies", () => {
  const ping = parseTsmp(body(PING4), 0, 9);
  assertEquals(ping, { type: "ping", data: fromHex("0102030405060708") });
  assertEquals(parseTsmp(body(PONG4), 0, 11), {
    type: "pong",
    data: fromHex("0102030405060708"),
    peerApiPort: 0x1234,
  });
  assertEquals(parseTsmp(body(REJECT4), 0, 7), REJECT4_MESSAGE);
  const mb = parseTsmp(body(REJECT4_MAYBE_BROKEN), 0, 8);
  assert(mb.type === "reject");
  assertEquals([mb.proto, mb.reason, mb.maybeBroken], [17, TSMP_REASON_SHIELDS_UP, true]);
  const adv = parseTsmp(body(ADVERT6), 0, 33);
  assert(adv.type === "disco-advert");
  assertEquals(toHex(adv.key), "61".repeat(32));
});

Deno.test("parseTsmp() is as lenient as Go: short pong, flags byte, trailing bytes, unknown type", () => {
  // A 9-byte pong (older sender) reads port 0, as AsTSMPPong does.
  const shortPong = fromHex("6f0102030405060708");
  assertEquals(parseTsmp(shortPong, 0, 9), {
    type: "pong",
    data: fromHex("0102030405060708"),
    peerApiPort: 0,
  });
  // An eighth reject byte without bit 0 is not MaybeBroken.
  const r = parseTsmp(fromHex("2106410237" + "01bb" + "fe"), 0, 8);
  assert(r.type === "reject" && !r.maybeBroken);
  // Trailing bytes after a ping are ignored.
  assertEquals(parseTsmp(fromHex("70" + "01".repeat(8) + "ffff"), 0, 11).type, "ping");
  assertEquals(parseTsmp(fromHex("7a0102"), 0, 3), {
    type: "unknown",
    typeByte: 0x7a,
    body: fromHex("0102"),
  });
});

Deno.test("parseTsmp() rejects bodies shorter than Go accepts", () => {
  assertThrows(() => parseTsmp(new Uint8Array(0), 0, 0), ParseError, "empty");
  assertThrows(() => parseTsmp(fromHex("21064102370001"), 0, 6), ParseError, "6 of 7");
  assertThrows(() => parseTsmp(fromHex("700102030405060708"), 0, 8), ParseError, "8 of 9");
  assertThrows(() => parseTsmp(fromHex("6f0102030405060708"), 0, 8), ParseError, "8 of 9");
  assertThrows(() => parseTsmp(fromHex("61" + "00".repeat(31)), 0, 32), ParseError, "32 of 33");
});

Deno.test("emitTsmp() writes each body exactly (0xa5 buffer, offset 3)", () => {
  for (const hex of [PING4, PONG4, REJECT4, REJECT4_MAYBE_BROKEN, ADVERT4]) {
    const b = body(hex);
    const m = parseTsmp(b, 0, b.length);
    assertEquals(tsmpLen(m), b.length);
    assertEmits((out, off) => emitTsmp(m, out, off), b);
  }
});

Deno.test("emitTsmpPacket() builds whole packets as Go does (0xa5 buffer, offset 3)", () => {
  const a4 = parseIpAddr("100.64.0.1"), b4 = parseIpAddr("100.64.0.2");
  const data = fromHex("0102030405060708");
  const ping: TsmpMessage = { type: "ping", data };
  assertEquals(tsmpPacketLen(ping, 4), 29);
  assertEmits((out, off) => emitTsmpPacket(ping, a4, b4, out, off), fromHex(PING4));
  assertEmits((out, off) => emitTsmpPacket(REJECT4_MESSAGE, b4, a4, out, off), fromHex(REJECT4));
  const a6 = parseIpAddr("fd7a:115c:a1e0::1"), b6 = parseIpAddr("fd7a:115c:a1e0::2");
  assertEmits((out, off) => emitTsmpPacket(ping, a6, b6, out, off), fromHex(PING6));
  const advert: TsmpMessage = { type: "disco-advert", key: new Uint8Array(32).fill(0x61) };
  assertEmits(
    (out, off) => emitTsmpPacket(advert, parseIpAddr("1.2.3.4"), parseIpAddr("4.3.2.1"), out, off),
    fromHex(ADVERT4),
  );
  assertEmits(
    (out, off) =>
      emitTsmpPacket(advert, parseIpAddr("2001:db8::1"), parseIpAddr("2001:db8::2"), out, off),
    fromHex(ADVERT6),
  );
});

Deno.test("buildTsmpPong() answers a ping like injectOutboundPong, over both families", () => {
  const info = newIpInfo();
  for (const [ping, pong, port] of [[PING4, PONG4, 0x1234], [PING6, PONG6, 0]] as const) {
    const p = fromHex(ping);
    const out = new Uint8Array(80).fill(0xa5);
    const end = buildTsmpPong(p, 0, p.length, port, out, 3, info);
    assertEquals(toHex(out.subarray(3, end)), pong);
    assertEquals(toHex(out.subarray(0, 3)), "a5a5a5");
  }
  // Not a ping: a pong, a reject, a UDP packet.
  const out = new Uint8Array(80);
  for (const hex of [PONG4, REJECT4]) {
    const p = fromHex(hex);
    assertEquals(buildTsmpPong(p, 0, p.length, 0, out, 0, info), -1);
  }
  const p = fromHex(PING4);
  assertEquals(buildTsmpPong(p, 0, p.length, 0, new Uint8Array(30), 0, info), -1); // no room
});

Deno.test("emitTsmp() then parseTsmp() round-trips; emit refuses wrong data lengths", () => {
  const msgs: TsmpMessage[] = [
    { type: "pong", data: new Uint8Array(8).fill(9), peerApiPort: 65535 },
    { type: "reject", proto: 17, reason: 0x54, srcPort: 1, dstPort: 2, maybeBroken: true },
    { type: "unknown", typeByte: 0, body: new Uint8Array(3) },
  ];
  for (const m of msgs) {
    const b = new Uint8Array(tsmpLen(m));
    emitTsmp(m, b, 0);
    assertEquals(parseTsmp(b, 0, b.length), m);
  }
  assertThrows(
    () => emitTsmp({ type: "ping", data: new Uint8Array(7) }, new Uint8Array(9), 0),
    RangeError,
  );
  assertThrows(
    () => emitTsmp({ type: "disco-advert", key: new Uint8Array(31) }, new Uint8Array(40), 0),
    RangeError,
  );
});
