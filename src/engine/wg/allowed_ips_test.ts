import { assertEquals, assertThrows } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import { AllowedIps, formatIp, parseIp, parsePrefix } from "./allowed_ips.ts";

function lookup(t: AllowedIps<string>, ip: string): string | null {
  const b = parseIp(ip);
  return t.lookup(b, 0, b.length as 4 | 16);
}

Deno.test("AllowedIps.lookup() picks the longest matching prefix per family", () => {
  const t = new AllowedIps<string>();
  const table: [string, string][] = [
    ["0.0.0.0/0", "default"],
    ["10.0.0.0/8", "ten"],
    ["10.1.0.0/16", "ten-one"],
    ["10.1.2.3/32", "host"],
    ["::/0", "v6default"],
    ["fd7a:115c:a1e0::/48", "tailnet"],
    ["fd7a:115c:a1e0::5/128", "v6host"],
  ];
  for (const [p, peer] of table) t.insert(parsePrefix(p), peer);
  const cases: [string, string | null][] = [
    ["10.1.2.3", "host"],
    ["10.1.2.4", "ten-one"],
    ["10.2.0.1", "ten"],
    ["192.0.2.1", "default"],
    ["fd7a:115c:a1e0::5", "v6host"],
    ["fd7a:115c:a1e0:ab12::1", "tailnet"],
    ["2001:db8::1", "v6default"],
  ];
  for (const [ip, want] of cases) assertEquals(lookup(t, ip), want, ip);
});

Deno.test("AllowedIps.removePeer() removes only that peer's prefixes; prefixesOf() lists them", () => {
  const t = new AllowedIps<string>();
  t.insert(parsePrefix("10.0.0.0/8"), "a");
  t.insert(parsePrefix("10.1.0.0/16"), "b");
  t.insert(parsePrefix("fd00::/8"), "b");
  assertEquals(t.prefixesOf("b"), ["10.1.0.0/16", "fd00::/8"]);
  t.removePeer("b");
  assertEquals(lookup(t, "10.1.2.3"), "a");
  assertEquals(lookup(t, "fd00::1"), null);
  assertEquals(t.prefixesOf("b"), []);
  assertEquals(t.prefixesOf("a"), ["10.0.0.0/8"]);
});

Deno.test("parsePrefix() clears host bits and reads bare addresses as host prefixes", () => {
  assertEquals(formatIp(parsePrefix("10.1.2.3/8").addr), "10.0.0.0");
  assertEquals(parsePrefix("10.1.2.3").bits, 32);
  assertEquals(parsePrefix("fd7a:115c:a1e0::1").bits, 128);
  assertEquals(formatIp(parsePrefix("fd7a:115c:a1e0:ffff::1/48").addr), "fd7a:115c:a1e0::");
  assertEquals(formatIp(parseIp("::1")), "::1");
  assertEquals(formatIp(parseIp("1:0:0:2::")), "1:0:0:2::");
});

Deno.test("parsePrefix() throws ParseError on bad input", () => {
  for (
    const bad of [
      "",
      "10.0.0",
      "10.0.0.256",
      "10.0.0.0/33",
      "::/129",
      "1::2::3",
      "01.2.3.4",
      "fd7a::/x",
      "1:2:3:4:5:6:7:8:9",
    ]
  ) {
    assertThrows(() => parsePrefix(bad), ParseError, undefined);
  }
});
