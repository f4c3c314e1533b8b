import { assert, assertEquals } from "./base/testing/assert.ts";
import type { PeerConfig } from "./config.ts";
import { peerForDestination, RoutedPrefixes } from "./routes.ts";
import { parseIpAddr } from "./wire/ip_addr.ts";

function has(r: RoutedPrefixes, ip: string): boolean {
  const a = parseIpAddr(ip);
  return r.contains(a, 0, a.length);
}

Deno.test("RoutedPrefixes: a subnet route holds its own addresses only", () => {
  const r = new RoutedPrefixes(["10.77.1.0/24", "not a prefix"]);
  assert(!r.empty);
  assert(has(r, "10.77.1.9"));
  assert(!has(r, "10.77.2.9"));
  assert(!has(r, "fd00::1"));
  assert(new RoutedPrefixes([]).empty);
});

Deno.test("RoutedPrefixes: an exit node relays anywhere but tailnet, loopback, multicast, unspecified", () => {
  const r = new RoutedPrefixes(["0.0.0.0/0", "::/0"]);
  for (const ip of ["8.8.8.8", "10.0.0.1", "2001:db8::1", "192.168.1.1"]) assert(has(r, ip), ip);
  for (
    const ip of [
      "100.64.0.5",
      "100.127.255.1",
      "fd7a:115c:a1e0::5",
      "127.0.0.1",
      "::1",
      "0.0.0.0",
      "::",
      "224.0.0.1",
      "255.255.255.255",
      "ff02::1",
    ]
  ) assert(!has(r, ip), ip);
});

function peer(name: string, allowedIps: string[]): PeerConfig {
  return {
    nodeKey: new Uint8Array(32) as PeerConfig["nodeKey"],
    discoKey: null,
    name,
    addresses: [allowedIps[0]],
    allowedIps,
    endpoints: [],
    homeDerp: 0,
  };
}

Deno.test("peerForDestination: the longest AllowedIPs prefix wins, as Go's PeerForIP", () => {
  const exit = peer("exit", ["100.64.0.2/32", "0.0.0.0/0", "::/0"]);
  const router = peer("router", ["100.64.0.3/32", "10.77.1.0/24"]);
  const peers = [exit, router];
  assertEquals(peerForDestination(peers, "10.77.1.2")?.peer.name, "router");
  assertEquals(peerForDestination(peers, "10.77.1.2")?.bits, 24);
  assertEquals(peerForDestination(peers, "10.77.2.2")?.peer.name, "exit");
  assertEquals(peerForDestination(peers, "10.77.2.2")?.bits, 0);
  assertEquals(peerForDestination(peers, "2001:db8::1")?.peer.name, "exit");
  assertEquals(peerForDestination(peers, "100.64.0.3")?.peer.name, "router");
  assertEquals(peerForDestination([router], "8.8.8.8"), null);
  assertEquals(peerForDestination(peers, "not an ip"), null);
});
