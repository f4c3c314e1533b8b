import { assert, assertEquals } from "../base/testing/assert.ts";
import { createHash } from "node:crypto";
import { Prng, SimNet } from "./testing/sim_net.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import type { StackConn } from "./conn.ts";
import { Stack } from "./stack.ts";
import { ICMP_ERROR_BURST } from "./constants.ts";
import {
  emitIcmpv4,
  emitIcmpv6,
  emitIpHeader,
  IP_PROTO_ICMP,
  IP_PROTO_ICMPV6,
  parseIcmpv4,
  parseIcmpv6,
  parseIpAddr,
} from "../wire/mod.ts";

const A4 = "100.64.0.1", B4 = "100.64.0.2";
const A6 = "fd7a:115c:a1e0::1", B6 = "fd7a:115c:a1e0::2";

function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Opens a connection a → b:port inside the simulation. */
async function simConnect(
  net: SimNet,
  a: Stack,
  b: Stack,
  ip: string,
  port: number,
): Promise<{ client: StackConn; server: StackConn }> {
  const lis = b.listenTcp({ port });
  const accepted = lis.accept();
  const client = a.openTcp(ip, port);
  assert(net.run(() => client.socket.state === "established" && net.idle), "handshake");
  const server = await accepted;
  lis.close();
  return { client, server };
}

/** Moves `size` bytes a → b (and `back` bytes b → a) through the sim; returns digests. */
function simTransfer(
  net: SimNet,
  client: StackConn,
  server: StackConn,
  data: Uint8Array,
  back: Uint8Array,
  maxMs: number,
): { got: Uint8Array; gotBack: Uint8Array; ok: boolean } {
  const got = new Uint8Array(data.length);
  const gotBack = new Uint8Array(back.length);
  let sent = 0, sentBack = 0, recvd = 0, recvdBack = 0;
  const cs = client.socket, ss = server.socket;
  const ok = net.run(
    () => recvd === data.length && recvdBack === back.length,
    () => {
      if (sent < data.length) sent += cs.send(data.subarray(sent, sent + 256 * 1024));
      if (sentBack < back.length) sentBack += ss.send(back.subarray(sentBack, sentBack + 65536));
      if (ss.recvQueued > 0) recvd += ss.recv(got.subarray(recvd));
      if (cs.recvQueued > 0) recvdBack += cs.recv(gotBack.subarray(recvdBack));
    },
    maxMs,
  );
  return { got, gotBack, ok };
}

Deno.test("Stack moves 1 MiB each way over a clean link (IPv4)", async () => {
  const net = new SimNet({ delayMs: 5 });
  const a = net.addStack([A4]), b = net.addStack([B4]);
  const { client, server } = await simConnect(net, a, b, B4, 80);
  const rng = new Prng(7);
  const data = new Uint8Array(1 << 20), back = new Uint8Array(1 << 20);
  rng.fill(data);
  rng.fill(back);
  const r = simTransfer(net, client, server, data, back, 60_000);
  assert(r.ok, "transfer finished");
  assertEquals(sha(r.got), sha(data));
  assertEquals(sha(r.gotBack), sha(back));
  assertEquals(client.socket.stats.retransmits, 0);
  net.close();
});

Deno.test("Stack closes both directions with FIN and reaches TIME-WAIT then CLOSED", async () => {
  const net = new SimNet({ delayMs: 5 });
  const a = net.addStack([A6]), b = net.addStack([B6]);
  const { client, server } = await simConnect(net, a, b, B6, 443);
  client.socket.send(new TextEncoder().encode("hello"));
  client.socket.close();
  assert(net.run(() => server.socket.state === "close-wait"));
  const buf = new Uint8Array(16);
  assertEquals(server.socket.recv(buf), 5);
  assert(server.socket.recvFinished);
  server.socket.close();
  assert(net.run(() => client.socket.state === "time-wait" && server.socket.state === "closed"));
  assert(net.run(() => client.socket.state === "closed", () => {}, 120_000));
  assertEquals(a.connectionCount, 0);
  assertEquals(b.connectionCount, 0);
  net.close();
});

Deno.test("Stack lets a newer SYN take over a four-tuple in TIME-WAIT (RFC 6191)", async () => {
  const net = new SimNet({ delayMs: 5 });
  // The client's random source is constant, so it picks the same source port twice, as a peer
  // that allocates ports in sequence does after wrapping.
  const a = net.addStack([A4], { random: (out) => out.fill(0x42) }), b = net.addStack([B4]);
  const first = await simConnect(net, a, b, B4, 80);
  first.server.socket.close(); // the server closes first: it holds TIME-WAIT
  assert(net.run(() => first.client.socket.state === "close-wait"));
  first.client.socket.close();
  assert(net.run(() => first.server.socket.state === "time-wait" && a.connectionCount === 0));
  const t0 = net.now;
  const second = await simConnect(net, a, b, B4, 80);
  assertEquals(second.client.localAddr.port, first.client.localAddr.port, "same four-tuple");
  assert(net.now - t0 < 100, `handshake in one round trip, took ${net.now - t0} ms`);
  assertEquals(b.stats.timeWaitReused, 1);
  assertEquals(first.server.socket.state, "closed");
  const r = simTransfer(
    net,
    second.client,
    second.server,
    new Uint8Array(5000).fill(7),
    new Uint8Array(0),
    10_000,
  );
  assert(r.ok, "data on the new connection");
  net.close();
});

