import { assert, assertEquals } from "../base/testing/assert.ts";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../wire/mod.ts";
import {
  DELAYED_ACK_MS,
  INITIAL_RTO_MS,
  MAX_SYN_RETRIES,
  MIN_RTO_MS,
  OUR_WINDOW_SHIFT,
  TIME_WAIT_MS,
} from "./constants.ts";
import { newTcpRepr, type TcpRepr } from "./tcp_repr.ts";
import { TcpSocket, type TcpSocketOptions } from "./tcp_socket.ts";

const LOCAL_PORT = 80;
const REMOTE_PORT = 40000;
const LOCAL_ISS = 1000;
const REMOTE_ISS = 5000;
const MSS = 1240;

interface SegInit {
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  payload?: Uint8Array | string;
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  ts?: [number, number];
  sack?: [number, number][];
}

/** A segment from the peer. */
function seg(init: SegInit): TcpRepr {
  const r = newTcpRepr();
  r.srcPort = REMOTE_PORT;
  r.dstPort = LOCAL_PORT;
  r.seq = (init.seq ?? REMOTE_ISS + 1) >>> 0;
  r.ack = (init.ack ?? 0) >>> 0;
  r.flags = init.flags ?? TCP_ACK;
  r.window = init.window ?? 65535;
  r.mss = init.mss ?? -1;
  r.wscale = init.wscale ?? -1;
  r.sackPermitted = init.sackPermitted ?? false;
  if (init.ts) {
    r.hasTs = true;
    [r.tsVal, r.tsEcr] = init.ts;
  }
  if (init.sack) {
    r.sackCount = init.sack.length;
    init.sack.forEach(([a, b], i) => {
      r.sack[2 * i] = a >>> 0;
      r.sack[2 * i + 1] = b >>> 0;
    });
  }
  const p = init.payload ?? new Uint8Array(0);
  r.payload = typeof p === "string" ? new TextEncoder().encode(p) : p;
  return r;
}

/** A segment the socket sent, copied out of the reused {@linkcode TcpRepr}. */
type Out =
  & Pick<TcpRepr, "seq" | "ack" | "flags" | "window" | "mss" | "wscale" | "sackPermitted" | "hasTs">
  & { sack: [number, number][]; payload: Uint8Array };

function snapshot(s: TcpSocket, r: TcpRepr): Out {
  const payload = new Uint8Array(r.payloadLen);
  if (r.payloadLen > 0) s.copyPayload(r, payload, 0);
  const sack: [number, number][] = [];
  for (let i = 0; i < r.sackCount; i++) sack.push([r.sack[2 * i], r.sack[2 * i + 1]]);
  return {
    seq: r.seq,
    ack: r.ack,
    flags: r.flags,
    window: r.window,
    mss: r.mss,
    wscale: r.wscale,
    sackPermitted: r.sackPermitted,
    hasTs: r.hasTs,
    sack,
    payload,
  };
}

/** Feeds a segment; returns the immediate reply, if any. */
function send(s: TcpSocket, now: number, r: TcpRepr): Out | null {
  const reply = s.process(now, r);
  return reply === null ? null : snapshot(s, reply);
}

/** Asserts dispatch emits exactly one segment and returns it. */
function recv(s: TcpSocket, now: number): Out {
  let out: Out | null = null;
  assert(s.dispatch(now, (r) => (out = snapshot(s, r))), "a segment was emitted");
  assert(out !== null);
  return out;
}

/** Every segment dispatch emits now. */
function recvAll(s: TcpSocket, now: number): Out[] {
  const all: Out[] = [];
  while (s.dispatch(now, (r) => all.push(snapshot(s, r)))) {
    if (all.length > 10_000) throw new Error("dispatch does not stop");
  }
  return all;
}

function recvNothing(s: TcpSocket, now: number): void {
  let got: Out | null = null;
  const emitted = s.dispatch(now, (r) => (got = snapshot(s, r)));
  assert(!emitted, `nothing emitted, got ${JSON.stringify(got)}`);
}

function socket(opts: Partial<TcpSocketOptions> = {}): TcpSocket {
  return new TcpSocket({ localPort: LOCAL_PORT, mss: MSS, iss: LOCAL_ISS, tsOffset: 0, ...opts });
}

// ---- fixtures, one per state

function socketListen(): TcpSocket {
  const s = socket();
  s.listen();
  return s;
}

/** Passive open with no options: no window scaling, SACK or timestamps. */
function socketSynReceived(): TcpSocket {
  const s = socketListen();
  send(s, 0, seg({ seq: REMOTE_ISS, flags: TCP_SYN, mss: 1240 }));
  const synAck = recv(s, 0);
  assertEquals(synAck.flags, TCP_SYN | TCP_ACK);
  return s;
}

function socketSynSent(): TcpSocket {
  const s = socket();
  s.connect(0, REMOTE_PORT);
  const syn = recv(s, 0);
  assertEquals(syn.flags, TCP_SYN);
  return s;
}

