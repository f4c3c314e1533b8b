import { assert, assertEquals } from "../base/testing/assert.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { PingTimeoutError } from "../disco/ping_tracker.ts";
import { parseIpAddr } from "../wire/ip_addr.ts";
import { PING_TIMEOUT_MS } from "./constants.ts";
import { IpPinger } from "./pinger.ts";
import { Responder } from "./responder.ts";

const US = parseIpAddr("100.64.0.1"), PEER = parseIpAddr("100.64.0.2");
const US6 = parseIpAddr("fd7a:115c:a1e0::1"), PEER6 = parseIpAddr("fd7a:115c:a1e0::2");

/** The peer's side: answers what is addressed to it, as a node's responder does. */
function answerAsPeer(packet: Uint8Array, peer: Uint8Array): Uint8Array {
  const r = new Responder().handle(packet, (b, off, len) => {
    return len === peer.length && b.subarray(off, off + len).every((x, i) => x === peer[i]);
  });
  assert(r.kind === "reply", r.kind);
  return r.packet;
}

Deno.test("IpPinger matches ICMP and TSMP answers and times round trips on its clock", async () => {
  const clock = new ManualClock();
  const pinger = new IpPinger({ clock });
  const icmp = pinger.icmp(US, PEER, PING_TIMEOUT_MS);
  const icmp6 = pinger.icmp(US6, PEER6, PING_TIMEOUT_MS);
  const tsmp = pinger.tsmp(US, PEER, PING_TIMEOUT_MS);
  clock.advance(12);
  assert(pinger.observe(answerAsPeer(icmp.packet, PEER)));
  clock.advance(3);
  assert(pinger.observe(answerAsPeer(icmp6.packet, PEER6)));
  assert(pinger.observe(answerAsPeer(tsmp.packet, PEER)));
  assertEquals(await icmp.answer, { value: { peerApiPort: 0 }, rttMs: 12 });
  assertEquals(await icmp6.answer, { value: { peerApiPort: 0 }, rttMs: 15 });
  assertEquals((await tsmp.answer).rttMs, 15);
  assertEquals(clock.pending, 0);
  // A second copy of an answer is not ours any more: the stack may have it.
  assert(!pinger.observe(answerAsPeer(icmp.packet, PEER)));
});

Deno.test("IpPinger times out an unanswered ping on a ManualClock without waiting", async () => {
  const clock = new ManualClock();
  const pinger = new IpPinger({ clock });
  const { answer } = pinger.tsmp(US, PEER, PING_TIMEOUT_MS);
  let err: unknown = null;
  const settled = answer.catch((e) => err = e);
  clock.advance(PING_TIMEOUT_MS);
  await settled;
  assert(err instanceof PingTimeoutError, String(err));
  pinger.close();
});
