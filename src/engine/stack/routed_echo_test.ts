import { assert, assertEquals } from "../base/testing/assert.ts";
import {
  emitIcmpv4,
  emitIpHeader,
  icmpv4Len,
  inspectIp,
  IP_PROTO_ICMP,
  newIpInfo,
  parseIcmpv4,
  parseIpAddr,
} from "../wire/mod.ts";
import { MAX_ROUTED_PINGS, RoutedEcho } from "./routed_echo.ts";

function echoRequest(src: string, dst: string, seq: number): Uint8Array {
  const m = { type: "echo-request" as const, ident: 9, seq, data: new Uint8Array([1, 2, 3]) };
  const n = icmpv4Len(m);
  const out = new Uint8Array(20 + n);
  const at = emitIpHeader(parseIpAddr(src), parseIpAddr(dst), IP_PROTO_ICMP, n, out, 0);
  emitIcmpv4(m, out, at);
  return out;
}

const routed = (b: Uint8Array, off: number, len: number) =>
  len === 4 && b[off] === 10 && b[off + 1] === 77;

Deno.test("RoutedEcho answers an echo to a routed destination only when the host's ping succeeds", async () => {
  const replies: Uint8Array[] = [];
  const asked: string[] = [];
  const echo = new RoutedEcho({
    routed,
    reply: (p) => replies.push(p),
    ping: (ip) => {
      asked.push(ip);
      return Promise.resolve(ip === "10.77.1.2");
    },
  });
  const info = newIpInfo();
  const take = (src: string, dst: string, seq: number) => {
    const p = echoRequest(src, dst, seq);
    assert(inspectIp(p, 0, p.length, info));
    return echo.take(p, info);
  };
  assert(take("100.64.0.2", "10.77.1.2", 1), "routed, taken");
  assert(take("100.64.0.2", "10.77.1.3", 2), "routed, taken (no answer)");
  assert(!take("100.64.0.2", "10.78.0.1", 3), "not routed: left for the stack");
  await echo.close();
  assertEquals(asked, ["10.77.1.2", "10.77.1.3"]);
  assertEquals(replies.length, 1);
  assert(inspectIp(replies[0], 0, replies[0].length, info));
  const r = parseIcmpv4(replies[0], info.payloadOff, info.payloadEnd);
  assertEquals(r.type, "echo-reply");
  assertEquals(r.type === "echo-reply" ? r.seq : -1, 1);
  assertEquals([...replies[0].subarray(12, 20)], [10, 77, 1, 2, 100, 64, 0, 2]);
  assertEquals(echo.stats, { requests: 2, answered: 1, unanswered: 1, busy: 0 });
});

Deno.test("RoutedEcho runs at most MAX_ROUTED_PINGS at once, dropping and counting the rest", async () => {
  const gate = Promise.withResolvers<boolean>();
  const echo = new RoutedEcho({ routed, reply: () => {}, ping: () => gate.promise });
  const info = newIpInfo();
  for (let i = 0; i < MAX_ROUTED_PINGS + 3; i++) {
    const p = echoRequest("100.64.0.2", "10.77.1.2", i);
    inspectIp(p, 0, p.length, info);
    echo.take(p, info);
  }
  gate.resolve(true);
  await echo.close();
  assertEquals(echo.stats.busy, 3);
  assertEquals(echo.stats.answered, MAX_ROUTED_PINGS);
});