/** Established through a passive open without options: plain RFC 9293 behaviour. */
function socketEstablished(opts: Partial<TcpSocketOptions> = {}): TcpSocket {
  const s = socket(opts);
  s.listen();
  send(s, 0, seg({ seq: REMOTE_ISS, flags: TCP_SYN, mss: 1240 }));
  recv(s, 0);
  assertEquals(send(s, 10, seg({ ack: LOCAL_ISS + 1 })), null);
  assertEquals(s.state, "established");
  return s;
}

/** Established with SACK and timestamps agreed (and window scaling). */
function socketEstablishedSack(): TcpSocket {
  const s = socketListen();
  send(
    s,
    0,
    seg({
      seq: REMOTE_ISS,
      flags: TCP_SYN,
      mss: 1240,
      wscale: 7,
      sackPermitted: true,
      ts: [100, 0],
    }),
  );
  recv(s, 0);
  send(s, 10, seg({ ack: LOCAL_ISS + 1, ts: [101, 0], window: 512 }));
  assertEquals(s.state, "established");
  return s;
}

function socketFinWait1(): TcpSocket {
  const s = socketEstablished();
  s.close();
  const fin = recv(s, 20);
  assertEquals(fin.flags, TCP_FIN | TCP_ACK);
  assertEquals(s.state, "fin-wait-1");
  return s;
}

function socketFinWait2(): TcpSocket {
  const s = socketFinWait1();
  send(s, 30, seg({ ack: LOCAL_ISS + 2 }));
  assertEquals(s.state, "fin-wait-2");
  return s;
}

function socketCloseWait(): TcpSocket {
  const s = socketEstablished();
  send(s, 20, seg({ flags: TCP_FIN | TCP_ACK, ack: LOCAL_ISS + 1 }));
  assertEquals(s.state, "close-wait");
  assertEquals(recv(s, 20).ack, REMOTE_ISS + 2);
  return s;
}

function socketClosing(): TcpSocket {
  const s = socketFinWait1();
  send(s, 30, seg({ flags: TCP_FIN | TCP_ACK, ack: LOCAL_ISS + 1 }));
  assertEquals(s.state, "closing");
  return s;
}

function socketLastAck(): TcpSocket {
  const s = socketCloseWait();
  s.close();
  assertEquals(recv(s, 30).flags, TCP_FIN | TCP_ACK);
  assertEquals(s.state, "last-ack");
  return s;
}

function socketTimeWait(): TcpSocket {
  const s = socketFinWait2();
  send(s, 40, seg({ flags: TCP_FIN | TCP_ACK, ack: LOCAL_ISS + 2 }));
  assertEquals(s.state, "time-wait");
  assertEquals(recv(s, 40).ack, REMOTE_ISS + 2);
  return s;
}

// ================================================================ CLOSED

Deno.test("TcpSocket CLOSED ignores every segment and emits nothing", () => {
  const s = socket();
  assertEquals(send(s, 0, seg({ flags: TCP_SYN, seq: REMOTE_ISS })), null);
  assertEquals(send(s, 0, seg({ flags: TCP_ACK })), null);
  recvNothing(s, 0);
  assertEquals(s.pollAt(), Infinity);
});

Deno.test("TcpSocket CLOSED connect() sends a SYN with MSS, window scale, SACK-permitted, timestamps", () => {
  const s = socket();
  s.connect(0, REMOTE_PORT);
  const syn = recv(s, 0);
  assertEquals(syn.flags, TCP_SYN);
  assertEquals(syn.seq, LOCAL_ISS);
  assertEquals(syn.mss, MSS);
  assertEquals(syn.wscale, OUR_WINDOW_SHIFT);
  assert(syn.sackPermitted && syn.hasTs);
  assertEquals(s.state, "syn-sent");
});

// ================================================================ LISTEN

Deno.test("TcpSocket LISTEN ignores RST, answers a bare ACK with RST seq=ack", () => {
  const s = socketListen();
  assertEquals(send(s, 0, seg({ flags: TCP_RST })), null);
  const rst = send(s, 0, seg({ flags: TCP_ACK, ack: 777 }));
  assertEquals(rst?.flags, TCP_RST);
  assertEquals(rst?.seq, 777);
  assertEquals(s.state, "listen");
});