Deno.test("Stack moves 20 MiB with 1% loss, 50 ms delay, reordering, corruption (SHA-256 checked)", async () => {
  const net = new SimNet(
    { loss: 0.01, delayMs: 25, reorder: 0.01, reorderMs: 8, corrupt: 0.002 },
    42,
  );
  const a = net.addStack([A4]), b = net.addStack([B4]);
  const { client, server } = await simConnect(net, a, b, B4, 5001);
  const rng = new Prng(9);
  const data = new Uint8Array(20 << 20);
  rng.fill(data);
  const t0 = net.now;
  const wall = performance.now();
  const r = simTransfer(net, client, server, data, new Uint8Array(0), 3_600_000);
  assert(r.ok, `transfer finished (${net.now - t0} ms simulated)`);
  assertEquals(sha(r.got), sha(data));
  const s = client.socket.stats;
  // deno-lint-ignore no-console -- the numbers are the point
  console.error(
    `[stack sim] 20 MiB, 1% loss, RTT 50 ms: ${((net.now - t0) / 1000).toFixed(1)} s simulated ` +
      `(${((20 * 8) / ((net.now - t0) / 1000)).toFixed(2)} Mbit/s), ${
        (performance.now() - wall).toFixed(0)
      } ms CPU; retransmits ${s.retransmits}, timeouts ${s.timeouts}, recoveries ${s.recoveries}; ` +
      `packets ${JSON.stringify(net.counts)}`,
  );
  assert(s.recoveries > 0, "losses were recovered by fast recovery");
  assert(a.stats.drops.badChecksum + b.stats.drops.badChecksum > 0, "corruption was caught");
  net.close();
});

Deno.test("Stack resumes after the receiver's window closed (zero-window probes)", async () => {
  const net = new SimNet({ delayMs: 10 });
  const a = net.addStack([A4]);
  const b = net.addStack([B4], { recvBufferMax: 64 << 10 });
  const { client, server } = await simConnect(net, a, b, B4, 80);
  const data = new Uint8Array(300_000);
  new Prng(5).fill(data);
  let sent = 0;
  // Nobody reads: the window fills and closes.
  net.run(() => false, () => {
    if (sent < data.length) sent += client.socket.send(data.subarray(sent));
  }, 5_000);
  // Full up to the window-scale granularity (128 bytes with shift 7).
  assert(server.socket.recvQueued > (64 << 10) - 128, `${server.socket.recvQueued} queued`);
  assertEquals(client.socket.seqState.sndWnd, 0);
  const got = new Uint8Array(data.length);
  let recvd = 0;
  const ok = net.run(() => recvd === data.length, () => {
    if (sent < data.length) sent += client.socket.send(data.subarray(sent));
    recvd += server.socket.recv(got.subarray(recvd));
  }, 120_000);
  assert(ok, `resumed: ${recvd} of ${data.length}`);
  assertEquals(sha(got), sha(data));
  net.close();
});

Deno.test("Stack counts drops by reason and answers strays with RST", () => {
  const net = new SimNet({});
  const b = net.addStack([B4]);
  const sent: Uint8Array[] = [];
  const probe = new SimNet({}).addStack([A4], {
    output: (buf, off, len) => sent.push(buf.slice(off, off + len)),
  });
  // A real SYN from `probe` to B, then variants of it.
  probe.openTcp(B4, 80);
  probe.pollAll();
  const syn = sent[0];
  assert(syn !== undefined && syn[0] === 0x45);
  b.input(syn.subarray(0, 10));
  assertEquals(b.stats.drops.malformed, 1);
  const other = syn.slice();
  other[19] = 99; // destination 100.64.0.99: not ours (header checksum unchecked here)
  b.input(other);
  assertEquals(b.stats.drops.notOurs, 1);
  const frag = syn.slice();
  frag[6] = 0x20; // more fragments
  b.input(frag);
  assertEquals(b.stats.drops.fragment, 1);
  const bad = syn.slice();
  bad[bad.length - 1] ^= 0xff;
  b.input(bad);
  assertEquals(b.stats.drops.badChecksum, 1);
  const proto = syn.slice();
  proto[9] = 47; // GRE
  b.input(proto);
  assertEquals(b.stats.drops.protocol, 1);
  const before = b.stats.packetsOut;
  b.input(syn);
  assertEquals(b.stats.drops.noConnection, 1);
  assertEquals(b.stats.packetsOut, before + 1, "RST sent");
  probe.close();
  net.close();
});

