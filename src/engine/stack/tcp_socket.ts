/**
 * One TCP connection (RFC 9293) as a state machine with no I/O and no clock: the eleven
 * states, the three-way handshake, window scaling and timestamps (RFC 7323), SACK (RFC 2018)
 * with SACK-based loss recovery (after RFC 6675), RTT estimation and RTO with backoff
 * (RFC 6298), fast retransmit and recovery (RFC 5681, RFC 6582), out-of-order reassembly,
 * delayed ACKs, zero-window probes, keep-alive, TIME-WAIT and RFC 5961's challenge ACKs.
 * Nagle is off: data goes out as soon as the windows allow.
 *
 * `process(now, seg)` takes one segment and returns at most one immediate reply;
 * `dispatch(now, emit)` emits at most one segment; `pollAt()` says when timers want a call.
 * After `process` or any application call, the owner calls `dispatch` until it returns false.
 * Emitted records are reused: the caller writes them out before the next call.
 *
 * Memory: the send and receive rings start at 16 KiB each and double, as data needs room, up
 * to 4 MiB each; TIME-WAIT and CLOSED free the send ring, and the receive ring goes once the
 * peer's FIN is in and the application has read everything. So a connection holds about 1.7 KiB
 * of state (measured: V8 heap per socket) plus 32 KiB of rings idle, and at most 8 MiB + 1.7
 * KiB when both directions are full.
 *
 * @example A client sends its SYN
 * ```ts
 * import { TcpSocket } from "./tcp_socket.ts";
 * const s = new TcpSocket({ localPort: 40000, mss: 1240, iss: 1000, tsOffset: 0 });
 * s.connect(0, 80);
 * let flags = 0;
 * s.dispatch(0, (seg) => { flags = seg.flags; });
 * if (s.state !== "syn-sent" || flags !== 0x02) throw new Error("bad");
 * ```
 * @module
 */
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../wire/mod.ts";
import { ByteRing } from "./byte_ring.ts";
import { type CongestionController, NewReno } from "./congestion/mod.ts";
import {
  BUFFER_INITIAL,
  DEFAULT_MSS,
  DELAYED_ACK_MS,
  DUP_THRESH,
  KEEPALIVE_IDLE_MS,
  KEEPALIVE_INTERVAL_MS,
  KEEPALIVE_PROBES,
  MAX_DATA_RETRIES,
  MAX_OOO_RANGES,
  MAX_SACK_BLOCKS_SENT,
  MAX_SACK_RANGES,
  MAX_SYN_RETRIES,
  MAX_WINDOW_SHIFT,
  OUR_WINDOW_SHIFT,
  PACING_BURST,
  RECV_BUFFER_MAX,
  SEND_BUFFER_MAX,
  TIME_WAIT_MS,
  TIMESTAMP_OPTION_LEN,
} from "./constants.ts";
import { RangeSet } from "./range_set.ts";
import { RttEstimator } from "./rtt_estimator.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "./seq.ts";
import { clearTcpOptions, newTcpRepr, type TcpRepr } from "./tcp_repr.ts";

/** RFC 9293's eleven states, in its order. */
export const TCP_STATES = [
  "closed",
  "listen",
  "syn-sent",
  "syn-received",
  "established",
  "fin-wait-1",
  "fin-wait-2",
  "close-wait",
  "closing",
  "last-ack",
  "time-wait",
] as const;

/** One of RFC 9293's eleven states. */
export type TcpState = typeof TCP_STATES[number];

/** Why a connection ended abnormally. */
export type TcpError = "refused" | "unreachable" | "reset" | "timeout" | "aborted";

/** Options for {@linkcode TcpSocket}. */
export interface TcpSocketOptions {
  /** Our port. */
  localPort: number;
  /** Our MSS for this path (1240 over IPv4, 1220 over IPv6 in a 1280 tunnel). */
  mss: number;
  /** Initial send sequence number (random, from the owner). */
  iss: number;
  /** Offset added to our timestamp clock (random per connection, RFC 7323 §5.4). */
  tsOffset: number;
  /** Receive buffer bound (default 4 MiB). */
  recvBufferMax?: number;
  /** Send buffer bound (default 4 MiB). */
  sendBufferMax?: number;
  /** Send keep-alive probes after this much idle time; 0 turns keep-alive off (default). */
  keepAliveIdleMs?: number;
  /** Congestion controller (default NewReno). */
  congestion?: CongestionController;
}

/** Counters of one connection. */
export interface TcpSocketStats {
  /** Segments retransmitted (timeouts, fast retransmit, recovery). */
  retransmits: number;
  /** Retransmission timeouts. */
  timeouts: number;
  /** Timeouts found spurious by their echoed timestamps (RFC 3522) and undone. */
  spuriousTimeouts: number;
  /** Fast recoveries entered. */
  recoveries: number;
  /** Segments refused as outside the window (an ACK went back). */
  outOfWindow: number;
  /** Challenge ACKs sent (RFC 5961). */
  challengeAcks: number;
  /** Tail loss probes sent. */
  tailProbes: number;
  /** Old duplicates dropped by PAWS (RFC 7323). */
  pawsDrops: number;
  /** Retransmissions found lost and sent again during recovery. */
  lostRetransmits: number;
}

// RFC 9293's synchronized states: ESTABLISHED and every state after it in its order.
const SYNCHRONIZED = new Set<TcpState>(TCP_STATES.slice(TCP_STATES.indexOf("established")));

/** A TCP connection's state machine. */
export class TcpSocket {
  #state: TcpState = "closed";
  #error: TcpError | null = null;
  /** Our port. */
  readonly localPort: number;
  #remotePort = 0;
  readonly #ourMss: number;
  readonly #tsOffset: number;
  readonly #keepAliveIdleMs: number;
  readonly #cc: CongestionController;
  readonly #out: TcpRepr = newTcpRepr();
  /** Counters. */
  readonly stats: TcpSocketStats = {
    retransmits: 0,
    timeouts: 0,
    spuriousTimeouts: 0,
    recoveries: 0,
    outOfWindow: 0,
    challengeAcks: 0,
    tailProbes: 0,
    pawsDrops: 0,
    lostRetransmits: 0,
  };

  // Send side.
  readonly #iss: number;
  #sndUna: number;
  #sndNxt: number;
  #sndMax: number;
  #sndWnd = 0;
  #sndWl1 = 0;
  #sndWl2 = 0;
  #sndShift = 0;
  #sndMss = DEFAULT_MSS;
  #sendBuf: ByteRing;
  /** Sequence number of the send ring's first byte. */
  #bufSeq: number;
  #finQueued = false;
  #finAcked = false;