Deno.test("TcpSocket LISTEN answers a SYN with SYN-ACK carrying only the offered options", () => {
  const s = socketListen();
  send(
    s,
    0,
    seg({ seq: REMOTE_ISS, flags: TCP_SYN, mss: 1000, wscale: 2, sackPermitted: true, ts: [5, 0] }),
  );
  assertEquals(s.state, "syn-received");
  const sa = recv(s, 0);
  assertEquals(sa.flags, TCP_SYN | TCP_ACK);
  assertEquals(sa.ack, REMOTE_ISS + 1);
  assertEquals(sa.wscale, OUR_WINDOW_SHIFT);
  assert(sa.sackPermitted && sa.hasTs);
  assertEquals(s.sendMss, 1000 - 12, "MSS minus timestamps");
  const plain = socketListen();
  send(plain, 0, seg({ seq: REMOTE_ISS, flags: TCP_SYN }));
  const pa = recv(plain, 0);
  assertEquals(pa.wscale, -1);
  assert(!pa.sackPermitted && !pa.hasTs);
  assertEquals(plain.sendMss, 536, "RFC 9293 default MSS");
});

// ================================================================ SYN-SENT

Deno.test("TcpSocket SYN-SENT answers a SYN-ACK with a bad ACK with RST", () => {
  const s = socketSynSent();
  const r = send(s, 5, seg({ seq: REMOTE_ISS, flags: TCP_SYN | TCP_ACK, ack: LOCAL_ISS + 5 }));
  assertEquals(r?.flags, TCP_RST);
  assertEquals(r?.seq, LOCAL_ISS + 5);
  assertEquals(s.state, "syn-sent");
});

Deno.test("TcpSocket SYN-SENT is refused by RST+ACK and ignores a bare RST", () => {
  const s = socketSynSent();
  assertEquals(send(s, 5, seg({ flags: TCP_RST, seq: 0 })), null);
  assertEquals(s.state, "syn-sent");
  send(s, 5, seg({ flags: TCP_RST | TCP_ACK, seq: 0, ack: LOCAL_ISS + 1 }));
  assertEquals(s.state, "closed");
  assertEquals(s.error, "refused");
});

Deno.test("TcpSocket SYN-SENT completes on SYN-ACK and ACKs it", () => {
  const s = socketSynSent();
  send(
    s,
    20,
    seg({
      seq: REMOTE_ISS,
      flags: TCP_SYN | TCP_ACK,
      ack: LOCAL_ISS + 1,
      mss: 1240,
      wscale: 3,
      sackPermitted: true,
      ts: [9, 0],
    }),
  );
  assertEquals(s.state, "established");
  const a = recv(s, 20);
  assertEquals(a.flags, TCP_ACK);
  assertEquals(a.ack, REMOTE_ISS + 1);
  assert(a.hasTs);
});

Deno.test("TcpSocket SYN-SENT goes to SYN-RECEIVED on a simultaneous SYN", () => {
  const s = socketSynSent();
  send(s, 5, seg({ seq: REMOTE_ISS, flags: TCP_SYN }));
  assertEquals(s.state, "syn-received");
  assertEquals(recv(s, 5).flags, TCP_SYN | TCP_ACK);
});

Deno.test("TcpSocket SYN-SENT gives up on an ICMP unreachable that quotes its SYN, nowhere else", () => {
  const s = socketSynSent();
  assertEquals(s.icmpUnreachable(LOCAL_ISS + 7, "refused"), false, "another sequence number");
  assertEquals(s.state, "syn-sent");
  assertEquals(s.icmpUnreachable(LOCAL_ISS, "unreachable"), true);
  assertEquals(s.state, "closed");
  assertEquals(s.error, "unreachable");
  const e = socketEstablished();
  assertEquals(e.icmpUnreachable(LOCAL_ISS + 1, "refused"), false, "a soft error once open");
  assertEquals(e.state, "established");
});

Deno.test("TcpSocket SYN-SENT resends the SYN with backoff, then times out", () => {
  const s = socketSynSent();
  assertEquals(s.pollAt(), INITIAL_RTO_MS);
  recvNothing(s, INITIAL_RTO_MS - 1);
  assertEquals(recv(s, INITIAL_RTO_MS).flags, TCP_SYN);
  assertEquals(s.pollAt(), INITIAL_RTO_MS + 2 * INITIAL_RTO_MS, "RTO doubled");
  // As Linux with tcp_syn_retries = 6: retransmissions at 1, 3, 7, 15, 31 and 63 RTOs, and the
  // open fails one doubled RTO after the last, at 127.
  const sentAt: number[] = [INITIAL_RTO_MS];
  for (let i = 0; i < MAX_SYN_RETRIES + 2 && s.state !== "closed"; i++) {
    const now = s.pollAt();
    let syn = false;
    s.dispatch(now, (r) => {
      if (r.flags & TCP_SYN) syn = true;
    });
    if (syn) sentAt.push(now);
    else assertEquals(s.state, "closed", `no SYN at ${now} ms yet still open`);
  }
  assertEquals(sentAt.map((t) => t / INITIAL_RTO_MS), [1, 3, 7, 15, 31, 63]);
  assertEquals(sentAt.length, MAX_SYN_RETRIES);
  assertEquals(s.state, "closed");
  assertEquals(s.error, "timeout");
});

// ================================================================ SYN-RECEIVED