Deno.test("Stack answers UDP to a port nobody serves with ICMP port unreachable, rate-limited", () => {
  const clock = new ManualClock({ startMs: 1000 });
  /** A stack on the test's clock whose packets are kept in `into`. */
  const recording = (addresses: string[], into: Uint8Array[]) =>
    new Stack({
      addresses,
      output: (buf, off, len) => into.push(buf.slice(off, off + len)),
      clock,
    });
  const out: Uint8Array[] = [], sent: Uint8Array[] = [];
  const b = recording([B4, B6], out), a = recording([A4, A6], sent);
  const sock = a.bindUdp(4000);
  sock.send(new TextEncoder().encode("anyone?"), B4, 7);
  sock.send(new TextEncoder().encode("anyone?"), B6, 7);
  const [v4, v6] = sent;
  b.input(v4);
  assertEquals(out.length, 1);
  const e4 = out[0];
  assertEquals(e4[9], 1, "ICMP");
  assertEquals([...e4.subarray(16, 20)], [100, 64, 0, 1], "back to the sender");
  const m4 = parseIcmpv4(e4, 20, e4.length);
  assert(m4.type === "dest-unreachable" && m4.code === 3, JSON.stringify(m4.type));
  assertEquals(m4.original, v4, "the whole datagram quoted");
  b.input(v6);
  const e6 = out[1];
  assertEquals(e6[6], 58, "ICMPv6");
  const m6 = parseIcmpv6(e6, 40, e6.length, { src: e6.subarray(8, 24), dst: e6.subarray(24, 40) });
  assert(m6.type === "dest-unreachable" && m6.code === 4, JSON.stringify(m6.type));
  assertEquals(m6.original, v6);
  assertEquals(b.stats.drops.noUdpSocket, 2);
  // A flood gets at most the burst, then the per-second rate.
  for (let i = 0; i < 200; i++) b.input(v4);
  assertEquals(b.stats.icmpErrorsSent, ICMP_ERROR_BURST);
  assertEquals(b.stats.icmpErrorsLimited, 200 + 2 - ICMP_ERROR_BURST);
  clock.advance(10); // 10 ms: ten more at 1000 per second
  for (let i = 0; i < 20; i++) b.input(v4);
  assertEquals(b.stats.icmpErrorsSent, ICMP_ERROR_BURST + 10);
  // A handler that takes the datagram silences the error; one that declines does not.
  const before = out.length;
  b.setUdpHandler(() => true);
  clock.advance(1000);
  b.input(v4);
  assertEquals(out.length, before);
  b.setUdpHandler(() => false);
  b.input(v4);
  assertEquals(out.length, before + 1);
  sock.close();
  a.close();
  b.close();
});

/** An ICMP / ICMPv6 destination unreachable from `from` quoting `original`. */
function icmpUnreachable(from: string, original: Uint8Array, code: number): Uint8Array {
  const v4 = original[0] >>> 4 === 4;
  const src = parseIpAddr(from);
  const dst = original.subarray(v4 ? 12 : 8, v4 ? 16 : 24);
  const body = new Uint8Array(8 + original.length);
  const m = { type: "dest-unreachable" as const, code, mtu: 0, original };
  if (v4) emitIcmpv4(m, body, 0);
  else emitIcmpv6(m, body, 0, { src, dst });
  const out = new Uint8Array((v4 ? 20 : 40) + body.length);
  const at = emitIpHeader(src, dst, v4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6, body.length, out, 0);
  out.set(body, at);
  return out;
}

Deno.test("Stack fails a TCP open at once on ICMP unreachable quoting its SYN (port: refused)", async () => {
  const sent: Uint8Array[] = [];
  const a = new Stack({
    addresses: [A4, A6],
    output: (buf, off, len) => sent.push(buf.slice(off, off + len)),
  });
  try {
    // Port unreachable over IPv4: refused, as from a firewall's REJECT.
    const p4 = a.connectTcp(B4, 22);
    await new Promise((r) => setTimeout(r, 0));
    const syn4 = sent.at(-1)!;
    const wrongSeq = syn4.slice();
    wrongSeq[24] ^= 0xff; // another sequence number: ignored (RFC 5927)
    a.input(icmpUnreachable(B4, wrongSeq, 3));
    a.input(icmpUnreachable(B4, syn4, 3));
    let err4: unknown = null;
    await p4.catch((e) => err4 = e);
    assert(err4 instanceof Deno.errors.ConnectionRefused, String(err4));
    // No route over IPv6 (code 0), from a router on the way: unreachable.
    const p6 = a.connectTcp(B6, 22);
    await new Promise((r) => setTimeout(r, 0));
    a.input(icmpUnreachable("fd7a:115c:a1e0::99", sent.at(-1)!, 0));
    let err6: unknown = null;
    await p6.catch((e) => err6 = e);
    assert(err6 instanceof Deno.errors.NetworkUnreachable, String(err6));
    assertEquals(a.stats.icmpErrorsReceived, 3);
    assertEquals(a.connectionCount, 0);
  } finally {
    a.close();
  }
});