  // Receive side.
  #irs = 0;
  #rcvNxt = 0;
  #rcvShift = 0;
  #rcvAdvEdge = 0;
  #recvBuf: ByteRing;
  readonly #ooo = new RangeSet(MAX_OOO_RANGES);
  /** Sequence number of the peer's FIN once seen (may be ahead of RCV.NXT), or -1. */
  #rcvFinSeq = -1;
  #finReceived = false;

  // Options.
  #sackOk = false;
  #tsOk = false;
  #tsRecent = 0;
  #wsOk = false;

  // ACK scheduling.
  #ackNow = false;
  #ackPending = false;
  #ackDeadline = Infinity;
  #segsUnacked = 0;
  #rstPending = false;

  // Timers and RTT.
  readonly #rtt = new RttEstimator();
  #rtoDeadline = Infinity;
  // Spurious-timeout detection (Eifel, RFC 3522): our TSval when the first timeout of an
  // episode retransmitted, and the window it took away; -1 when no check is armed.
  #rtoTsVal = -1;
  #undoCwnd = 0;
  #undoSsthresh = 0;
  #retries = 0;
  #timedSeq = -1;
  #timedAt = 0;
  #persistDeadline = Infinity;
  #keepAliveDeadline = Infinity;
  #keepAliveProbes = 0;
  #timeWaitDeadline = Infinity;

  // Loss recovery.
  #dupAcks = 0;
  #inRecovery = false;
  #recoveryPoint = 0;
  #rxtNext = 0;
  #lossLimit = 0;
  #fastRexmit = false;
  /** When the segment at SND.UNA was last resent in recovery (lost-retransmit check). */
  #rxtUnaAt = Infinity;
  /** Tail loss probe deadline (after RFC 8985 §7): resend the last segment once. */
  #tlpDeadline = Infinity;
  /** Pacing: when the next new segment may leave (bursts overflow shallow relay queues). */
  #paceAt = 0;
  #paceBlocked = false;
  readonly #scoreboard = new RangeSet(MAX_SACK_RANGES);

  /** @param opts ports, MSS, ISS, buffer bounds, congestion controller */
  constructor(opts: TcpSocketOptions) {
    this.localPort = opts.localPort;
    this.#ourMss = opts.mss;
    this.#iss = opts.iss >>> 0;
    this.#sndUna = this.#iss;
    this.#sndNxt = this.#iss;
    this.#sndMax = this.#iss;
    this.#bufSeq = seqAdd(this.#iss, 1);
    this.#tsOffset = opts.tsOffset >>> 0;
    this.#keepAliveIdleMs = opts.keepAliveIdleMs ?? 0;
    const sendMax = opts.sendBufferMax ?? SEND_BUFFER_MAX;
    const recvMax = opts.recvBufferMax ?? RECV_BUFFER_MAX;
    this.#sendBuf = new ByteRing(Math.min(BUFFER_INITIAL, sendMax), sendMax);
    this.#recvBuf = new ByteRing(Math.min(BUFFER_INITIAL, recvMax), recvMax);
    this.#cc = opts.congestion ?? new NewReno(opts.mss);
  }

  // ---------------------------------------------------------------- accessors

  /** The current state. */
  get state(): TcpState {
    return this.#state;
  }

  /** Why the connection failed, or null. */
  get error(): TcpError | null {
    return this.#error;
  }

  /** The peer's port (0 before a connect or SYN). */
  get remotePort(): number {
    return this.#remotePort;
  }