Deno.test("TcpSocket SYN-RECEIVED becomes ESTABLISHED on the ACK of its SYN", () => {
  const s = socketSynReceived();
  send(s, 10, seg({ ack: LOCAL_ISS + 1 }));
  assertEquals(s.state, "established");
});

Deno.test("TcpSocket SYN-RECEIVED answers a wrong ACK with RST", () => {
  const s = socketSynReceived();
  const r = send(s, 10, seg({ ack: LOCAL_ISS + 99 }));
  assertEquals(r?.flags, TCP_RST);
  assertEquals(r?.seq, LOCAL_ISS + 99);
  assertEquals(s.state, "syn-received");
});

Deno.test("TcpSocket SYN-RECEIVED resends SYN-ACK on a duplicate SYN and on timeout", () => {
  const s = socketSynReceived();
  send(s, 5, seg({ seq: REMOTE_ISS, flags: TCP_SYN }));
  assertEquals(recv(s, 5).flags, TCP_SYN | TCP_ACK);
  assertEquals(recv(s, s.pollAt()).flags, TCP_SYN | TCP_ACK);
});

Deno.test("TcpSocket SYN-RECEIVED close() with data queued keeps resending the SYN-ACK until it is ACKed", () => {
  // A forwarded connection whose local server answers and closes before the peer's ACK of
  // our SYN-ACK arrives: neither data nor FIN may go out before the handshake completes.
  const s = socketSynReceived();
  s.send(new TextEncoder().encode("hello"));
  s.close();
  assertEquals(s.state, "syn-received");
  assert(!s.maySend);
  recvNothing(s, 5);
  const again = recv(s, s.pollAt());
  assertEquals(again.flags, TCP_SYN | TCP_ACK);
  assertEquals(again.seq, LOCAL_ISS);
  assertEquals(again.payload.length, 0);
  send(s, 1500, seg({ seq: REMOTE_ISS, flags: TCP_SYN }));
  assertEquals(recv(s, 1500).flags, TCP_SYN | TCP_ACK);
  send(s, 1600, seg({ ack: LOCAL_ISS + 1 }));
  assertEquals(s.state, "fin-wait-1");
  const data = recv(s, 1600);
  assertEquals(data.seq, LOCAL_ISS + 1);
  assertEquals(new TextDecoder().decode(data.payload), "hello");
  assertEquals(data.flags, TCP_ACK | TCP_PSH | TCP_FIN);
  send(s, 1700, seg({ ack: LOCAL_ISS + 7 }));
  assertEquals(s.state, "fin-wait-2");
});

Deno.test("TcpSocket SYN-RECEIVED closes on an in-window RST", () => {
  const s = socketSynReceived();
  send(s, 5, seg({ flags: TCP_RST, seq: REMOTE_ISS + 1 }));
  assertEquals(s.state, "closed");
  assertEquals(s.error, "reset");
});

// ================================================================ ESTABLISHED

Deno.test("TcpSocket ESTABLISHED delays the ACK of one segment, ACKs two at once", () => {
  const s = socketEstablished();
  send(s, 100, seg({ ack: LOCAL_ISS + 1, payload: "abc" }));
  recvNothing(s, 100);
  assertEquals(s.pollAt(), 100 + DELAYED_ACK_MS);
  const a = recv(s, 100 + DELAYED_ACK_MS);
  assertEquals(a.ack, REMOTE_ISS + 4);
  send(s, 200, seg({ seq: REMOTE_ISS + 4, ack: LOCAL_ISS + 1, payload: "de" }));
  send(s, 200, seg({ seq: REMOTE_ISS + 6, ack: LOCAL_ISS + 1, payload: "fg" }));
  assertEquals(recv(s, 200).ack, REMOTE_ISS + 8);
  const buf = new Uint8Array(16);
  const n = s.recv(buf);
  assertEquals(new TextDecoder().decode(buf.subarray(0, n)), "abcdefg");
});

Deno.test("TcpSocket ESTABLISHED reassembles out-of-order data and SACKs the island", () => {
  const s = socketEstablishedSack();
  send(s, 100, seg({ seq: REMOTE_ISS + 4, ack: LOCAL_ISS + 1, payload: "world", ts: [200, 0] }));
  const dup = recv(s, 100);
  assertEquals(dup.ack, REMOTE_ISS + 1, "duplicate ACK at once");
  assertEquals(dup.sack, [[REMOTE_ISS + 4, REMOTE_ISS + 9]]);
  assertEquals(s.recvQueued, 0);
  send(s, 101, seg({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1, payload: "hel", ts: [201, 0] }));
  const a = recv(s, 101);
  assertEquals(a.ack, REMOTE_ISS + 9, "hole filled: ACK at once");
  assertEquals(a.sack, []);
  const buf = new Uint8Array(16);
  assertEquals(new TextDecoder().decode(buf.subarray(0, s.recv(buf))), "helworld");
});

