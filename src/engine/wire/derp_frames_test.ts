import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import { boxOpen } from "../crypto/nacl_box.ts";
import { fromHex, type NodePublic, toHex } from "../key/keys.ts";
import {
  DERP_MAGIC,
  type DerpFrame,
  emitFrame,
  encodeClientInfoJson,
  encodeFrame,
  encodeServerInfoJson,
  FRAME_HEADER_LEN,
  frameLen,
  isServerKeyFrame,
  MAX_FRAME_LEN,
  MAX_PACKET_SIZE,
  parseClientInfoJson,
  parseFrame,
  parseServerInfoJson,
  readFrameHeader,
} from "./derp_frames.ts";
import { createHash } from "node:crypto";
import { DERPER_CAPTURES } from "./testing/derp_frames_captures.ts";

const DERPER_PUBLIC = "437a52bba91f97c56c48353f385c9ed4b88663f90d8626055a2a99645e218938";
const A_PUBLIC = "c04cd666f2535fdd5e9cc0b21f5610e2c2a23f1eabbe92daefe90f94f7f69a04";
const B_PUBLIC = "5c372208550af7af3b438eefeaa673049b6dacd372b6fd41fd94c52299d5c704";
const A_PRIVATE = new Uint8Array(createHash("sha256").update("tailnet-derp-capture-a").digest());

function cap(name: keyof typeof DERPER_CAPTURES): Uint8Array {
  return fromHex(DERPER_CAPTURES[name]);
}
const k = (h: string) => fromHex(h) as NodePublic;

Deno.test("parseFrame() reads the server key frame from derper", () => {
  const b = cap("derper-1.98.10-server-key");
  assert(isServerKeyFrame(b));
  const f = parseFrame(b);
  assert(f.type === "server-key");
  assertEquals(toHex(f.serverKey), DERPER_PUBLIC);
  assertEquals(toHex(b.subarray(5, 13)), toHex(DERP_MAGIC));
});

Deno.test('parseFrame() reads derper\'s server info, whose box opens to {"version":2}', () => {
  const f = parseFrame(cap("derper-1.98.10-server-info-to-a"));
  assert(f.type === "server-info");
  assertEquals(f.nonce.length, 24);
  const json = boxOpen(f.sealed, f.nonce, fromHex(DERPER_PUBLIC), A_PRIVATE);
  assert(json !== null, "server info did not open with client A's key");
  assertEquals(new TextDecoder().decode(json), '{"version":2}');
  assertEquals(parseServerInfoJson(json), {
    version: 2,
    tokenBucketBytesPerSecond: 0,
    tokenBucketBytesBurst: 0,
  });
});

Deno.test("parseFrame() reads derper's recv packets with the source key", () => {
  const atB = parseFrame(cap("derper-1.98.10-recv-packet-at-b"));
  assert(atB.type === "recv-packet");
  assertEquals(toHex(atB.src), A_PUBLIC);
  assertEquals(new TextDecoder().decode(atB.packet), "hello from a");
  const atA = parseFrame(cap("derper-1.98.10-recv-packet-at-a"));
  assert(atA.type === "recv-packet");
  assertEquals(toHex(atA.src), B_PUBLIC);
  assertEquals(new TextDecoder().decode(atA.packet), "hello from b");
});

Deno.test("parseFrame() reads derper's peer gone frames with their reasons", () => {
  const notHere = parseFrame(cap("derper-1.98.10-peer-gone-not-here"));
  assertEquals(notHere, { type: "peer-gone", peer: k("42".repeat(32)), reason: 1 });
  const gone = parseFrame(cap("derper-1.98.10-peer-gone-disconnected"));
  assertEquals(gone, { type: "peer-gone", peer: k(B_PUBLIC), reason: 0 });
});

Deno.test("parseFrame() reads derper's keep-alive and pong", () => {
  assertEquals(parseFrame(cap("derper-1.98.10-keep-alive")), { type: "keep-alive" });
  assertEquals(parseFrame(cap("derper-1.98.10-pong")), {
    type: "pong",
    data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
  });
});

