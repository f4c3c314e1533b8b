import { assert, assertEquals } from "../base/testing/assert.ts";
import { formatIpAddrAt } from "./ip_addr.ts";
import { inspectIp, ipVersion, newIpInfo } from "./ip.ts";
import { parseIcmpv4 } from "./icmpv4.ts";
import { parseIcmpv6 } from "./icmpv6.ts";
import { CAPTURE } from "./testing/captures.ts";

Deno.test("inspectIp() finds addresses, protocol and payload in every capture", () => {
  const info = newIpInfo();
  // [capture, version, src, dst, protocol, payloadOff, payloadEnd, fragment, laterFragment]
  const table: [
    keyof typeof CAPTURE,
    number,
    string,
    string,
    number,
    number,
    number,
    boolean,
    boolean,
  ][] = [
    ["TCPV4_SYN", 4, "10.99.0.1", "10.99.0.2", 6, 20, 60, false, false],
    ["IPV4_RR_ECHO_REQUEST", 4, "10.99.0.1", "10.99.0.2", 1, 60, 124, false, false],
    ["ICMPV4_PORT_UNREACHABLE", 4, "10.99.0.2", "10.99.0.1", 1, 20, 68, false, false],
    ["IPV4_FRAG_FIRST", 4, "10.99.0.1", "10.99.0.2", 17, 20, 1276, true, false],
    ["IPV4_FRAG_LAST", 4, "10.99.0.1", "10.99.0.2", 17, 20, 820, true, true],
    ["TCPV6_SYN", 6, "fd99::1", "fd99::2", 6, 40, 80, false, false],
    ["IPV6_MLD_HOP_BY_HOP", 6, "fe80::6841:fff:feb6:adf3", "ff02::16", 58, 48, 96, false, false],
    ["IPV6_DSTOPTS_UDP", 6, "fd99::1", "fd99::2", 17, 48, 64, false, false],
    ["IPV6_FRAG_FIRST", 6, "fd99::1", "fd99::2", 17, 48, 1280, true, false],
    ["IPV6_FRAG_LAST", 6, "fd99::1", "fd99::2", 17, 48, 872, true, true],
    ["IPV6_SRH_UDP", 6, "fd99::1", "fd99::2", 17, 80, 92, false, false],
  ];
  for (const [name, v, src, dst, proto, po, pe, frag, later] of table) {
    const p = CAPTURE[name];
    assert(inspectIp(p, 0, p.length, info), name);
    assertEquals(ipVersion(p, 0), v, name);
    assertEquals(
      [
        info.version,
        formatIpAddrAt(p, info.srcOff, info.addrLen),
        formatIpAddrAt(p, info.dstOff, info.addrLen),
        info.protocol,
        info.payloadOff,
        info.payloadEnd,
        info.fragment,
        info.laterFragment,
        info.truncated,
      ],
      [v, src, dst, proto, po, pe, frag, later, false],
      name,
    );
  }
  assertEquals(info.ttl, 64);
});

Deno.test("inspectIp() works at an offset inside a larger buffer", () => {
  const p = CAPTURE.UDPV6;
  const b = new Uint8Array(p.length + 20);
  b.set(p, 16);
  const info = newIpInfo();
  assert(inspectIp(b, 16, 16 + p.length, info));
  assertEquals([info.srcOff, info.dstOff, info.payloadOff, info.payloadEnd], [
    24,
    40,
    56,
    16 + p.length,
  ]);
});

Deno.test("inspectIp() refuses truncated packets unless allowTruncated, for quoted ICMP originals", () => {
  const info = newIpInfo();
  const q4 = CAPTURE.ICMPV4_PORT_UNREACHABLE;
  const m4 = parseIcmpv4(q4, 20, q4.length);
  assert(m4.type === "dest-unreachable");
  const cut4 = m4.original.subarray(0, 28); // IP header + 8 bytes, the RFC 792 minimum
  assert(!inspectIp(cut4, 0, cut4.length, info));
  assert(inspectIp(cut4, 0, cut4.length, info, true));
  assertEquals([info.protocol, info.payloadOff, info.payloadEnd, info.truncated], [
    17,
    20,
    28,
    true,
  ]);
  const q6 = CAPTURE.ICMPV6_PORT_UNREACHABLE;
  const m6 = parseIcmpv6(q6, 40, q6.length);
  assert(m6.type === "dest-unreachable");
  const cut6 = m6.original.subarray(0, 48);
  assert(!inspectIp(cut6, 0, cut6.length, info));
  assert(inspectIp(cut6, 0, cut6.length, info, true));
  assertEquals([info.protocol, info.payloadOff, info.payloadEnd, info.truncated], [
    17,
    40,
    48,
    true,
  ]);
  // Even truncated, the header itself must be there.
  assert(!inspectIp(cut4, 0, 19, info, true));
  assert(!inspectIp(cut6, 0, 39, info, true));
});

Deno.test("inspectIp() rejects other versions, empty input and out-of-range bounds", () => {
  const info = newIpInfo();
  const p = CAPTURE.TCPV4_SYN.slice();
  assert(!inspectIp(p, 0, 0, info));
  assert(!inspectIp(p, 0, p.length + 1, info));
  assert(!inspectIp(p, -1, p.length, info));
  p[0] = 0x55;
  assert(!inspectIp(p, 0, p.length, info));
  assertEquals(ipVersion(p, 0), 5);
  assertEquals(ipVersion(p, p.length), 0);
});