Deno.test("TcpSocket ESTABLISHED answers out-of-window data with an ACK and drops it", () => {
  const s = socketEstablished();
  const r = send(s, 10, seg({ seq: REMOTE_ISS + 1 + (8 << 20), ack: LOCAL_ISS + 1, payload: "x" }));
  assertEquals(r?.flags, TCP_ACK);
  assertEquals(r?.ack, REMOTE_ISS + 1);
  const old = send(s, 10, seg({ seq: REMOTE_ISS - 100, ack: LOCAL_ISS + 1, payload: "y" }));
  assertEquals(old?.ack, REMOTE_ISS + 1);
  assertEquals(s.recvQueued, 0);
  assertEquals(s.stats.outOfWindow, 2);
});

Deno.test("TcpSocket ESTABLISHED: RST at RCV.NXT resets, in-window RST or SYN gets a challenge ACK", () => {
  const s = socketEstablished();
  const c1 = send(s, 10, seg({ flags: TCP_RST, seq: REMOTE_ISS + 10 }));
  assertEquals(c1?.flags, TCP_ACK);
  const c2 = send(s, 10, seg({ flags: TCP_SYN, seq: REMOTE_ISS + 10 }));
  assertEquals(c2?.flags, TCP_ACK);
  assertEquals(s.stats.challengeAcks, 2);
  assertEquals(s.state, "established");
  send(s, 10, seg({ flags: TCP_RST, seq: REMOTE_ISS + 1 }));
  assertEquals(s.state, "closed");
  assertEquals(s.error, "reset");
});

Deno.test("TcpSocket ESTABLISHED sends data in MSS segments and frees the buffer on ACK", () => {
  const s = socketEstablished();
  const data = new Uint8Array(3000).map((_, i) => i);
  assertEquals(s.send(data), 3000);
  const segs = recvAll(s, 20);
  assertEquals(segs.map((x) => x.payload.length), [1240, 1240, 520]);
  assertEquals(segs[0].seq, LOCAL_ISS + 1);
  assertEquals(segs.at(-1)!.flags, TCP_ACK | TCP_PSH);
  const all = new Uint8Array(segs.flatMap((x) => [...x.payload]));
  assertEquals(all, data);
  send(s, 30, seg({ ack: LOCAL_ISS + 1 + 3000 }));
  assertEquals(s.sendQueued, 0);
  assertEquals(s.pollAt(), Infinity);
});

Deno.test("TcpSocket ESTABLISHED fast-retransmits after three duplicate ACKs", () => {
  const s = socketEstablished();
  s.send(new Uint8Array(1240 * 8));
  recvAll(s, 20);
  const dup = seg({ ack: LOCAL_ISS + 1 });
  send(s, 30, dup);
  send(s, 30, dup);
  recvNothing(s, 30);
  send(s, 30, dup);
  const rx = recv(s, 30);
  assertEquals(rx.seq, LOCAL_ISS + 1);
  assertEquals(rx.payload.length, 1240);
  assertEquals(s.stats.recoveries, 1);
  assert(s.cwndBytes < 10 * 1240, "cwnd reduced");
});

Deno.test("TcpSocket ESTABLISHED recovery resends the data and FIN of a lost last segment, no byte more", () => {
  // The FIN has a sequence number but no byte in the buffer: a resent tail must carry the
  // 100 data bytes and the FIN flag, never a 101st byte.
  const s = socketEstablished();
  const data = new Uint8Array(1240 * 8 + 100).map((_, i) => i & 0xff);
  s.send(data);
  s.close();
  const segs = recvAll(s, 20);
  assertEquals(segs.at(-1)?.flags, TCP_ACK | TCP_PSH | TCP_FIN);
  const base = LOCAL_ISS + 1;
  const dup = seg({ ack: base });
  for (let i = 0; i < 3; i++) send(s, 30, dup);
  assertEquals(recv(s, 30).seq, base);
  // A partial ACK up to the last segment: it is the next hole.
  send(s, 40, seg({ ack: base + 1240 * 8 }));
  const tail = recvAll(s, 40);
  assertEquals(tail.length, 1);
  assertEquals(tail[0].seq, base + 1240 * 8);
  assertEquals(tail[0].payload, data.subarray(1240 * 8));
  assertEquals(tail[0].flags & TCP_FIN, TCP_FIN);
  send(s, 50, seg({ ack: base + data.length + 1 }));
  assertEquals(s.state, "fin-wait-2");
});

Deno.test("TcpSocket ESTABLISHED resends only the SACK holes", () => {
  const s = socketEstablishedSack();
  const mss = s.sendMss;
  s.send(new Uint8Array(mss * 8));
  const segs = recvAll(s, 20);
  assertEquals(segs.length, 8);
  const base = LOCAL_ISS + 1;
  // Segments 0 and 2 lost; 1 and 3..7 arrived.
  const sack: [number, number][] = [[base + mss * 3, base + mss * 8], [base + mss, base + mss * 2]];
  send(s, 30, seg({ ack: base, sack, ts: [300, 0] }));
  const rx = recvAll(s, 30);
  assertEquals(rx.map((x) => x.seq - base), [0, 2 * mss]);
  assertEquals(s.stats.recoveries, 1);
});