Deno.test("emitFrame() reproduces every derper capture over a 0xa5-filled buffer", () => {
  for (const [name, hex] of Object.entries(DERPER_CAPTURES)) {
    const want = fromHex(hex);
    const f = parseFrame(want);
    assertEquals(frameLen(f), want.length, name);
    const out = new Uint8Array(want.length + 4).fill(0xa5);
    const end = emitFrame(f, out, 0);
    assertEquals(end, want.length, name);
    assertEquals(toHex(out.subarray(0, end)), hex, name);
    assertEquals(toHex(out.subarray(end)), "a5a5a5a5", `${name}: wrote past the end`);
  }
});

Deno.test("emitFrame() at offset 3 leaves bytes 0-2 untouched", () => {
  const f: DerpFrame = {
    type: "send-packet",
    dst: k("11".repeat(32)),
    packet: new Uint8Array([9, 8, 7]),
  };
  const out = new Uint8Array(3 + frameLen(f)).fill(0xa5);
  assertEquals(emitFrame(f, out, 3), out.length);
  assertEquals(toHex(out.subarray(0, 3)), "a5a5a5");
  assertEquals(toHex(out.subarray(3, 8)), "0400000023");
});

const SAMPLES: DerpFrame[] = [
  { type: "server-key", serverKey: k("01".repeat(32)) },
  {
    type: "client-info",
    clientKey: k("02".repeat(32)),
    nonce: new Uint8Array(24).fill(3),
    sealed: new Uint8Array(40).fill(4),
  },
  { type: "server-info", nonce: new Uint8Array(24).fill(5), sealed: new Uint8Array(29).fill(6) },
  { type: "send-packet", dst: k("07".repeat(32)), packet: new Uint8Array(0) },
  { type: "recv-packet", src: k("08".repeat(32)), packet: new Uint8Array(1420).fill(9) },
  { type: "keep-alive" },
  { type: "note-preferred", preferred: true },
  { type: "note-preferred", preferred: false },
  { type: "peer-gone", peer: k("0a".repeat(32)), reason: 1 },
  { type: "peer-present", peer: k("0b".repeat(32)), addr: null, flags: null },
  {
    type: "peer-present",
    peer: k("0b".repeat(32)),
    addr: { ip: new Uint8Array(16).fill(0xfe), port: 41641 },
    flags: 9,
  },
  {
    type: "forward-packet",
    src: k("0c".repeat(32)),
    dst: k("0d".repeat(32)),
    packet: new Uint8Array([1, 2]),
  },
  { type: "watch-conns" },
  { type: "close-peer", peer: k("0e".repeat(32)) },
  { type: "ping", data: new Uint8Array([8, 7, 6, 5, 4, 3, 2, 1]) },
  { type: "health", problem: "duplicate connection ✗" },
  { type: "health", problem: "" },
  { type: "restarting", reconnectInMs: 1500, tryForMs: 0xffffffff },
  { type: "unknown", frameType: 0x7f, body: new Uint8Array([1, 2, 3]) },
];

Deno.test("emitFrame() and parseFrame() round-trip every frame type", () => {
  for (const f of SAMPLES) {
    assertEquals(parseFrame(encodeFrame(f)), f, f.type);
  }
});

Deno.test("parseFrame() ignores trailing bytes a newer server may add", () => {
  const sk = cap("derper-1.98.10-server-key");
  const longer = new Uint8Array(sk.length + 3);
  longer.set(sk);
  longer[4] += 3;
  assertEquals(parseFrame(longer), parseFrame(sk));
  const ping = fromHex("120000000a0102030405060708ffff");
  assertEquals(parseFrame(ping), { type: "ping", data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) });
  // A peer-gone without the reason byte (older servers) means "disconnected".
  assertEquals(parseFrame(fromHex("0800000020" + "33".repeat(32))), {
    type: "peer-gone",
    peer: k("33".repeat(32)),
    reason: 0,
  });
});

Deno.test("parseFrame() rejects malformed frames with ParseError", () => {
  const bad: [string, string][] = [
    ["0100", "short header"],
    ["0100000028" + "00".repeat(40), "no magic"],
    ["0100000008" + toHex(DERP_MAGIC), "server key too short"],
    ["050000001f" + "00".repeat(31), "recv packet shorter than a key"],
    ["1200000007" + "00".repeat(7), "short ping"],
    ["1500000004" + "00".repeat(4), "short restarting"],
    ["1100000021" + "00".repeat(33), "close peer too long"],
    ["0700000000", "note preferred without its byte"],
    ["0300000027" + "00".repeat(39), "server info without room for a tag"],
    ["0500000010" + "00".repeat(8), "truncated body"],
  ];
  for (const [hex, why] of bad) {
    assertThrows(() => parseFrame(fromHex(hex)), ParseError, undefined);
    try {
      parseFrame(fromHex(hex));
    } catch (err) {
      assert(err instanceof ParseError && err.format === "derp-frame", why);
    }
  }
});

