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

Deno.test("AllowedIps: a re-pointed prefix leaves its old peer, and removing that peer keeps it", () => {
  const t = new AllowedIps<string>();
  t.insert(parsePrefix("10.0.0.0/8"), "a");
  t.insert(parsePrefix("10.1.0.0/16"), "a");
  t.insert(parsePrefix("10.1.0.0/16"), "b"); // re-pointed: now b's alone
  t.insert(parsePrefix("10.1.0.0/16"), "b"); // twice: listed once
  assertEquals(t.prefixesOf("a"), ["10.0.0.0/8"]);
  assertEquals(t.prefixesOf("b"), ["10.1.0.0/16"]);
  t.removePeer("a");
  assertEquals(lookup(t, "10.1.2.3"), "b");
  assertEquals(lookup(t, "10.2.0.1"), null);
  t.removePeer("b");
  assertEquals(lookup(t, "10.1.2.3"), null);
});

Deno.test("AllowedIps matches a plain prefix-list model under random inserts and removals", () => {
  // A seeded generator: prefixes nest and collide often (few distinct bytes, short lengths).
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const peers = ["a", "b", "c", "d", "e"];
  const t = new AllowedIps<string>();
  const model = new Map<string, string>(); // prefix text -> peer
  // Host prefixes (/32, /128) are kept apart from the trie: probes hit them exactly too.
  const probes = [
    "10.0.0.1",
    "10.1.0.1",
    "10.1.1.1",
    "11.0.0.1",
    "0.0.0.1",
    "fd00::1",
    "fd01::1",
    "10.1.1.0",
    "0.0.0.0",
    "11.1.0.0",
    "fd00::",
    "fd01::",
  ];
  for (let step = 0; step < 3000; step++) {
    if (rand(4) === 0) {
      const peer = peers[rand(peers.length)];
      t.removePeer(peer);
      for (const [k, v] of [...model]) if (v === peer) model.delete(k);
    } else {
      const v6 = rand(3) === 0;
      const text = v6
        ? `fd0${rand(2)}::/${[0, 8, 15, 16, 128][rand(5)]}`
        : `${[0, 10, 11][rand(3)]}.${rand(2)}.${rand(2)}.0/${[0, 8, 16, 24, 32][rand(5)]}`;
      const prefix = parsePrefix(text);
      const peer = peers[rand(peers.length)];
      t.insert(prefix, peer);
      model.set(formatPrefixText(text), peer);
    }
    for (const peer of peers) {
      const want = [...model].filter(([, v]) => v === peer).map(([k]) => k);
      assertEquals(t.prefixesOf(peer).sort(), want.sort(), `step ${step}, ${peer}'s prefixes`);
    }
    for (const ip of probes) {
      assertEquals(lookup(t, ip), modelLookup(model, ip), `step ${step}, ${ip}`);
    }
  }
});

/** The canonical text of a prefix (host bits cleared), as prefixesOf() prints it. */
function formatPrefixText(text: string): string {
  const p = parsePrefix(text);
  return `${formatIp(p.addr)}/${p.bits}`;
}

/** Longest match by brute force over the model. */
function modelLookup(model: Map<string, string>, ip: string): string | null {
  const addr = parseIp(ip);
  let best: string | null = null;
  let bestBits = -1;
  for (const [text, peer] of model) {
    const p = parsePrefix(text);
    if (p.addr.length !== addr.length || p.bits <= bestBits) continue;
    let inside = true;
    for (let i = 0; i < p.bits && inside; i++) {
      const bit = (x: Uint8Array) => (x[i >> 3] >> (7 - (i & 7))) & 1;
      if (bit(p.addr) !== bit(addr)) inside = false;
    }
    if (inside) {
      best = peer;
      bestBits = p.bits;
    }
  }
  return best;
}

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