  /** Whether the handshake completed at some point (the state is synchronized). */
  get isSynchronized(): boolean {
    return SYNCHRONIZED.has(this.#state);
  }

  /** Whether the application may still queue data. */
  get maySend(): boolean {
    const s = this.#state;
    return !this.#finQueued &&
      (s === "established" || s === "close-wait" || s === "syn-sent" || s === "syn-received");
  }

  /** Bytes the application may queue now. */
  get sendFree(): number {
    return this.maySend ? this.#sendBuf.free : 0;
  }

  /** Bytes queued and not yet acknowledged. */
  get sendQueued(): number {
    return this.#sendBuf.length;
  }

  /** Bytes ready for the application. */
  get recvQueued(): number {
    return this.#recvBuf.length;
  }

  /** Whether no more data will arrive (peer FIN consumed, or the connection is gone). */
  get recvFinished(): boolean {
    return this.#finReceived || this.#state === "closed" || this.#state === "listen";
  }

  /** Memory held by this connection's buffers, in bytes. */
  get bufferBytes(): number {
    return this.#sendBuf.capacity + this.#recvBuf.capacity;
  }

  /** The congestion window. */
  get cwndBytes(): number {
    return this.#cc.cwndBytes;
  }

  /** The current RTO. */
  get rtoMs(): number {
    return this.#rtt.rtoMs;
  }

  /** The smoothed RTT, or -1 before a sample. */
  get srttMs(): number {
    return this.#rtt.srttMs;
  }

  /** The sender MSS (payload bytes per segment, options excluded). */
  get sendMss(): number {
    return this.#sndMss;
  }

  /** SND.UNA, SND.NXT, RCV.NXT and the peer's window, for tests. */
  get seqState(): { sndUna: number; sndNxt: number; rcvNxt: number; sndWnd: number } {
    return {
      sndUna: this.#sndUna,
      sndNxt: this.#sndNxt,
      rcvNxt: this.#rcvNxt,
      sndWnd: this.#sndWnd,
    };
  }

  // ---------------------------------------------------------------- application calls

  /** Passive open: wait for a SYN. */
  listen(): void {
    if (this.#state !== "closed") throw new RangeError(`Cannot listen: state ${this.#state}`);
    this.#state = "listen";
  }

  /**
   * Active open: the SYN goes out on the next dispatch.
   * @param now time in ms @param remotePort the peer's port
   */
  connect(now: number, remotePort: number): void {
    if (this.#state !== "closed") throw new RangeError(`Cannot connect: state ${this.#state}`);
    this.#remotePort = remotePort;
    this.#state = "syn-sent";
    this.#sndNxt = this.#iss;
    this.#lastHeard(now);
  }

  /**
   * Queues data.
   * @param data bytes
   * @returns bytes taken (0 when the buffer is full or sending is over)
   */
  send(data: Uint8Array): number {
    if (!this.maySend) return 0;
    return this.#sendBuf.push(data);
  }

  /**
   * Reads received data into `dst`.
   * @param dst destination
   * @returns bytes read
   */
  recv(dst: Uint8Array): number {
    const n = Math.min(dst.length, this.#recvBuf.length);
    if (n === 0) return 0;
    this.#recvBuf.copyOut(0, n, dst, 0);
    this.#recvBuf.consume(n);
    // Window update once the right edge could move by a useful amount (receiver SWS
    // avoidance, RFC 9293 §3.8.6.2.2) and the advertised window had run low.
    if (this.isSynchronized && !this.#finReceived) {
      const edge = seqAdd(this.#rcvNxt, this.#windowBytes());
      const grow = seqDiff(edge, this.#rcvAdvEdge);
      const left = seqDiff(this.#rcvAdvEdge, this.#rcvNxt);
      if (grow >= 2 * this.#ourMss && left < (this.#recvBuf.max >> 1)) this.#ackNow = true;
    }
    this.#releaseDrainedRecv();
    return n;
  }

  /**
   * After the peer's FIN no more data can come: once the application has read what there
   * was, the receive ring (up to RECV_BUFFER_MAX) goes, instead of staying through TIME-WAIT.
   */
  #releaseDrainedRecv(): void {
    if (this.#finReceived && this.#recvBuf.length === 0 && this.#recvBuf.capacity > 1) {
      this.#recvBuf.release();
    }
  }

  /** Closes our direction: FIN after the queued data. */
  close(): void {
    switch (this.#state) {
      case "listen":
      case "syn-sent":
        this.#toClosed(null);
        return;
      case "syn-received":
        // The SYN-ACK may still be lost: stay here so it is resent, and let the FIN (and any
        // queued data) follow once the peer ACKs it (RFC 9293 §3.10.4).
        this.#finQueued = true;
        return;
      case "established":
        this.#finQueued = true;
        this.#state = "fin-wait-1";
        return;
      case "close-wait":
        this.#finQueued = true;
        this.#state = "last-ack";
        return;
      default:
        return;
    }
  }

  /**
   * In TIME-WAIT, lets a new SYN for the same four-tuple end this connection early (RFC 9293
   * §3.6.1, with RFC 6191's timestamp rule): the SYN's timestamp is newer than the last one
   * seen, or, without timestamps on both, its sequence number is past RCV.NXT. Peers that
   * pick source ports in sequence reuse one within our TIME-WAIT.
   * @param seg a segment for this four-tuple
   * @returns the ISS the new connection should use (past anything this one sent), or null
   *   when the segment is not such a SYN and this connection goes on
   */
  yieldToSyn(seg: TcpRepr): number | null {
    if (this.#state !== "time-wait") return null;
    if ((seg.flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) !== TCP_SYN) return null;
    const newer = this.#tsOk && seg.hasTs
      ? seqGt(seg.tsVal, this.#tsRecent)
      : seqGt(seg.seq, this.#rcvNxt);
    if (!newer) return null;
    this.#toClosed(null);
    // As Linux does: clear of the old sequence space by more than a maximal window.
    return seqAdd(this.#sndMax, 0x20000);
  }

  /**
   * An ICMP destination unreachable quoting one of our segments. Only a connection still in
   * SYN-SENT gives up on it, and only when the quoted sequence number is our SYN's (RFC 5927
   * §4.1: a blind attacker must not be able to end connections); in synchronized states these
   * are soft errors (RFC 5461) and the connection goes on.
   * @param seq the sequence number in the quoted TCP header
   * @param error "refused" for port unreachable, "unreachable" for the others
   * @returns whether the connection ended
   */
  icmpUnreachable(seq: number, error: "refused" | "unreachable"): boolean {
    if (this.#state !== "syn-sent" || (seq >>> 0) !== this.#iss) return false;
    this.#toClosed(error);
    return true;
  }

  /** Aborts: a RST goes out on the next dispatch (if synchronized), then CLOSED. */
  abort(): void {
    const s = this.#state;
    if (s === "closed") return;
    if (s === "listen" || s === "syn-sent" || s === "time-wait") {
      this.#toClosed("aborted");
      return;
    }
    this.#rstPending = true;
  }

  // ---------------------------------------------------------------- timers

  /**
   * When the socket next needs a {@linkcode TcpSocket.dispatch} call for a timer: an ACK
   * deadline, the retransmission timer, a zero-window probe, keep-alive or TIME-WAIT's end.
   * @returns ms timestamp, 0 when now, Infinity when never
   */
  pollAt(): number {
    const s = this.#state;
    if (s === "closed" || s === "listen") return Infinity;
    if (this.#ackNow || this.#rstPending) return 0;
    if (s === "time-wait") return this.#timeWaitDeadline;
    let t = this.#rtoDeadline;
    if (this.#tlpDeadline < t) t = this.#tlpDeadline;
    if (this.#paceBlocked && this.#paceAt < t) t = this.#paceAt;
    if (this.#ackPending && this.#ackDeadline < t) t = this.#ackDeadline;
    if (this.#persistDeadline < t) t = this.#persistDeadline;
    if (this.#keepAliveDeadline < t) t = this.#keepAliveDeadline;
    return t;
  }

  // ---------------------------------------------------------------- input

  /**
   * Processes one segment addressed to this connection (checksum already verified).
   * @param now time in ms
   * @param seg the segment (its payload is read now and not kept)
   * @returns an immediate reply to emit (reused record), or null
   */
  process(now: number, seg: TcpRepr): TcpRepr | null {
    switch (this.#state) {
      case "closed":
        return null;
      case "listen":
        return this.#processListen(now, seg);
      case "syn-sent":
        return this.#processSynSent(now, seg);
      default:
        return this.#processSynchronized(now, seg);
    }
  }

  #processListen(now: number, seg: TcpRepr): TcpRepr | null {
    const f = seg.flags;
    if (f & TCP_RST) return null;
    if (f & TCP_ACK) return this.#rstFor(seg);
    if (!(f & TCP_SYN)) return null;
    this.#remotePort = seg.srcPort;
    this.#acceptSynOptions(seg);
    this.#irs = seg.seq;
    this.#rcvNxt = seqAdd(seg.seq, 1);
    this.#rcvAdvEdge = this.#rcvNxt;
    this.#sndWnd = seg.window; // never scaled in a SYN
    this.#sndWl1 = seg.seq;
    this.#sndWl2 = this.#iss;
    this.#state = "syn-received";
    this.#sndNxt = this.#iss; // SYN-ACK due
    this.#lastHeard(now);
    // Data on a SYN is not accepted before the handshake completes; the peer resends it.
    return null;
  }

  #processSynSent(now: number, seg: TcpRepr): TcpRepr | null {
    const f = seg.flags;
    let ackOk = false;
    if (f & TCP_ACK) {
      if (seqLe(seg.ack, this.#iss) || seqGt(seg.ack, this.#sndMax)) {
        return f & TCP_RST ? null : this.#rstFor(seg);
      }
      ackOk = true;
    }
    if (f & TCP_RST) {
      if (ackOk) this.#toClosed("refused");
      return null;
    }
    if (!(f & TCP_SYN)) return null;
    this.#acceptSynOptions(seg);
    this.#irs = seg.seq;
    this.#rcvNxt = seqAdd(seg.seq, 1);
    this.#rcvAdvEdge = this.#rcvNxt;
    this.#lastHeard(now);
    if (ackOk) {
      this.#ackOf(now, seg, seg.ack);
      this.#sndWnd = seg.window;
      this.#sndWl1 = seg.seq;
      this.#sndWl2 = seg.ack;
      this.#state = "established";
      this.#ackNow = true;
      return null;
    }
    // Simultaneous open: answer with SYN-ACK.
    this.#sndWnd = seg.window;
    this.#state = "syn-received";
    this.#sndNxt = this.#iss;
    return null;
  }

  #acceptSynOptions(seg: TcpRepr): void {
    const peerMss = seg.mss > 0 ? seg.mss : DEFAULT_MSS;
    this.#wsOk = seg.wscale >= 0;
    this.#sndShift = this.#wsOk ? Math.min(seg.wscale, MAX_WINDOW_SHIFT) : 0;
    this.#rcvShift = this.#wsOk ? OUR_WINDOW_SHIFT : 0;
    this.#sackOk = seg.sackPermitted;
    this.#tsOk = seg.hasTs;
    if (seg.hasTs) this.#tsRecent = seg.tsVal;
    const mss = Math.min(peerMss, this.#ourMss) - (this.#tsOk ? TIMESTAMP_OPTION_LEN : 0);
    this.#sndMss = Math.max(64, mss);
    this.#cc.setMss(this.#sndMss);
  }

  #windowBytes(): number {
    const cap = Math.min(this.#recvBuf.free, 0xffff << this.#rcvShift);
    return (cap >>> this.#rcvShift) << this.#rcvShift;
  }

  #acceptable(seg: TcpRepr, segLen: number): boolean {
    const wnd = Math.max(this.#windowBytes(), seqDiff(this.#rcvAdvEdge, this.#rcvNxt));
    const d = seqDiff(seg.seq, this.#rcvNxt);
    if (segLen === 0) return wnd === 0 ? d === 0 : d >= 0 && d < wnd;
    if (wnd === 0) return false;
    const last = d + segLen - 1;
    return (d >= 0 && d < wnd) || (last >= 0 && last < wnd);
  }

  #processSynchronized(now: number, seg: TcpRepr): TcpRepr | null {
    const f = seg.flags;
    // A retransmitted SYN while our SYN-ACK is unanswered: send the SYN-ACK again.
    if (this.#state === "syn-received" && (f & TCP_SYN) && !(f & (TCP_ACK | TCP_RST))) {
      if (seg.seq === this.#irs) this.#sndNxt = this.#iss;
      return null;
    }
    const segLen = seg.payload.length + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);
    // PAWS (RFC 7323 §5.3): a segment stamped before the latest in-order one is an old
    // duplicate; ACK it and drop it. RSTs are exempt.
    if (
      this.#tsOk && seg.hasTs && !(f & TCP_RST) && this.#isSyncData() &&
      seqLt(seg.tsVal, this.#tsRecent)
    ) {
      this.stats.pawsDrops++;
      return this.#ackReply(now);
    }
    if (!this.#acceptable(seg, segLen)) {
      if (f & TCP_RST) return null;
      this.stats.outOfWindow++;
      if (this.#state === "time-wait") this.#timeWaitDeadline = now + TIME_WAIT_MS;
      return this.#ackReply(now);
    }
    if (f & TCP_RST) {
      if (seg.seq === this.#rcvNxt) {
        this.#toClosed(this.#state === "time-wait" ? null : "reset");
        return null;
      }
      this.stats.challengeAcks++;
      return this.#ackReply(now);
    }
    if (f & TCP_SYN) {
      this.stats.challengeAcks++;
      return this.#ackReply(now);
    }
    if (!(f & TCP_ACK)) return null;
    this.#lastHeard(now);
    if (this.#tsOk && seg.hasTs && seqLe(seg.seq, this.#rcvNxt)) this.#tsRecent = seg.tsVal;

    if (this.#state === "syn-received") {
      if (seqLe(seg.ack, this.#sndUna) || seqGt(seg.ack, this.#sndMax)) return this.#rstFor(seg);
      this.#state = "established";
      this.#sndWl1 = seg.seq;
      this.#sndWl2 = seg.ack;
      this.#sndWnd = seg.window << this.#sndShift;
      if (this.#finQueued) this.#state = "fin-wait-1";
    }
    if (seqGt(seg.ack, this.#sndMax)) return this.#ackReply(now);
    if (seqGe(seg.ack, this.#sndUna)) this.#processAck(now, seg);
    if (this.#state === "closed") return null;

    // Data and FIN.
    const s = this.#state;
    if (s === "established" || s === "fin-wait-1" || s === "fin-wait-2") {
      this.#processData(now, seg);
    } else if ((f & TCP_FIN) || seg.payload.length > 0) {
      // Data past the peer's FIN, or a repeated FIN: re-acknowledge.
      this.#ackNow = true;
    }
    return null;
  }

  #processAck(now: number, seg: TcpRepr): void {
    const acked = seqDiff(seg.ack, this.#sndUna);
    const wnd = seg.window << this.#sndShift;
    const flight = seqDiff(this.#sndMax, this.#sndUna);
    const sameWindow = wnd === this.#sndWnd;
    if (
      seqLt(this.#sndWl1, seg.seq) ||
      (this.#sndWl1 === seg.seq && seqLe(this.#sndWl2, seg.ack))
    ) {
      this.#sndWnd = wnd;
      this.#sndWl1 = seg.seq;
      this.#sndWl2 = seg.ack;
    }
    if (this.#sackOk && seg.sackCount > 0) {
      this.#readSack(seg);
      if (this.#inRecovery) {
        const hi = seqAdd(this.#sndUna, this.#lossEdge());
        if (seqGt(hi, this.#lossLimit)) this.#lossLimit = hi;
      }
    }
    if (acked > 0) {
      this.#ackOf(now, seg, seg.ack);
    } else if (
      flight > 0 && seg.payload.length === 0 && !(seg.flags & (TCP_SYN | TCP_FIN)) && sameWindow
    ) {
      this.#dupAcks++;
    }
    if (this.#sndWnd > 0) this.#persistDeadline = Infinity;
    else if (
      this.#sendBuf.length > 0 && seqDiff(this.#sndMax, this.#sndUna) === 0 &&
      this.#persistDeadline === Infinity
    ) {
      this.#persistDeadline = now + this.#rtt.rtoMs;
    }
    // A resent SND.UNA still unacknowledged well over an RTT later, while SACKs keep coming:
    // the retransmission was lost too; resend the holes again (RACK's idea, RFC 8985).
    if (
      this.#inRecovery && acked === 0 && seg.sackCount > 0 &&
      now - this.#rxtUnaAt > Math.max(this.#rtt.srttMs * 1.25, 2) + 2 * this.#rtt.rttvarMs
    ) {
      this.#rxtNext = this.#sndUna;
      this.#rxtUnaAt = Infinity;
      this.stats.lostRetransmits++;
    }
    // Loss detection: three duplicate ACKs, or more than two segments' worth SACKed above
    // SND.UNA (RFC 6675 IsLost for the first hole).
    const inFlight = seqDiff(this.#sndMax, this.#sndUna);
    if (
      !this.#inRecovery && inFlight > 0 && this.#isSyncData() &&
      (this.#dupAcks >= DUP_THRESH ||
        (this.#sackOk && this.#scoreboard.bytes > (DUP_THRESH - 1) * this.#sndMss))
    ) {
      this.#enterRecovery(now);
    }
  }

  /**
   * Offset (from SND.UNA) below which a hole counts as lost: more than DupThresh - 1
   * segments' worth of data above it is SACKed (RFC 6675 IsLost), so mere reordering of a
   * segment or two does not cause a retransmission.
   */
  #lossEdge(): number {
    const sb = this.#scoreboard;
    const need = (DUP_THRESH - 1) * this.#sndMss + 1;
    let acc = 0;
    for (let i = sb.count - 1; i >= 0; i--) {
      const len = sb.end(i) - sb.start(i);
      if (acc + len >= need) return sb.start(i) + (acc + len - need);
      acc += len;
    }
    return 0;
  }

  #isSyncData(): boolean {
    const s = this.#state;
    return s !== "syn-sent" && s !== "syn-received";
  }

  #readSack(seg: TcpRepr): void {
    const flight = seqDiff(this.#sndMax, this.#sndUna);
    for (let i = 0; i < seg.sackCount; i++) {
      const l = seqDiff(seg.sack[2 * i], this.#sndUna);
      const r = seqDiff(seg.sack[2 * i + 1], this.#sndUna);
      // D-SACKs and blocks outside what is outstanding carry nothing for us.
      if (l < 0 || r <= l || r > flight) continue;
      this.#scoreboard.add(l, r);
    }
  }

  #enterRecovery(now: number): void {
    this.#inRecovery = true;
    this.stats.recoveries++;
    this.#recoveryPoint = this.#sndMax;
    const flight = seqDiff(this.#sndMax, this.#sndUna);
    this.#cc.onLoss(now, flight);
    this.#rxtNext = this.#sndUna;
    this.#lossLimit = this.#sackOk && this.#scoreboard.count > 0
      ? seqAdd(this.#sndUna, Math.max(this.#lossEdge(), 1))
      : seqAdd(this.#sndUna, Math.min(this.#sndMss, flight));
    this.#fastRexmit = true;
    this.#timedSeq = -1;
    this.#tlpDeadline = Infinity;
  }

  /** SND.UNA moves to `ack`: buffers, RTT, timers, recovery, state. */
  #ackOf(now: number, seg: TcpRepr, ack: number): void {
    const acked = seqDiff(ack, this.#sndUna);
    // After a timeout, the first ACK tells whether it was spurious: an echoed timestamp older
    // than the retransmission means the original arrived (a delay spike, not a loss). Then the
    // window comes back and sending resumes after the data already sent (RFC 4015).
    if (this.#rtoTsVal !== -1 && this.#tsOk && seg.hasTs && seg.tsEcr !== 0) {
      if (seqLt(seg.tsEcr, this.#rtoTsVal)) {
        this.stats.spuriousTimeouts++;
        this.#cc.undo(this.#undoCwnd, this.#undoSsthresh);
        if (seqLt(this.#sndNxt, this.#sndMax)) this.#sndNxt = this.#sndMax;
        this.#rxtNext = this.#sndMax;
      }
      this.#rtoTsVal = -1;
    }
    // RTT sample: the echoed timestamp, else the one timed segment (Karn: never a resent one).
    if (this.#tsOk && seg.hasTs && seg.tsEcr !== 0) {
      const rtt = seqDiff(this.#tsNow(now), seg.tsEcr);
      if (rtt >= 0) this.#rtt.sample(rtt);
    } else if (this.#timedSeq !== -1 && seqGt(ack, this.#timedSeq)) {
      this.#rtt.sample(now - this.#timedAt);
      this.#timedSeq = -1;
    }
    const data = Math.min(Math.max(seqDiff(ack, this.#bufSeq), 0), this.#sendBuf.length);
    if (data > 0) {
      this.#sendBuf.consume(data);
      this.#bufSeq = seqAdd(this.#bufSeq, data);
    }
    if (this.#finQueued && seqGt(ack, this.#bufSeq) && this.#sendBuf.length === 0) {
      this.#finAcked = true;
    }
    this.#sndUna = ack;
    this.#scoreboard.shift(acked);
    if (seqLt(this.#sndNxt, ack)) this.#sndNxt = ack;
    if (seqLt(this.#rxtNext, ack)) this.#rxtNext = ack;
    this.#retries = 0;
    this.#dupAcks = 0;
    this.#rtoDeadline = seqDiff(this.#sndMax, ack) > 0 ? now + this.#rtt.rtoMs : Infinity;
    this.#armTlp(now);
    if (this.#inRecovery) {
      if (seqGe(ack, this.#recoveryPoint)) {
        this.#inRecovery = false;
        this.#cc.onRecoveryEnd(now);
      } else {
        if (!this.#sackOk || this.#scoreboard.count === 0) {
          // NewReno partial ACK: the next segment is lost too.
          this.#rxtNext = ack;
          this.#lossLimit = seqAdd(ack, this.#sndMss);
          this.#fastRexmit = true; // RFC 6582: resend the first unacknowledged segment now
        } else {
          this.#lossLimit = seqAdd(ack, Math.max(this.#lossEdge(), 1));
        }
        this.#cc.onAck(now, acked, true);
      }
    } else {
      this.#cc.onAck(now, acked, false);
    }
    if (this.#finAcked) {
      if (this.#state === "fin-wait-1") this.#state = "fin-wait-2";
      else if (this.#state === "closing") this.#toTimeWait(now);
      else if (this.#state === "last-ack") this.#toClosed(null);
    }
  }

  #processData(now: number, seg: TcpRepr): void {
    let payload = seg.payload;
    let fin = (seg.flags & TCP_FIN) !== 0;
    let off = seqDiff(seg.seq, this.#rcvNxt);
    if (off < 0) {
      if (-off >= payload.length) {
        payload = payload.subarray(payload.length);
        if (-off > seg.payload.length) fin = false; // the FIN itself is old
      } else {
        payload = payload.subarray(-off);
      }
      off = 0;
    }
    const room = this.#recvBuf.free;
    if (off + payload.length > room) {
      payload = payload.subarray(0, Math.max(0, room - off));
      fin = false;
    }
    if (payload.length > 0) {
      const wasOoo = this.#ooo.count > 0;
      if (off > 0 && !this.#ooo.add(off, off + payload.length)) {
        this.#ackNow = true; // no room to track it: drop, the peer resends
        return;
      }
      this.#recvBuf.writeAt(this.#recvBuf.length + off, payload);
      let advance = off === 0 ? payload.length : 0;
      while (advance > 0) {
        this.#recvBuf.commit(advance);
        this.#rcvNxt = seqAdd(this.#rcvNxt, advance);
        this.#ooo.shift(advance);
        advance = this.#ooo.takeFront();
      }
      if (off > 0 || wasOoo) {
        this.#ackNow = true; // out of order, or filling a hole: ACK at once (RFC 5681 §4.2)
      } else if (++this.#segsUnacked >= 2) {
        this.#ackNow = true;
      } else if (!this.#ackPending) {
        this.#ackPending = true;
        this.#ackDeadline = now + DELAYED_ACK_MS;
      }
    }
    if (fin) this.#rcvFinSeq = seqAdd(seg.seq, seg.payload.length);
    if (this.#rcvFinSeq !== -1 && !this.#finReceived && this.#rcvFinSeq === this.#rcvNxt) {
      this.#finReceived = true;
      this.#rcvNxt = seqAdd(this.#rcvNxt, 1);
      this.#ackNow = true;
      this.#ooo.clear();
      this.#releaseDrainedRecv();
      if (this.#state === "established") this.#state = "close-wait";
      else if (this.#state === "fin-wait-1") {
        if (this.#finAcked) this.#toTimeWait(now);
        else this.#state = "closing";
      } else if (this.#state === "fin-wait-2") this.#toTimeWait(now);
    }
  }

  // ---------------------------------------------------------------- output

  /**
   * Emits at most one segment: a RST, SYN or SYN-ACK, a retransmission, new data, a FIN, a
   * zero-window or keep-alive probe, or an ACK. Runs expired timers first.
   * @param now time in ms
   * @param emit called with the segment (reused record; `payloadLen` bytes of data follow,
   *   copied with {@linkcode TcpSocket.copyPayload})
   * @returns whether a segment was emitted
   */
  dispatch(now: number, emit: (seg: TcpRepr) => void): boolean {
    const s = this.#state;
    if (s === "closed" || s === "listen") return false;
    if (this.#rstPending) {
      const o = this.#header(now, TCP_RST | TCP_ACK, this.#sndNxt);
      this.#toClosed("aborted");
      emit(o);
      return true;
    }
    if (s === "time-wait") {
      if (now >= this.#timeWaitDeadline) {
        this.#toClosed(null);
        return false;
      }
      if (this.#ackNow) return this.#emitAck(now, emit);
      return false;
    }
    if (now >= this.#rtoDeadline) {
      this.#onRetransmitTimeout(now);
      if (this.#state === "closed") return false;
    }
    if (now >= this.#tlpDeadline) {
      this.#tlpDeadline = Infinity;
      if (!this.#inRecovery && this.#isSyncData()) {
        const flight = seqDiff(this.#sndMax, this.#sndUna);
        const dataEnd = seqAdd(this.#bufSeq, this.#sendBuf.length);
        const end = seqLt(dataEnd, this.#sndMax) ? dataEnd : this.#sndMax;
        const len = Math.min(this.#sndMss, seqDiff(end, this.#sndUna));
        if (flight > 0 && len > 0 && seqGe(this.#sndNxt, this.#sndMax)) {
          this.stats.retransmits++;
          this.stats.tailProbes++;
          return this.#emitSegment(now, emit, seqAdd(end, -len), len, dataEnd, true);
        }
      }
    }
    if (s === "syn-sent" || s === "syn-received") {
      if (this.#sndNxt === this.#iss) return this.#emitSyn(now, emit);
      this.#ackNow = false;
      this.#ackPending = false;
      this.#settleTimers(now);
      return false;
    }
    // SACK blocks ride on pure ACKs only (data segments have no option room to spare).
    if (this.#ackNow && this.#ooo.count > 0) return this.#emitAck(now, emit);
    if (this.#emitData(now, emit)) return true;
    if (this.#ackNow || (this.#ackPending && now >= this.#ackDeadline)) {
      return this.#emitAck(now, emit);
    }
    if (
      now >= this.#keepAliveDeadline && this.#sendBuf.length === 0 &&
      seqDiff(this.#sndMax, this.#sndUna) === 0
    ) {
      return this.#emitKeepAlive(now, emit);
    }
    this.#settleTimers(now);
    return false;
  }

  /**
   * Nothing left to send now: push timers that came due without an action to their next
   * useful time, so {@linkcode TcpSocket.pollAt} never asks for a call in the past.
   */
  #settleTimers(now: number): void {
    if (this.#keepAliveDeadline <= now) this.#keepAliveDeadline = now + KEEPALIVE_INTERVAL_MS;
    if (this.#persistDeadline <= now) {
      const waiting = this.#sndWnd === 0 && this.#sendBuf.length > 0 &&
        seqDiff(this.#sndMax, this.#sndUna) === 0;
      this.#persistDeadline = waiting ? now + this.#rtt.rtoMs : Infinity;
    }
    if (this.#paceAt <= now) this.#paceBlocked = false;
    if (this.#ackPending && this.#ackDeadline <= now) this.#ackPending = false;
  }

  /**
   * Copies the data of an emitted segment (`seg.payloadLen` bytes from `seg.seq`).
   * @param seg the record {@linkcode TcpSocket.dispatch} emitted
   * @param dst destination @param off where
   */
  copyPayload(seg: TcpRepr, dst: Uint8Array, off: number): void {
    this.#sendBuf.copyOut(seqDiff(seg.seq, this.#bufSeq), seg.payloadLen, dst, off);
  }

  #tsNow(now: number): number {
    return (Math.floor(now) + this.#tsOffset) >>> 0;
  }

  #header(now: number, flags: number, seq: number, withSack = false): TcpRepr {
    const o = this.#out;
    clearTcpOptions(o);
    o.srcPort = this.localPort;
    o.dstPort = this.#remotePort;
    o.seq = seq;
    o.flags = flags;
    o.ack = flags & TCP_ACK ? this.#rcvNxt : 0;
    if (flags & TCP_SYN) {
      o.window = Math.min(this.#recvBuf.free, 0xffff);
    } else {
      const w = this.#windowBytes();
      o.window = w >>> this.#rcvShift;
      if (flags & TCP_ACK) this.#rcvAdvEdge = seqAdd(this.#rcvNxt, w);
    }
    if (this.#tsOk && !(flags & TCP_RST)) {
      o.hasTs = true;
      o.tsVal = this.#tsNow(now);
      o.tsEcr = this.#tsRecent;
    }
    if (flags & TCP_ACK) {
      this.#ackNow = false;
      this.#ackPending = false;
      this.#ackDeadline = Infinity;
      this.#segsUnacked = 0;
      if (withSack && this.#sackOk && this.#ooo.count > 0) this.#fillSack(o);
    }
    return o;
  }

  #fillSack(o: TcpRepr): void {
    // The block holding the latest segment first (RFC 2018 §4), then the lowest others.
    const n = this.#ooo.count;
    const max = o.hasTs ? MAX_SACK_BLOCKS_SENT : 4;
    let k = 0;
    const first = this.#ooo.lastIndex;
    const put = (i: number) => {
      o.sack[2 * k] = seqAdd(this.#rcvNxt, this.#ooo.start(i));
      o.sack[2 * k + 1] = seqAdd(this.#rcvNxt, this.#ooo.end(i));
      k++;
    };
    if (first >= 0 && first < n) put(first);
    for (let i = 0; i < n && k < max; i++) if (i !== first) put(i);
    o.sackCount = k;
  }

  #emitSyn(now: number, emit: (seg: TcpRepr) => void): boolean {
    const active = this.#state === "syn-sent";
    const o = this.#header(now, active ? TCP_SYN : TCP_SYN | TCP_ACK, this.#iss);
    o.mss = this.#ourMss;
    // On a SYN-ACK only the options the peer offered (RFC 7323 §1.3, RFC 2018 §2).
    if (active || this.#wsOk) o.wscale = OUR_WINDOW_SHIFT;
    o.sackPermitted = active || this.#sackOk;
    if (active) {
      o.hasTs = true;
      o.tsVal = this.#tsNow(now);
      o.tsEcr = 0;
    }
    this.#sndNxt = seqAdd(this.#iss, 1);
    if (seqGt(this.#sndNxt, this.#sndMax)) this.#sndMax = this.#sndNxt;
    if (this.#rtoDeadline === Infinity) this.#rtoDeadline = now + this.#rtt.rtoMs;
    if (this.#retries > 0) this.stats.retransmits++;
    emit(o);
    return true;
  }

  #emitAck(now: number, emit: (seg: TcpRepr) => void): boolean {
    emit(this.#header(now, TCP_ACK, this.#sndNxt, true));
    return true;
  }

  #emitKeepAlive(now: number, emit: (seg: TcpRepr) => void): boolean {
    if (++this.#keepAliveProbes > KEEPALIVE_PROBES) {
      const o = this.#header(now, TCP_RST | TCP_ACK, this.#sndNxt);
      this.#toClosed("timeout");
      emit(o);
      return true;
    }
    this.#keepAliveDeadline = now + KEEPALIVE_INTERVAL_MS;
    // seq = SND.UNA - 1 with no data: the peer must answer with an ACK (RFC 1122 4.2.3.6).
    emit(this.#header(now, TCP_ACK, seqAdd(this.#sndUna, -1)));
    return true;
  }

  #pipe(): number {
    const outstanding = seqDiff(this.#sndMax, this.#sndUna);
    const sacked = this.#scoreboard.bytes;
    if (this.#inRecovery) {
      const from = seqDiff(this.#rxtNext, this.#sndUna);
      const to = seqDiff(this.#lossLimit, this.#sndUna);
      return Math.max(0, outstanding - sacked - this.#scoreboard.gapBytes(from, to));
    }
    // After a timeout everything from SND.NXT up is taken as lost.
    const lost = this.#scoreboard.gapBytes(
      seqDiff(this.#sndNxt, this.#sndUna),
      outstanding,
    );
    return Math.max(0, outstanding - sacked - lost);
  }

  #emitData(now: number, emit: (seg: TcpRepr) => void): boolean {
    const s = this.#state;
    if (s === "fin-wait-2") return false;
    const bufEnd = seqAdd(this.#bufSeq, this.#sendBuf.length);
    const cwnd = this.#cc.cwndBytes;
    const pipe = this.#pipe();

    // 1. Loss recovery: the next hole below the loss limit.
    if (this.#inRecovery && (this.#fastRexmit || pipe + this.#sndMss <= cwnd)) {
      const base = this.#sndUna;
      const gap = this.#scoreboard.nextGap(Math.max(0, seqDiff(this.#rxtNext, base)));
      const limit = Math.min(seqDiff(this.#lossLimit, base), seqDiff(this.#sndMax, base));
      if (gap < limit) {
        // The FIN takes a sequence number but no byte of the buffer: a hole that reaches it
        // is resent as the data before it, then the FIN alone (len 0 at the buffer's end).
        let len = Math.min(this.#sndMss, limit - gap, seqDiff(bufEnd, base) - gap);
        for (let i = 0; i < this.#scoreboard.count; i++) {
          const st = this.#scoreboard.start(i);
          if (st > gap) {
            len = Math.min(len, st - gap);
            break;
          }
        }
        const seq = seqAdd(base, gap);
        if (seq === this.#sndUna) this.#rxtUnaAt = now;
        this.#fastRexmit = false;
        const finToo = this.#finQueued && seqAdd(seq, len) === bufEnd;
        this.#rxtNext = seqAdd(seq, len + (finToo ? 1 : 0));
        this.stats.retransmits++;
        return this.#emitSegment(now, emit, seq, len, bufEnd, true);
      }
      this.#fastRexmit = false;
    }

    // 2. Data at SND.NXT (new, or resent after a timeout), and the FIN after it.
    this.#paceBlocked = now < this.#paceAt;
    if (this.#paceBlocked) return false;
    let seq = this.#sndNxt;
    const resend = seqLt(seq, this.#sndMax);
    if (resend && this.#scoreboard.count > 0) {
      const gap = this.#scoreboard.nextGap(seqDiff(seq, this.#sndUna));
      seq = seqAdd(this.#sndUna, gap);
      if (seqGt(seq, this.#sndMax)) seq = this.#sndMax;
      this.#sndNxt = seq;
    }
    const avail = Math.max(0, seqDiff(bufEnd, seq));
    const wndRoom = seqDiff(seqAdd(this.#sndUna, this.#sndWnd), seq);
    const cwndRoom = cwnd - pipe;
    let len = Math.min(avail, this.#sndMss, wndRoom, cwndRoom);
    if (len < 0) len = 0;
    if (resend && this.#scoreboard.count > 0) {
      const off = seqDiff(seq, this.#sndUna);
      for (let i = 0; i < this.#scoreboard.count; i++) {
        const st = this.#scoreboard.start(i);
        if (st > off) {
          len = Math.min(len, st - off);
          break;
        }
      }
    }
    // Sender SWS avoidance: no runt segment while more data waits and something is in flight.
    if (len > 0 && len < this.#sndMss && len < avail && pipe > 0) len = 0;
    // A lone probe byte goes again on each timeout while the window stays shut.
    if (len === 0 && resend && wndRoom <= 0 && seq === this.#sndUna && avail > 0) len = 1;
    const finDue = this.#finQueued && !this.#finAcked && len === 0 && seq === bufEnd &&
      seqLe(this.#sndNxt, bufEnd) && (cwndRoom > 0 || pipe === 0);
    if (len > 0 || finDue) {
      if (resend) this.stats.retransmits++;
      return this.#emitSegment(now, emit, seq, len, bufEnd, resend);
    }

    // 3. Zero-window probe: one byte past the closed window.
    if (
      this.#sndWnd === 0 && avail > 0 && seqDiff(this.#sndMax, this.#sndUna) === 0 &&
      now >= this.#persistDeadline
    ) {
      this.#persistDeadline = Infinity;
      return this.#emitSegment(now, emit, seq, 1, bufEnd, false);
    }
    if (
      this.#sndWnd === 0 && avail > 0 && this.#persistDeadline === Infinity &&
      seqDiff(this.#sndMax, this.#sndUna) === 0
    ) {
      this.#persistDeadline = now + this.#rtt.rtoMs;
    }
    return false;
  }

  #emitSegment(
    now: number,
    emit: (seg: TcpRepr) => void,
    seq: number,
    len: number,
    bufEnd: number,
    resend: boolean,
  ): boolean {
    const end = seqAdd(seq, len);
    const fin = this.#finQueued && end === bufEnd;
    let flags = TCP_ACK;
    if (len > 0 && end === bufEnd) flags |= TCP_PSH;
    if (fin) flags |= TCP_FIN;
    const o = this.#header(now, flags, seq);
    o.payloadLen = len;
    const next = seqAdd(end, fin ? 1 : 0);
    if (!resend || seqGt(next, this.#sndNxt)) {
      if (seqGt(next, this.#sndNxt) && seqLe(seq, this.#sndNxt)) this.#sndNxt = next;
    }
    if (seqGt(next, this.#sndMax)) {
      if (this.#timedSeq === -1 && !this.#tsOk && !resend) {
        this.#timedSeq = seq;
        this.#timedAt = now;
      }
      this.#sndMax = next;
    }
    if (this.#rtoDeadline === Infinity) this.#rtoDeadline = now + this.#rtt.rtoMs;
    if (!resend) this.#armTlp(now);
    if (len > 0) this.#pace(now, len);
    emit(o);
    return true;
  }

  #onRetransmitTimeout(now: number): void {
    const flight = seqDiff(this.#sndMax, this.#sndUna);
    if (flight <= 0) {
      this.#rtoDeadline = Infinity;
      return;
    }
    this.stats.timeouts++;
    this.#retries++;
    const s = this.#state;
    if (s === "syn-sent" || s === "syn-received") {
      if (this.#retries > MAX_SYN_RETRIES) {
        this.#toClosed("timeout");
        return;
      }
      this.#sndNxt = this.#iss;
    } else {
      // Probing a zero window never gives up (RFC 9293 §3.8.6.1).
      if (this.#retries > MAX_DATA_RETRIES && this.#sndWnd > 0) {
        this.#rstPending = true;
        this.#error = "timeout";
        this.#rtoDeadline = Infinity;
        return;
      }
      if (this.#retries === 1 && this.#tsOk) {
        this.#rtoTsVal = this.#tsNow(now);
        this.#undoCwnd = this.#cc.cwndBytes;
        this.#undoSsthresh = this.#cc.ssthreshBytes;
      }
      this.#cc.onTimeout(now, flight);
      this.#sndNxt = this.#sndUna;
      this.#inRecovery = false;
      this.#fastRexmit = false;
      this.#dupAcks = 0;
      this.#rxtNext = this.#sndUna;
      this.#timedSeq = -1;
    }
    this.#rtt.backoff();
    this.#rtoDeadline = now + this.#rtt.rtoMs;
  }

  /**
   * Spreads segments over the RTT at twice (slow start) or 1.25 times (congestion avoidance)
   * cwnd per SRTT, as Linux paces, allowing bursts of up to PACING_BURST segments.
   */
  #pace(now: number, len: number): void {
    if (this.#rtt.srttMs <= 0) return;
    const cwnd = this.#cc.cwndBytes;
    const gain = cwnd < this.#cc.ssthreshBytes ? 2 : 1.25;
    const bytesPerMs = (gain * cwnd) / Math.max(this.#rtt.srttMs, 0.5);
    const burstMs = (PACING_BURST * this.#sndMss) / bytesPerMs;
    const base = Math.max(this.#paceAt, now - burstMs);
    this.#paceAt = base + len / bytesPerMs;
  }

  #armTlp(now: number): void {
    const flight = seqDiff(this.#sndMax, this.#sndUna);
    if (flight <= 0 || this.#inRecovery || this.#rtt.srttMs < 0) {
      this.#tlpDeadline = Infinity;
      return;
    }
    const pto = Math.max(2 * this.#rtt.srttMs, 10);
    this.#tlpDeadline = now + pto < this.#rtoDeadline ? now + pto : Infinity;
  }

  #lastHeard(now: number): void {
    this.#keepAliveProbes = 0;
    this.#keepAliveDeadline = this.#keepAliveIdleMs > 0 ? now + this.#keepAliveIdleMs : Infinity;
  }

  #ackReply(now: number): TcpRepr {
    return this.#header(now, TCP_ACK, this.#sndNxt, true);
  }

  /** The RST answering an unacceptable segment: seq = its ACK (RFC 9293 §3.10.7.2). */
  #rstFor(seg: TcpRepr): TcpRepr {
    const o = this.#out;
    clearTcpOptions(o);
    o.srcPort = this.localPort;
    o.dstPort = seg.srcPort;
    o.seq = seg.ack;
    o.ack = 0;
    o.flags = TCP_RST;
    o.window = 0;
    return o;
  }

  #toTimeWait(now: number): void {
    this.#state = "time-wait";
    this.#timeWaitDeadline = now + TIME_WAIT_MS;
    this.#rtoDeadline = Infinity;
    this.#persistDeadline = Infinity;
    this.#keepAliveDeadline = Infinity;
    this.#ackPending = false;
    this.#sendBuf.release();
    this.#scoreboard.clear();
  }

  #toClosed(error: TcpError | null): void {
    this.#state = "closed";
    if (this.#error === null) this.#error = error;
    this.#rstPending = false;
    this.#ackNow = false;
    this.#ackPending = false;
    this.#rtoDeadline = Infinity;
    this.#persistDeadline = Infinity;
    this.#keepAliveDeadline = Infinity;
    this.#timeWaitDeadline = Infinity;
    this.#sendBuf.release();
    if (error !== null) this.#recvBuf.release();
    this.#ooo.clear();
    this.#scoreboard.clear();
  }
}

/** Keep-alive idle default, for owners that turn it on. */
export const KEEPALIVE_DEFAULT_IDLE_MS = KEEPALIVE_IDLE_MS;
