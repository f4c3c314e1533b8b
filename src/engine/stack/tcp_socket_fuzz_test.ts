/**
 * Fuzz of the TCP state machine and the stack's input path, seeded (rounds and seed follow
 * tests/fuzz.ts). Each round builds a socket (listening or connecting) and feeds it random
 * segments, some plausible (sequence and ack numbers near the live ones, every flag
 * combination, random options, SACK blocks and payloads), some wholly random, with random
 * application calls and clock jumps between them. Nothing may throw; buffers stay bounded;
 * dispatch always stops; every byte sent is the application's byte for that sequence number
 * (the stream is position-coded), and nothing rides on a SYN. The stack half feeds mutated real packets (bit flips, truncation,
 * bad checksums, random bytes) to a listening stack.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { inspectIp, newIpInfo, parseIcmpv4, parseIcmpv6 } from "../wire/mod.ts";
import { Prng, SimNet } from "./testing/sim_net.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { RECV_BUFFER_MAX, SEND_BUFFER_MAX } from "./constants.ts";
import { newTcpRepr, type TcpRepr } from "./tcp_repr.ts";
import { TCP_STATES, TcpSocket } from "./tcp_socket.ts";
import { fuzzPlan, runRounds, SHARE_MIN_ROUNDS } from "../base/testing/fuzz.ts";

const STATES = new Set<string>(TCP_STATES);

/** The application's byte at stream offset `i`: a pattern with no short period. */
function streamByte(i: number): number {
  return (i + (i >>> 8) * 31 + (i >>> 16) * 7) & 0xff;
}

function u32(r: Prng): number {
  return (r.int(1 << 16) * 65536 + r.int(1 << 16)) >>> 0;
}

function randomSegment(r: Prng, s: TcpSocket, peerSeq: { v: number }, out: TcpRepr): void {
  const st = s.seqState;
  const plausible = r.next() < 0.8;
  out.srcPort = plausible ? s.remotePort || 40000 : r.int(65536);
  out.dstPort = s.localPort;
  out.flags = r.int(512); // every combination of the nine flag bits
  if (plausible && r.next() < 0.6) out.flags = (out.flags & 0x1ff) | 0x10;
  out.seq = plausible
    ? (r.next() < 0.7 ? st.rcvNxt : (st.rcvNxt + r.int(200_000) - 100_000) >>> 0)
    : u32(r);
  if (plausible && s.state === "listen") out.seq = peerSeq.v;
  out.ack = plausible ? (st.sndUna + r.int(st.sndNxt - st.sndUna + 3) - 1) >>> 0 : u32(r);
  out.window = r.next() < 0.1 ? 0 : r.int(65536);
  out.mss = r.next() < 0.3 ? r.int(70000) - 1 : -1;
  out.wscale = r.next() < 0.3 ? r.int(20) : -1;
  out.sackPermitted = r.next() < 0.3;
  out.hasTs = r.next() < 0.5;
  out.tsVal = u32(r);
  out.tsEcr = r.next() < 0.5 ? u32(r) : 0;
  out.sackCount = r.next() < 0.3 ? r.int(5) : 0;
  for (let i = 0; i < out.sackCount; i++) {
    const base = r.next() < 0.7 ? st.sndUna : u32(r);
    const a = (base + r.int(100_000)) >>> 0;
    out.sack[2 * i] = a;
    out.sack[2 * i + 1] = (a + r.int(50_000) - 1000) >>> 0;
  }
  const len = r.next() < 0.5 ? 0 : r.next() < 0.9 ? r.int(1500) : r.int(70_000);
  const p = new Uint8Array(len);
  if (len > 0) p[0] = r.int(256);
  out.payload = p;
}