Deno.test("TcpSocket ESTABLISHED times out, resends from SND.UNA, doubles the RTO", () => {
  const s = socketEstablished();
  s.send(new Uint8Array(1000));
  recvAll(s, 20);
  const t = s.pollAt();
  assertEquals(t, 20 + INITIAL_RTO_MS);
  const rx = recv(s, t);
  assertEquals(rx.seq, LOCAL_ISS + 1);
  assertEquals(s.rtoMs, 2 * INITIAL_RTO_MS);
  assertEquals(s.stats.timeouts, 1);
  assertEquals(s.cwndBytes, 1240, "loss window of one segment");
});

Deno.test("TcpSocket ESTABLISHED measures RTT from timestamps (RFC 6298)", () => {
  const s = socketEstablishedSack();
  s.send(new Uint8Array(100));
  const d = recv(s, 1000);
  assert(d.hasTs);
  send(s, 1080, seg({ ack: LOCAL_ISS + 101, ts: [400, 1000] }));
  assertEquals(s.srttMs, 80);
  assertEquals(s.rtoMs, Math.max(MIN_RTO_MS, 80 + 4 * 40));
});

Deno.test("TcpSocket ESTABLISHED scales the peer's window and probes a zero window", () => {
  const s = socketEstablishedSack();
  assertEquals(s.seqState.sndWnd, 512 << 7);
  send(s, 20, seg({ ack: LOCAL_ISS + 1, window: 0, ts: [102, 0] }));
  s.send(new Uint8Array(10));
  recvNothing(s, 20);
  const t = s.pollAt();
  assert(t > 20 && t < Infinity, "persist timer armed");
  const probe = recv(s, t);
  assertEquals(probe.payload.length, 1);
  const again = recv(s, s.pollAt());
  assertEquals(again.seq, probe.seq, "probe resent with backoff");
  send(s, s.pollAt(), seg({ ack: LOCAL_ISS + 1, window: 100, ts: [103, 0] }));
  const rest = recvAll(s, s.pollAt() === Infinity ? 5000 : s.pollAt());
  assert(rest.some((x) => x.payload.length > 1), "data flows once the window opens");
});

Deno.test("TcpSocket ESTABLISHED sends keep-alive probes and gives up", () => {
  const s = socketEstablished({ keepAliveIdleMs: 1000 });
  const t = s.pollAt();
  assertEquals(t, 10 + 1000);
  const p = recv(s, t);
  assertEquals(p.seq, LOCAL_ISS, "SND.UNA - 1");
  send(s, t + 5, seg({ ack: LOCAL_ISS + 1 }));
  assert(s.pollAt() >= t + 1000, "answer resets the idle timer");
  let now = s.pollAt();
  for (let i = 0; i < 20 && s.state !== "closed"; i++) {
    s.dispatch(now, () => {});
    now = s.pollAt();
  }
  assertEquals(s.state, "closed");
  assertEquals(s.error, "timeout");
});

Deno.test("TcpSocket ESTABLISHED goes to CLOSE-WAIT on FIN, also one that arrived early", () => {
  const s = socketEstablished();
  send(
    s,
    10,
    seg({ seq: REMOTE_ISS + 3, ack: LOCAL_ISS + 1, flags: TCP_FIN | TCP_ACK, payload: "c" }),
  );
  assertEquals(s.state, "established");
  send(s, 11, seg({ seq: REMOTE_ISS + 1, ack: LOCAL_ISS + 1, payload: "ab" }));
  assertEquals(s.state, "close-wait");
  assertEquals(recv(s, 11).ack, REMOTE_ISS + 5);
  assert(!s.recvFinished || s.recvQueued === 3);
});

Deno.test("TcpSocket ESTABLISHED abort() sends RST and closes", () => {
  const s = socketEstablished();
  s.abort();
  const r = recv(s, 10);
  assertEquals(r.flags, TCP_RST | TCP_ACK);
  assertEquals(s.state, "closed");
});

// ================================================================ FIN-WAIT-1

Deno.test("TcpSocket FIN-WAIT-1 sends the FIN after the queued data", () => {
  const s = socketEstablished();
  s.send(new TextEncoder().encode("bye"));
  s.close();
  const x = recv(s, 20);
  assertEquals(x.flags, TCP_ACK | TCP_PSH | TCP_FIN);
  assertEquals(x.payload.length, 3);
  assert(!s.maySend);
});

Deno.test("TcpSocket FIN-WAIT-1 goes to FIN-WAIT-2 on the ACK of its FIN", () => {
  socketFinWait2();
});