Deno.test("readFrameHeader() enforces the maximum frame size", () => {
  assertEquals(readFrameHeader(fromHex("0600000000")), { frameType: 6, bodyLen: 0 });
  assertEquals(readFrameHeader(fromHex("06000000")), null);
  const big = fromHex("0500100001");
  assertEquals(MAX_FRAME_LEN, 0x100000);
  assertThrows(() => readFrameHeader(big), ParseError, "exceeds 1048576");
  assertThrows(() => readFrameHeader(fromHex("0500000100"), 0, 255), ParseError, "exceeds 255");
  assertThrows(() => readFrameHeader(fromHex("05ffffffff")), ParseError, "4294967295");
});

Deno.test("packets over 64 KiB are refused by both emit and parse", () => {
  const f: DerpFrame = {
    type: "send-packet",
    dst: k("01".repeat(32)),
    packet: new Uint8Array(MAX_PACKET_SIZE + 1),
  };
  assertThrows(() => encodeFrame(f), RangeError, "exceeds 65536");
  const raw = new Uint8Array(FRAME_HEADER_LEN + 32 + MAX_PACKET_SIZE + 1);
  raw[0] = 5;
  new DataView(raw.buffer).setUint32(1, 32 + MAX_PACKET_SIZE + 1);
  assertThrows(() => parseFrame(raw), ParseError, "exceeds 65536");
  const ok = encodeFrame({ ...f, packet: new Uint8Array(MAX_PACKET_SIZE) });
  assertEquals(parseFrame(ok).type, "send-packet");
});

Deno.test("emitFrame() refuses wrong field sizes and short buffers with RangeError", () => {
  assertThrows(
    () => encodeFrame({ type: "ping", data: new Uint8Array(7) }),
    RangeError,
    "ping is 7 bytes",
  );
  assertThrows(
    () => encodeFrame({ type: "close-peer", peer: new Uint8Array(31) as NodePublic }),
    RangeError,
    "key is 31 bytes",
  );
  assertThrows(() => emitFrame({ type: "keep-alive" }, new Uint8Array(4)), RangeError, "need 5");
});

Deno.test("encodeClientInfoJson() writes what Go's json.Marshal writes", () => {
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  const base = { version: 2, meshKey: "", canAckPings: true, isProber: false, appName: "" };
  assertEquals(dec(encodeClientInfoJson(base)), '{"version":2,"CanAckPings":true}');
  assertEquals(
    dec(encodeClientInfoJson({ ...base, canAckPings: false, isProber: true, meshKey: "ab" })),
    '{"meshKey":"ab","version":2,"CanAckPings":false,"IsProber":true}',
  );
  assertEquals(parseClientInfoJson(encodeClientInfoJson(base)), base);
  assertEquals(
    parseClientInfoJson(new TextEncoder().encode('{"VERSION":2,"canackpings":true}')),
    base,
  );
  assertEquals(
    dec(
      encodeServerInfoJson({ version: 2, tokenBucketBytesPerSecond: 0, tokenBucketBytesBurst: 0 }),
    ),
    '{"version":2}',
  );
});

Deno.test("parseServerInfoJson() rejects non-objects and wrong types with ParseError", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assertThrows(() => parseServerInfoJson(enc("[]")), ParseError, "not a JSON object");
  assertThrows(() => parseServerInfoJson(enc("{")), ParseError);
  assertThrows(() => parseServerInfoJson(enc('{"version":"2"}')), ParseError, "version");
  assertThrows(() => parseServerInfoJson(new Uint8Array([0xff])), ParseError);
  assertEquals(
    parseServerInfoJson(enc('{"version":2,"tokenbucketbytespersecond":10,"Extra":1}')),
    { version: 2, tokenBucketBytesPerSecond: 10, tokenBucketBytesBurst: 0 },
  );
});