Deno.test("TcpSocket fuzz: random and mutated segments and calls keep every invariant", (t) => {
  const plan = fuzzPlan(t, "tcp_socket");
  const seg = newTcpRepr();
  const sink = new Uint8Array(1 << 16);
  const out = new Uint8Array(1 << 16);
  const source = new Uint8Array(100_000);
  let segments = 0;
  const seen = new Set<string>();
  // A round is accepted when its socket got synchronized (handshake done): the fuzz reached
  // the states past the handshake, not only SYN handling.
  const result = runRounds(plan, {
    minShare: 0.04,
    what: "synchronized",
    perRoundSeed: true,
  }, (round) => {
    const rr = new Prng(plan.seed + round);
    let synchronized = false;
    const iss = u32(rr);
    let written = 0;
    const s = new TcpSocket({
      localPort: 80,
      mss: rr.next() < 0.5 ? 1240 : 1220,
      iss,
      tsOffset: u32(rr),
      keepAliveIdleMs: rr.next() < 0.3 ? 1000 : 0,
    });
    let now = rr.int(1_000_000);
    const peerSeq = { v: u32(rr) };
    if (rr.next() < 0.5) s.listen();
    else s.connect(now, 40000);
    const steps = 1 + rr.int(60);
    for (let i = 0; i < steps; i++) {
      const action = rr.next();
      if (action < 0.6) {
        randomSegment(rr, s, peerSeq, seg);
        s.process(now, seg);
        segments++;
      } else if (action < 0.7) {
        const n = rr.int(100_000);
        for (let k = 0; k < n; k++) source[k] = streamByte(written + k);
        written += s.send(source.subarray(0, n));
      } else if (action < 0.78) {
        s.recv(sink);
      } else if (action < 0.82) {
        s.close();
      } else if (action < 0.84) {
        s.abort();
      } else {
        now += rr.next() < 0.5 ? rr.int(100) : rr.int(200_000);
      }
      let emitted = 0;
      while (
        s.dispatch(now, (o) => {
          if (o.payloadLen === 0) return;
          assert(!(o.flags & 0x02), "no data on a SYN");
          const off = (o.seq - iss - 1) >>> 0;
          assert(off + o.payloadLen <= written, `segment ${off}+${o.payloadLen} of ${written}`);
          s.copyPayload(o, out, 0);
          for (let k = 0; k < o.payloadLen; k++) {
            if (out[k] !== streamByte(off + k)) {
              throw new Error(`byte ${off + k} of the stream is wrong in ${s.state}`);
            }
          }
        })
      ) {
        assert(++emitted < 100_000, "dispatch stops");
      }
      const t = s.pollAt();
      assert(!Number.isNaN(t), "pollAt is a number");
      // Once dispatch has nothing to send, no timer may be due: else the owner would spin.
      assert(t > now, `pollAt ${t} after dispatch at ${now} in ${s.state}`);
      assert(STATES.has(s.state), `state ${s.state}`);
      assert(
        s.bufferBytes <= RECV_BUFFER_MAX + SEND_BUFFER_MAX,
        `buffers bounded: ${s.bufferBytes}`,
      );
      seen.add(s.state);
      synchronized ||= s.isSynchronized;
    }
    return synchronized;
  });
  // deno-lint-ignore no-console -- what the rounds reached
  console.log(
    `fuzz tcp_socket: ${segments} segments in ${result.rounds} rounds; ` +
      `states reached: ${[...seen].sort().join(" ")}`,
  );
  // Like the share, what a run reaches means something only over enough rounds.
  if (result.rounds >= SHARE_MIN_ROUNDS) {
    assert(seen.size >= 9, `most states reached: ${[...seen].join(" ")}`);
  }
});