Deno.test("TcpSocket FIN-WAIT-1 goes to TIME-WAIT on FIN+ACK of its FIN", () => {
  const s = socketFinWait1();
  send(s, 30, seg({ flags: TCP_FIN | TCP_ACK, ack: LOCAL_ISS + 2 }));
  assertEquals(s.state, "time-wait");
});

Deno.test("TcpSocket FIN-WAIT-1 resends the FIN on timeout", () => {
  const s = socketFinWait1();
  const r = recv(s, s.pollAt());
  assertEquals(r.flags & TCP_FIN, TCP_FIN);
  assertEquals(r.seq, LOCAL_ISS + 1);
});

// ================================================================ FIN-WAIT-2

Deno.test("TcpSocket FIN-WAIT-2 still receives data, then TIME-WAIT on FIN", () => {
  const s = socketFinWait2();
  send(s, 40, seg({ ack: LOCAL_ISS + 2, payload: "late" }));
  assertEquals(s.recvQueued, 4);
  send(s, 41, seg({ seq: REMOTE_ISS + 5, ack: LOCAL_ISS + 2, flags: TCP_FIN | TCP_ACK }));
  assertEquals(s.state, "time-wait");
  assertEquals(recv(s, 41).ack, REMOTE_ISS + 6);
});

// ================================================================ CLOSE-WAIT

Deno.test("TcpSocket CLOSE-WAIT may still send, and re-ACKs a repeated FIN", () => {
  const s = socketCloseWait();
  assertEquals(s.send(new Uint8Array(10)), 10);
  assertEquals(recv(s, 30).payload.length, 10);
  const r = send(s, 31, seg({ flags: TCP_FIN | TCP_ACK, ack: LOCAL_ISS + 11 }));
  assertEquals(r?.ack, REMOTE_ISS + 2);
});

Deno.test("TcpSocket CLOSE-WAIT close() sends FIN and goes to LAST-ACK", () => {
  socketLastAck();
});

// ================================================================ CLOSING

Deno.test("TcpSocket CLOSING goes to TIME-WAIT on the ACK of its FIN", () => {
  const s = socketClosing();
  send(s, 40, seg({ seq: REMOTE_ISS + 2, ack: LOCAL_ISS + 2 }));
  assertEquals(s.state, "time-wait");
});

// ================================================================ LAST-ACK

Deno.test("TcpSocket LAST-ACK closes on the ACK of its FIN, or on RST", () => {
  const s = socketLastAck();
  send(s, 40, seg({ seq: REMOTE_ISS + 2, ack: LOCAL_ISS + 2 }));
  assertEquals(s.state, "closed");
  assertEquals(s.error, null);
  const r = socketLastAck();
  send(r, 40, seg({ seq: REMOTE_ISS + 2, flags: TCP_RST }));
  assertEquals(r.state, "closed");
});

// ================================================================ TIME-WAIT

Deno.test("TcpSocket TIME-WAIT re-ACKs a retransmitted FIN and restarts its timer", () => {
  const s = socketTimeWait();
  const r = send(
    s,
    500,
    seg({ seq: REMOTE_ISS + 1, flags: TCP_FIN | TCP_ACK, ack: LOCAL_ISS + 2 }),
  );
  assertEquals(r?.ack, REMOTE_ISS + 2);
  assertEquals(s.pollAt(), 500 + TIME_WAIT_MS);
});

Deno.test("TcpSocket TIME-WAIT yields to a SYN with a newer timestamp or, without, a later sequence number", () => {
  // No timestamps agreed: the sequence number decides.
  const plain = socketTimeWait();
  const rcvNxt = plain.seqState.rcvNxt;
  assertEquals(plain.yieldToSyn(seg({ flags: TCP_SYN, seq: rcvNxt - 10 })), null);
  assertEquals(plain.yieldToSyn(seg({ flags: TCP_SYN | TCP_ACK, seq: rcvNxt + 10 })), null);
  assertEquals(plain.state, "time-wait");
  const iss = plain.yieldToSyn(seg({ flags: TCP_SYN, seq: rcvNxt + 10 }));
  assert(iss !== null && ((iss - plain.seqState.sndNxt) >>> 0) > 65535, "ISS past the old space");
  assertEquals(plain.state, "closed");
  assertEquals(plain.error, null);
  // Timestamps agreed: an older timestamp is refused even with a later sequence number.
  const ts = socketEstablishedSack();
  ts.close();
  const fin = recv(ts, 20);
  send(ts, 30, seg({ flags: TCP_FIN | TCP_ACK, ack: fin.seq + 1, ts: [500, 0] }));
  assertEquals(ts.state, "time-wait");
  const next = ts.seqState.rcvNxt + 1000;
  assertEquals(ts.yieldToSyn(seg({ flags: TCP_SYN, seq: next, ts: [400, 0] })), null);
  assert(ts.yieldToSyn(seg({ flags: TCP_SYN, seq: next - 5000, ts: [600, 0] })) !== null);
  // Only TIME-WAIT yields.
  assertEquals(socketEstablished().yieldToSyn(seg({ flags: TCP_SYN, seq: REMOTE_ISS + 9 })), null);
});

