import { assertEquals } from "../base/testing/assert.ts";
import { parseIpAddr } from "../wire/ip_addr.ts";
import { type AddrQuality, betterAddr } from "./better_addr.ts";

function q(text: string, latencyMs: number): AddrQuality {
  const i = text.lastIndexOf(":");
  const ip = text.slice(0, i).replace(/^\[|\]$/g, "");
  return { ip: parseIpAddr(ip), port: Number(text.slice(i + 1)), latencyMs };
}

// [a, b, a better?] — cases worked out from Go's betterAddr rules (v1.98.10).
const CASES: [AddrQuality, AddrQuality | null, boolean, string][] = [
  [q("1.2.3.4:1", 10), null, true, "anything beats no path"],
  [q("1.2.3.4:1", 5), q("1.2.3.4:1", 50), false, "the same path is not better than itself"],
  [q("1.2.3.4:1", 10), q("5.6.7.8:1", 100), true, "90% faster"],
  [q("1.2.3.4:1", 100), q("5.6.7.8:1", 10), false, "90% slower"],
  [q("1.2.3.4:1", 99.5), q("5.6.7.8:1", 100), false, "under 1% faster: keep the current one"],
  [q("1.2.3.4:1", 97), q("5.6.7.8:1", 100), true, "3% faster"],
  [q("127.0.0.1:1", 2), q("192.0.2.2:1", 1.5), true, "loopback +50 beats 25% faster"],
  [q("127.0.0.1:1", 2), q("192.0.2.2:1", 1), false, "loopback +50 ties 50% faster: keep"],
  [q("192.168.1.2:1", 10), q("1.2.3.4:1", 10), true, "private +20 at equal latency"],
  [q("10.0.0.1:1", 10), q("172.16.0.1:1", 10), false, "two private paths, equal: keep"],
  [q("169.254.1.1:1", 10), q("10.0.0.1:1", 10), true, "link-local +30 over private +20"],
  [q("[2001:db8::1]:1", 10), q("1.2.3.4:1", 10), true, "IPv6 +10 at equal latency"],
  [q("1.2.3.4:1", 10), q("[2001:db8::1]:1", 10), false, "IPv4 against IPv6 at equal latency"],
  [q("[fd00::2]:1", 10), q("192.168.0.1:1", 10), true, "ULA is private, and IPv6"],
  [q("[::1]:1", 10), q("127.0.0.1:1", 10), true, "IPv6 loopback over IPv4 loopback"],
  [q("[fe80::1]:1", 10), q("[fd00::1]:1", 10), true, "IPv6 link-local over ULA"],
  [q("1.2.3.4:1", 0), q("5.6.7.8:1", 0), false, "no latency either side"],
  [q("1.2.3.4:2", 10), q("1.2.3.4:1", 10), false, "other port, same everything: keep"],
];

Deno.test("betterAddr() ranks paths as magicsock does", () => {
  for (const [a, b, want, why] of CASES) assertEquals(betterAddr(a, b), want, why);
});