Deno.test("Stack input fuzz: mutated real packets draw only well-formed output", async (t) => {
  const captured: Uint8Array[] = [];
  // A real exchange (handshake, data, UDP, IPv4 and IPv6), recorded at the receiver.
  const rec = new SimNet({ delayMs: 1 }, 4);
  const x = rec.addStack(["100.64.0.1", "fd7a:115c:a1e0::1"]);
  const y = rec.addStack(["100.64.0.2", "fd7a:115c:a1e0::2"], {});
  const origInput = y.input.bind(y);
  y.input = (p: Uint8Array) => {
    captured.push(p.slice());
    origInput(p);
  };
  const l2 = y.listenTcp({ port: 80 });
  const acc2 = l2.accept();
  const c2 = x.openTcp("100.64.0.2", 80);
  rec.run(() => c2.socket.isSynchronized && rec.idle);
  const s2 = await acc2;
  c2.socket.send(new Uint8Array(4000).fill(3));
  rec.run(() => rec.idle);
  const c3 = x.openTcp("fd7a:115c:a1e0::2", 80);
  rec.run(() => rec.idle);
  x.bindUdp(999).send(new Uint8Array(20), "fd7a:115c:a1e0::2", 53);
  x.bindUdp(998).send(new Uint8Array(30), "100.64.0.2", 53);
  rec.run(() => rec.idle);
  s2.close();
  c3.close();
  l2.close();
  rec.close();
  assert(captured.length >= 6, `captured ${captured.length} packets`);

  // One stream across rounds: the target stack carries its connections from round to round.
  const plan = fuzzPlan(t, "stack_input", { ci: 200_000 });
  const r = new Prng(plan.seed);
  // Every packet the target sends must be a well-formed IP packet; ICMP errors it builds from
  // mutated datagrams must carry a valid checksum.
  const info = newIpInfo();
  let icmpOut = 0;
  const clock = new ManualClock(); // a millisecond a round: the ICMP rate limit lets each error out
  const target = new SimNet({}, plan.seed).addStack(["100.64.0.2", "fd7a:115c:a1e0::2"], {
    clock,
    output: (buf, off, len) => {
      const p = buf.subarray(off, off + len);
      assert(inspectIp(p, 0, p.length, info), "the stack sent a malformed packet");
      if (info.protocol === 1) {
        parseIcmpv4(p, info.payloadOff, info.payloadEnd);
        icmpOut++;
      } else if (info.protocol === 58) {
        parseIcmpv6(p, info.payloadOff, info.payloadEnd, {
          src: p.subarray(8, 24),
          dst: p.subarray(24, 40),
        });
        icmpOut++;
      }
    },
  });
  const tl = target.listenTcp({ port: 80, backlog: 16 });
  const drops = () => Object.values(target.stats.drops).reduce((a, b) => a + b, 0);
  // A packet is accepted when the stack dropped it for no reason it counts.
  const result = runRounds(plan, { minShare: 0.08, what: "not dropped" }, (i) => {
    const p = captured[r.int(captured.length)].slice();
    const kind = r.int(6); // 5: as captured
    let q = p;
    if (kind === 0) q[r.int(q.length)] ^= 1 << r.int(8);
    else if (kind === 1) q = q.subarray(0, r.int(q.length + 1));
    else if (kind === 2) { for (let k = 0; k < 8; k++) q[r.int(q.length)] = r.int(256); }
    else if (kind === 3) {
      q = new Uint8Array(r.int(1500));
      r.fill(q);
      if (q.length > 0) q[0] = r.next() < 0.5 ? 0x45 : 0x60;
    } else if (kind === 4) {
      // Keep it valid but change flags and fix nothing: a bad checksum most of the time.
      const ihl = (q[0] >>> 4) === 4 ? (q[0] & 15) * 4 : 40;
      if (q.length > ihl + 13) q[ihl + 13] = r.int(256);
    }
    // Half the rounds a UDP handler takes every datagram; the others, nobody serves UDP and
    // each datagram that survived the mutation draws an ICMP port unreachable.
    target.setUdpHandler(i % 2 === 0 ? () => true : null);
    clock.advance(1);
    const dropsBefore = drops();
    target.input(q);
    target.pollAll();
    assert(target.connectionCount <= 32, "connections bounded by the backlog");
    return drops() === dropsBefore;
  });
  if (result.rounds >= SHARE_MIN_ROUNDS) {
    assert(target.stats.drops.badChecksum > 0, "checksums caught corruption");
    assert(icmpOut > 0, "some datagrams drew ICMP errors");
  }
  assertEquals(icmpOut, target.stats.icmpErrorsSent);
  // deno-lint-ignore no-console -- what the mutated rounds drew out of the stack
  console.log(`fuzz stack_input: ${icmpOut} ICMP errors sent, all valid`);
  tl.close();
  target.close();
});
