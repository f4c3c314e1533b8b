import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { toHex } from "../base/bytes.ts";
import { ParseError } from "../base/errors.ts";
import {
  formatIpAddr,
  formatIpAddrAt,
  formatIpPrefix,
  parseIpAddr,
  parseIpPrefix,
  parseIpv4Addr,
  parseIpv6Addr,
  prefixContains,
  prefixContainsAt,
} from "./ip_addr.ts";
import { CAPTURE } from "./testing/captures.ts";

Deno.test("parseIpAddr()/formatIpAddr() round-trip Go netip text forms", () => {
  // [input, bytes, Go's String()]
  const table: [string, string, string][] = [
    ["100.64.0.1", "64400001", "100.64.0.1"],
    ["0.0.0.0", "00000000", "0.0.0.0"],
    ["255.255.255.255", "ffffffff", "255.255.255.255"],
    ["fd7a:115c:a1e0::1", "fd7a115ca1e000000000000000000001", "fd7a:115c:a1e0::1"],
    ["FD7A:115C:A1E0:0:0:0:0:1", "fd7a115ca1e000000000000000000001", "fd7a:115c:a1e0::1"],
    ["::", "00000000000000000000000000000000", "::"],
    ["::1", "00000000000000000000000000000001", "::1"],
    ["1::", "00010000000000000000000000000000", "1::"],
    ["2001:db8:0:0:1:0:0:1", "20010db8000000000001000000000001", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"],
    ["::ffff:10.1.2.3", "00000000000000000000ffff0a010203", "::ffff:10.1.2.3"],
    ["64:ff9b::192.0.2.33", "0064ff9b0000000000000000c0000221", "64:ff9b::c000:221"],
    ["fd99::2", "fd990000000000000000000000000002", "fd99::2"],
  ];
  for (const [text, hex, formatted] of table) {
    const a = parseIpAddr(text);
    assertEquals(toHex(a), hex, text);
    assertEquals(formatIpAddr(a), formatted, text);
    assertEquals(toHex(parseIpAddr(formatted)), hex, formatted);
  }
});

Deno.test("parseIpv4Addr()/parseIpv6Addr() reject malformed text with ParseError", () => {
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.-4",
      "a.b.c.d",
      " 1.2.3.4",
    ]
  ) {
    assertThrows(() => parseIpv4Addr(bad), ParseError, "IPv4");
  }
  for (
    const bad of [
      "",
      ":",
      ":::",
      "1:::2",
      "1::2::3",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "g::",
      "fe80::1%eth0",
      "::1.2.3",
      "1:2:3:4:5:6:7::8",
      ":1:2:3:4:5:6:7",
    ]
  ) {
    assertThrows(() => parseIpv6Addr(bad), ParseError, "IPv6");
  }
});

Deno.test("formatIpAddrAt() reads addresses inside a captured packet", () => {
  const p = CAPTURE.TCPV6_SYN;
  assertEquals(formatIpAddrAt(p, 8, 16), "fd99::1");
  assertEquals(formatIpAddrAt(CAPTURE.TCPV4_SYN, 16, 4), "10.99.0.2");
  assertThrows(() => formatIpAddrAt(p, 0, 5), RangeError);
});

Deno.test("prefixContains() matches by whole and partial bytes, never across families", () => {
  const cgnat = parseIpPrefix("100.64.0.0/10");
  assert(prefixContains(cgnat, parseIpAddr("100.64.0.1")));
  assert(prefixContains(cgnat, parseIpAddr("100.127.255.255")));
  assert(!prefixContains(cgnat, parseIpAddr("100.128.0.0")));
  assert(!prefixContains(cgnat, parseIpAddr("::ffff:100.64.0.1")));
  const ula = parseIpPrefix("fd7a:115c:a1e0::/48");
  assert(prefixContains(ula, parseIpAddr("fd7a:115c:a1e0:ab12::1")));
  assert(!prefixContains(ula, parseIpAddr("fd7a:115c:a1e1::1")));
  assert(prefixContains(parseIpPrefix("0.0.0.0/0"), parseIpAddr("1.2.3.4")));
  assert(prefixContains(parseIpPrefix("10.99.0.2/32"), parseIpAddr("10.99.0.2")));
  assert(!prefixContains(parseIpPrefix("10.99.0.2/32"), parseIpAddr("10.99.0.3")));
  assert(prefixContainsAt(parseIpPrefix("fd99::/64"), CAPTURE.TCPV6_SYN, 24, 16));
  assertEquals(formatIpPrefix(ula), "fd7a:115c:a1e0::/48");
});

Deno.test("parseIpPrefix() rejects bad lengths", () => {
  for (
    const bad of ["10.0.0.0", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/a"]
  ) {
    assertThrows(() => parseIpPrefix(bad), ParseError, bad);
  }
});
