import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { fromHex, toHex } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import {
  isStun,
  parseStunResponse,
  STUN_REQUEST_LEN,
  StunParseError,
  stunRequest,
  stunTxid,
} from "./stun.ts";

// Captured on loopback from a real derper v1.98.10 (`derper -dev -stun-port 34781`, listening
// on [::]): our request with txid a0..ab, and its answers to a socket on 127.0.0.1:52518 and
// one on [::1]:33635. derper answers an IPv4 sender with a v4-mapped IPv6 address.
const TXID = fromHex("a0a1a2a3a4a5a6a7a8a9aaab");
const DERPER = {
  request: "000100142112a442a0a1a2a3a4a5a6a7a8a9aaab802200087461696c6e6f64658028000428a54bbb",
  replyV4:
    "010100182112a442a0a1a2a3a4a5a6a7a8a9aaab002000140002ec342112a442a0a1a2a3a4a55958d7a9aaaa",
  replyV6:
    "010100182112a442a0a1a2a3a4a5a6a7a8a9aaab002000140002a2712112a442a0a1a2a3a4a5a6a7a8a9aaaa",
};
// RFC 5769 §2.2, "Sample IPv4 response": SOFTWARE, XOR-MAPPED-ADDRESS 192.0.2.1:32853,
// MESSAGE-INTEGRITY and FINGERPRINT; the fingerprint checks our CRC independently of Go.
const RFC5769_TXID = fromHex("b7e7a701bc34d686fa87dfae");
const RFC5769_V4 = "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220" +
  "002000080001a147e112a64300080014" + "2b91f599fd9e90c38c7489f92af9ba53f06be7d7" +
  "80280004c07d4c96";
// A response with only MAPPED-ADDRESS 10.1.2.3:4660 (old servers): the fallback.
const MAPPED_ONLY = "0101000c2112a442a0a1a2a3a4a5a6a7a8a9aaab000100080001123 40a010203".replaceAll(
  " ",
  "",
);

Deno.test("stunRequest() is byte for byte the request derper answered", () => {
  const req = stunRequest(TXID);
  assertEquals(req.length, STUN_REQUEST_LEN);
  assertEquals(toHex(req), DERPER.request);
  assert(isStun(req));
  assertEquals(stunTxid(req), TXID);
});

Deno.test("parseStunResponse() reads derper's IPv4 (v4-mapped) and IPv6 answers", () => {
  const v4 = parseStunResponse(fromHex(DERPER.replyV4), TXID);
  assertEquals(v4, { txid: TXID, ip: new Uint8Array([127, 0, 0, 1]), port: 52518 });
  const v6 = parseStunResponse(fromHex(DERPER.replyV6), TXID);
  assertEquals(v6.ip, fromHex("00000000000000000000000000000001"));
  assertEquals(v6.port, 33635);
});

Deno.test("parseStunResponse() checks a FINGERPRINT when present (RFC 5769 sample)", () => {
  const r = parseStunResponse(fromHex(RFC5769_V4), RFC5769_TXID);
  assertEquals(r.ip, new Uint8Array([192, 0, 2, 1]));
  assertEquals(r.port, 32853);
  const bad = fromHex(RFC5769_V4);
  bad[bad.length - 1] ^= 1;
  assertEquals(failure(bad), "bad-fingerprint");
});

Deno.test("parseStunResponse() falls back to MAPPED-ADDRESS", () => {
  const r = parseStunResponse(fromHex(MAPPED_ONLY));
  assertEquals(r.ip, new Uint8Array([10, 1, 2, 3]));
  assertEquals(r.port, 0x1234);
});

Deno.test("parseStunResponse() ignores bytes past the attribute length, as Go does", () => {
  const b = new Uint8Array([...fromHex(DERPER.replyV4), 1, 2, 3]);
  assertEquals(parseStunResponse(b).port, 52518);
});

function failure(b: Uint8Array, txid?: Uint8Array): string {
  const err = assertThrows(() => parseStunResponse(b, txid), StunParseError);
  assert(err instanceof ParseError);
  return (err as StunParseError).failure;
}

Deno.test("parseStunResponse() names each failure", () => {
  const reply = () => fromHex(DERPER.replyV4);
  assertEquals(failure(new Uint8Array(19)), "not-stun");
  const noCookie = reply();
  noCookie[4] = 0;
  assertEquals(failure(noCookie), "not-stun");
  const topBits = reply();
  topBits[0] = 0x41;
  assertEquals(failure(topBits), "not-stun");
  assertEquals(failure(fromHex(DERPER.request)), "not-success");
  const error = reply();
  error[1] = 0x11; // binding error response
  assertEquals(failure(error), "not-success");
  assertEquals(failure(reply(), fromHex("000000000000000000000000")), "txid-mismatch");
  const long = reply();
  long[3] = 0x40; // attributes longer than the datagram
  assertEquals(failure(long), "malformed-attrs");
  const attrPastEnd = reply();
  attrPastEnd[23] = 0x40; // the attribute's own length runs past the end
  assertEquals(failure(attrPastEnd), "malformed-attrs");
  const family = reply();
  family[25] = 3;
  assertEquals(failure(family), "malformed-attrs");
  const shortAddr = fromHex("010100082112a442a0a1a2a3a4a5a6a7a8a9aaab0020000400010000");
  assertEquals(failure(shortAddr), "malformed-attrs");
  const none = fromHex("010100002112a442a0a1a2a3a4a5a6a7a8a9aaab");
  assertEquals(failure(none), "no-address");
  const truncatedAttr = fromHex("010100022112a442a0a1a2a3a4a5a6a7a8a9aaab0020");
  assertEquals(failure(truncatedAttr), "malformed-attrs");
});

Deno.test("isStun() tells STUN from disco and WireGuard", () => {
  assert(isStun(fromHex(DERPER.replyV4)));
  assert(!isStun(new Uint8Array([0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac, ...new Uint8Array(30)])));
  const wgInitiation = new Uint8Array(148);
  wgInitiation[0] = 1;
  assert(!isStun(wgInitiation));
});