Deno.test("TcpSocket frees its receive ring once the peer's FIN is in and the data read", () => {
  const s = socketEstablished();
  send(s, 20, seg({ payload: new Uint8Array(50_000).fill(1), window: 65535 }));
  send(s, 21, seg({ seq: REMOTE_ISS + 1 + 50_000, flags: TCP_FIN | TCP_ACK, ack: LOCAL_ISS + 1 }));
  assertEquals(s.state, "close-wait");
  assert(s.bufferBytes >= 50_000, "unread data stays");
  const out = new Uint8Array(64 << 10);
  assertEquals(s.recv(out.subarray(0, 20_000)), 20_000);
  assert(s.bufferBytes >= 30_000, "still data to read");
  assertEquals(s.recv(out), 30_000);
  assert(s.recvFinished);
  assert(s.bufferBytes < 20_000, `receive ring freed: ${s.bufferBytes} bytes held`);
  assertEquals(s.recv(out), 0);
});

Deno.test("TcpSocket TIME-WAIT ends after 2 MSL, or on RST", () => {
  const s = socketTimeWait();
  recvNothing(s, 40 + TIME_WAIT_MS - 1);
  recvNothing(s, 40 + TIME_WAIT_MS);
  assertEquals(s.state, "closed");
  const r = socketTimeWait();
  send(r, 50, seg({ seq: REMOTE_ISS + 2, flags: TCP_RST }));
  assertEquals(r.state, "closed");
  assertEquals(r.error, null);
});

// ================================================================ every state

Deno.test("TcpSocket: a RST at RCV.NXT closes every synchronized state", () => {
  const fixtures: [string, () => TcpSocket, number][] = [
    ["syn-received", socketSynReceived, REMOTE_ISS + 1],
    ["established", socketEstablished, REMOTE_ISS + 1],
    ["fin-wait-1", socketFinWait1, REMOTE_ISS + 1],
    ["fin-wait-2", socketFinWait2, REMOTE_ISS + 1],
    ["close-wait", socketCloseWait, REMOTE_ISS + 2],
    ["closing", socketClosing, REMOTE_ISS + 2],
    ["last-ack", socketLastAck, REMOTE_ISS + 2],
    ["time-wait", socketTimeWait, REMOTE_ISS + 2],
  ];
  for (const [state, make, rcvNxt] of fixtures) {
    const s = make();
    assertEquals(s.state, state);
    assertEquals(send(s, 100, seg({ flags: TCP_RST, seq: rcvNxt })), null, state);
    assertEquals(s.state, "closed", state);
    recvNothing(s, 100);
  }
});

Deno.test("TcpSocket: a RST outside the window is ignored in every synchronized state", () => {
  for (const make of [socketEstablished, socketFinWait2, socketCloseWait, socketLastAck]) {
    const s = make();
    const before = s.state;
    assertEquals(send(s, 100, seg({ flags: TCP_RST, seq: REMOTE_ISS + (16 << 20) })), null);
    assertEquals(s.state, before);
  }
});

Deno.test("TcpSocket: a FIN without SYN is ignored in LISTEN and SYN-SENT", () => {
  const l = socketListen();
  assertEquals(send(l, 0, seg({ flags: TCP_FIN })), null);
  assertEquals(l.state, "listen");
  const c = socketSynSent();
  assertEquals(send(c, 0, seg({ flags: TCP_FIN })), null);
  assertEquals(c.state, "syn-sent");
});

Deno.test("TcpSocket: a FIN in SYN-RECEIVED (with the ACK) goes to CLOSE-WAIT", () => {
  const s = socketSynReceived();
  send(s, 5, seg({ flags: TCP_FIN | TCP_ACK, ack: LOCAL_ISS + 1 }));
  assertEquals(s.state, "close-wait");
  assert(s.recvFinished);
});

Deno.test("TcpSocket ESTABLISHED drops an old duplicate by PAWS and ACKs it", () => {
  const s = socketEstablishedSack();
  send(s, 20, seg({ ack: LOCAL_ISS + 1, payload: "new", ts: [500, 0] }));
  const r = send(
    s,
    21,
    seg({ seq: REMOTE_ISS + 4, ack: LOCAL_ISS + 1, payload: "old", ts: [400, 0] }),
  );
  assertEquals(r?.flags, TCP_ACK);
  assertEquals(r?.ack, REMOTE_ISS + 4);
  assertEquals(s.recvQueued, 3);
  assertEquals(s.stats.pawsDrops, 1);
  send(s, 22, seg({ seq: REMOTE_ISS + 4, ack: LOCAL_ISS + 1, flags: TCP_RST, ts: [1, 0] }));
  assertEquals(s.state, "closed", "a RST is exempt from PAWS");
});
