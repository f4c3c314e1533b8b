import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { toHex } from "../base/bytes.ts";
import { inspectIp, newIpInfo } from "./ip.ts";
import { emitIpHeader, fillTransportChecksum } from "./ip_build.ts";
import { assertEmits, CAPTURE } from "./testing/captures.ts";

// Rebuilds a captured packet: IP header from emitIpHeader with the capture's own field values,
// transport bytes copied with the checksum zeroed, then fillTransportChecksum.
function rebuild(
  p: Uint8Array,
  opts: { ttl?: number; tos?: number; id?: number; dontFragment?: boolean },
) {
  const info = newIpInfo();
  assert(inspectIp(p, 0, p.length, info));
  const src = p.slice(info.srcOff, info.srcOff + info.addrLen);
  const dst = p.slice(info.dstOff, info.dstOff + info.addrLen);
  const n = info.payloadEnd - info.payloadOff;
  return (out: Uint8Array, off: number) => {
    const at = emitIpHeader(src, dst, info.protocol, n, out, off, opts);
    out.set(p.subarray(info.payloadOff, info.payloadEnd), at);
    const ck = info.protocol === 6 ? 16 : info.protocol === 17 ? 6 : 2;
    out[at + ck] = 0;
    out[at + ck + 1] = 0;
    const info2 = newIpInfo();
    assert(inspectIp(out, off, at + n, info2));
    assert(fillTransportChecksum(out, info2));
    return at + n;
  };
}

Deno.test("emitIpHeader() + fillTransportChecksum() rebuild Linux packets byte for byte", () => {
  const cases: [
    keyof typeof CAPTURE,
    { ttl?: number; tos?: number; id?: number; dontFragment?: boolean },
  ][] = [
    ["TCPV4_SYN", { id: 62687, dontFragment: true }],
    ["UDPV4", { id: 42478, dontFragment: true }],
    ["ICMPV4_PORT_UNREACHABLE", { id: 0x1594, tos: 0xc0 }],
    ["TCPV6_DATA", { id: 0x8bb8b }],
    ["UDPV6", { id: 0xb3643 }],
    ["ICMPV6_ECHO_REPLY", { id: 0x4c4ff }],
  ];
  for (const [name, opts] of cases) assertEmits(rebuild(CAPTURE[name], opts), CAPTURE[name]);
});

Deno.test("emitIpHeader() sets TTL and the IPv6 traffic class", () => {
  const out = new Uint8Array(40);
  emitIpHeader(new Uint8Array(16), new Uint8Array(16), 17, 0, out, 0, {
    ttl: 1,
    tos: 0xb8,
    id: 0xfffff,
  });
  assertEquals(toHex(out.subarray(0, 8)), "6b8fffff00001101");
});

Deno.test("emitIpHeader() refuses mixed families, oversize payloads and short buffers", () => {
  const a4 = new Uint8Array(4), a6 = new Uint8Array(16);
  assertThrows(() => emitIpHeader(a4, a6, 6, 0, new Uint8Array(40), 0), RangeError);
  assertThrows(() => emitIpHeader(a4, a4, 6, 65516, new Uint8Array(40), 0), RangeError);
  assertThrows(() => emitIpHeader(a6, a6, 6, 0, new Uint8Array(39), 0), RangeError);
});

Deno.test("fillTransportChecksum() declines fragments, other protocols and short headers", () => {
  const info = newIpInfo();
  for (const name of ["IPV4_FRAG_FIRST", "IPV6_FRAG_LAST"] as const) {
    const p = CAPTURE[name].slice();
    assert(inspectIp(p, 0, p.length, info));
    assert(!fillTransportChecksum(p, info), name);
  }
  const tsmp = new Uint8Array(29);
  emitIpHeader(new Uint8Array(4), new Uint8Array(4), 99, 9, tsmp, 0);
  assert(inspectIp(tsmp, 0, tsmp.length, info));
  assert(!fillTransportChecksum(tsmp, info));
  const shortTcp = new Uint8Array(30);
  emitIpHeader(new Uint8Array(4), new Uint8Array(4), 6, 10, shortTcp, 0);
  assert(inspectIp(shortTcp, 0, shortTcp.length, info));
  assert(!fillTransportChecksum(shortTcp, info));
});
