import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import {
  emitGreeting,
  emitMethodSelection,
  emitReply,
  emitRequest,
  emitUdpHeader,
  emitUserPass,
  emitUserPassReply,
  greetingLen,
  parseGreeting,
  parseMethodSelection,
  parseReply,
  parseRequest,
  parseUdpHeader,
  parseUserPass,
  REP_ADDRESS_TYPE_NOT_SUPPORTED,
  REP_CONNECTION_REFUSED,
  replyLen,
  requestLen,
  Socks5ParseError,
  socksAddrOf,
  udpHeaderLen,
  userPassLen,
  ZERO_ADDR,
} from "./socks5_messages.ts";
import { hex, toHex } from "./testing/loopback.ts";

// Captured from curl 7.88.1 against a recording server (see the proxy report):
// curl --socks5-hostname 127.0.0.1:P http://ts1.tailnet.test:8080/
const CURL_GREETING = hex("05020001");
const CURL_REQ_DOMAIN = hex("05010003107473312e7461696c6e65742e746573741f90");
// curl --socks5 127.0.0.1:P http://127.0.0.1:8080/
const CURL_REQ_V4 = hex("050100017f0000011f90");
// curl --socks5 127.0.0.1:P http://[fd7a:115c:a1e0::1]:8080/
const CURL_REQ_V6 = hex("05010004fd7a115ca1e0000000000000000000011f90");
// curl --socks5-hostname 127.0.0.1:P -U alice:s3cret http://ts1:80/
const CURL_GREETING_AUTH = hex("0503000102");
const CURL_USERPASS = hex("0105616c69636506733363726574");
const CURL_REQ_SHORT = hex("05010003037473310050");

const enc = new TextEncoder();

Deno.test("parseGreeting() reads curl's greetings", () => {
  assertEquals(parseGreeting(CURL_GREETING, 0), { value: { methods: [0, 1] }, end: 4 });
  assertEquals(parseGreeting(CURL_GREETING_AUTH, 0), { value: { methods: [0, 1, 2] }, end: 5 });
});

Deno.test("parseRequest() reads curl's domain, IPv4 and IPv6 CONNECTs", () => {
  assertEquals(parseRequest(CURL_REQ_DOMAIN, 0)!.value, {
    command: 1,
    dest: { type: "domain", host: "ts1.tailnet.test", port: 8080 },
  });
  assertEquals(parseRequest(CURL_REQ_V4, 0)!.value, {
    command: 1,
    dest: { type: "ipv4", host: "127.0.0.1", port: 8080 },
  });
  assertEquals(parseRequest(CURL_REQ_V6, 0)!.value, {
    command: 1,
    dest: { type: "ipv6", host: "fd7a:115c:a1e0::1", port: 8080 },
  });
  assertEquals(parseRequest(CURL_REQ_SHORT, 0)!.end, CURL_REQ_SHORT.length);
});

Deno.test("parseUserPass() reads curl's RFC 1929 credentials", () => {
  const p = parseUserPass(CURL_USERPASS, 0)!;
  assertEquals(new TextDecoder().decode(p.value.username), "alice");
  assertEquals(new TextDecoder().decode(p.value.password), "s3cret");
  assertEquals(p.end, CURL_USERPASS.length);
});

Deno.test("stream parsers return null for every proper prefix of curl's messages", () => {
  const cases: [Uint8Array, (b: Uint8Array, o: number) => unknown][] = [
    [CURL_GREETING, parseGreeting],
    [CURL_GREETING_AUTH, parseGreeting],
    [CURL_USERPASS, parseUserPass],
    [CURL_REQ_DOMAIN, parseRequest],
    [CURL_REQ_V4, parseRequest],
    [CURL_REQ_V6, parseRequest],
  ];
  for (const [b, parse] of cases) {
    for (let n = 0; n < b.length; n++) assertEquals(parse(b.subarray(0, n), 0), null, toHex(b));
    assert(parse(b, 0) !== null);
  }
});

Deno.test("emit functions reproduce curl's bytes exactly, into 0xa5-filled buffers", () => {
  const check = (want: Uint8Array, len: number, emit: (out: Uint8Array, off: number) => number) => {
    assertEquals(len, want.length);
    const out = new Uint8Array(len).fill(0xa5);
    assertEquals(emit(out, 0), len);
    assertEquals(toHex(out), toHex(want));
    // At offset 3: bytes 0-2 untouched.
    const out3 = new Uint8Array(len + 3).fill(0xa5);
    assertEquals(emit(out3, 3), len + 3);
    assertEquals(toHex(out3.subarray(0, 3)), "a5a5a5");
    assertEquals(toHex(out3.subarray(3)), toHex(want));
  };
  const g = parseGreeting(CURL_GREETING_AUTH, 0)!.value;
  check(CURL_GREETING_AUTH, greetingLen(g), (o, off) => emitGreeting(g, o, off));
  const u = parseUserPass(CURL_USERPASS, 0)!.value;
  check(CURL_USERPASS, userPassLen(u), (o, off) => emitUserPass(u, o, off));
  for (const cap of [CURL_REQ_DOMAIN, CURL_REQ_V4, CURL_REQ_V6, CURL_REQ_SHORT]) {
    const r = parseRequest(cap, 0)!.value;
    check(cap, requestLen(r), (o, off) => emitRequest(r, o, off));
  }
});

Deno.test("emitReply() writes the error reply tailscaled sends, and parseReply() reads it", () => {
  const r = { reply: REP_CONNECTION_REFUSED, bind: ZERO_ADDR };
  const out = new Uint8Array(replyLen(r)).fill(0xa5);
  emitReply(r, out, 0);
  assertEquals(toHex(out), "05050001000000000000");
  assertEquals(parseReply(out, 0), { value: r, end: 10 });
  const ok = { reply: 0, bind: socksAddrOf("::1", 1080) };
  const b = new Uint8Array(replyLen(ok));
  emitReply(ok, b, 0);
  assertEquals(toHex(b), "050000040000000000000000000000000000000104" + "38");
  assertEquals(parseReply(b, 0)!.value, ok);
});

Deno.test("method selection and RFC 1929 replies are two bytes", () => {
  const b = new Uint8Array(4).fill(0xa5);
  assertEquals(emitMethodSelection(2, b, 0), 2);
  assertEquals(emitUserPassReply(1, b, 2), 4);
  assertEquals(toHex(b), "05020101");
  assertEquals(parseMethodSelection(b, 0), { value: 2, end: 2 });
  assertEquals(parseMethodSelection(b.subarray(0, 1), 0), null);
});

Deno.test("parseUdpHeader() reads a datagram header and finds the payload", () => {
  // RSV RSV FRAG ATYP=1 100.64.0.2 port 53, then "hi"
  const d = hex("000000016440000200356869");
  const h = parseUdpHeader(d, 0);
  assertEquals(h.value, { frag: 0, addr: { type: "ipv4", host: "100.64.0.2", port: 53 } });
  assertEquals(new TextDecoder().decode(d.subarray(h.end)), "hi");
  const out = new Uint8Array(udpHeaderLen(h.value) + 3).fill(0xa5);
  assertEquals(emitUdpHeader(h.value, out, 3), 13);
  assertEquals(toHex(out), "a5a5a5" + "00000001644000020035");
  const dom = { frag: 0, addr: { type: "domain" as const, host: "ts1", port: 7 } };
  const d2 = new Uint8Array(udpHeaderLen(dom));
  emitUdpHeader(dom, d2, 0);
  assertEquals(parseUdpHeader(d2, 0).value, dom);
});

Deno.test("parsers reject bad versions, empty fields and unknown address types", () => {
  assertThrows(() => parseGreeting(hex("04010000"), 0), ParseError, "version 4");
  assertThrows(() => parseGreeting(hex("0500"), 0), ParseError, "no methods");
  assertThrows(() => parseUserPass(hex("0500"), 0), ParseError, "version 5");
  assertThrows(() => parseUserPass(hex("0100"), 0), ParseError, "username: empty");
  assertThrows(() => parseUserPass(hex("01016100"), 0), ParseError, "password: empty");
  assertThrows(() => parseRequest(hex("050100030000"), 0), ParseError, "empty name");
  const e = assertThrows(() => parseRequest(hex("0501000500"), 0), Socks5ParseError);
  assertEquals((e as Socks5ParseError).reply, REP_ADDRESS_TYPE_NOT_SUPPORTED);
  assertThrows(() => parseUdpHeader(hex("000000"), 0), ParseError, "3 bytes");
  assertThrows(() => parseUdpHeader(hex("0100000100000000"), 0), ParseError, "reserved");
  assertThrows(() => parseUdpHeader(hex("00000001000000"), 0), ParseError, "truncated");
});

Deno.test("socksAddrOf() tells addresses from names; emit checks names and ports", () => {
  assertEquals(socksAddrOf("100.64.0.1", 1).type, "ipv4");
  assertEquals(socksAddrOf("FD7A:115C:A1E0:0:0:0:0:1", 1).host, "fd7a:115c:a1e0::1");
  assertEquals(socksAddrOf("999.1.1.1", 1).type, "domain");
  assertEquals(socksAddrOf("ts1", 1).type, "domain");
  const out = new Uint8Array(300);
  assertThrows(
    () => emitRequest({ command: 1, dest: socksAddrOf("a", 70000) }, out, 0),
    RangeError,
  );
  const long = { command: 1, dest: socksAddrOf("a".repeat(256), 1) };
  assertThrows(() => emitRequest(long, out, 0), RangeError);
  assertThrows(() => emitGreeting({ methods: [] }, out, 0), RangeError);
  assertThrows(
    () => emitUserPass({ username: enc.encode(""), password: enc.encode("x") }, out, 0),
    RangeError,
  );
});
