/**
 * The userspace network stack of one node: IPv4 and IPv6 in, TCP connections and UDP
 * sockets, packets out through the `output` it is given. One object per node, no globals;
 * time and timers come from the injected {@linkcode Clock}, and every timer is driven from
 * one place ({@linkcode Stack.pollAt}): the stack keeps a single clock timer armed for it.
 * On a manual clock that timer fires only when the test advances time, and a test may also
 * call {@linkcode Stack.poll} itself.
 *
 * Inbound: `input(packet)` checks the IP and transport headers and checksums, finds the
 * connection, listener or UDP socket; a SYN to a port with no listener goes to the SYN
 * handler (the loopback forwarder) or is answered with RST; a datagram to an unbound port
 * goes to the UDP handler or is dropped. Drops are counted by reason in `stats.drops`.
 *
 * Outbound packets are written 16 bytes into a fresh buffer, so WireGuard can put its header
 * in front without a copy; `output(buf, off, len)` owns the buffer afterwards.
 * @module
 */
import {
  buildIcmpPortUnreachable,
  buildTcpRst,
  emitIpHeader,
  fillTcpChecksum,
  fillUdpChecksum,
  formatIpAddrAt,
  ICMPV4_CODE_PORT_UNREACHABLE,
  type Icmpv4Message,
  ICMPV6_CODE_PORT_UNREACHABLE,
  type Icmpv6Message,
  inspectIp,
  IP_PROTO_ICMP,
  IP_PROTO_ICMPV6,
  IP_PROTO_TCP,
  IP_PROTO_UDP,
  type IpInfo,
  isUdp,
  newIpInfo,
  parseIcmpv4,
  parseIcmpv6,
  parseIpAddr,
  pseudoHeaderSumAt,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  tcpChecksumOk,
  UDP_HEADER_LEN,
  udpChecksumOk,
  udpDstPort,
  udpLength,
  udpSrcPort,
} from "../wire/mod.ts";
import { readU16be, readU32be, writeU16be } from "../base/bytes.ts";
import { ByteSlab } from "../base/slab.ts";
import { type Clock, SYSTEM_CLOCK, type TimerId } from "../base/clock.ts";
import {
  DEFAULT_BACKLOG,
  DISPATCH_BUDGET,
  ICMP_ERROR_BURST,
  ICMP_ERRORS_PER_SEC,
  MAX_PENDING_SYNS,
  MSS_V4,
  MSS_V6,
  TUNNEL_MTU,
  UDP_QUEUE_MAX,
} from "./constants.ts";
import { type ConnHost, StackConn, type TcpEntry } from "./conn.ts";
import {
  emitTcpRepr,
  newTcpRepr,
  parseTcpRepr,
  type TcpRepr,
  tcpReprHeaderLen,
} from "./tcp_repr.ts";
import { TcpSocket } from "./tcp_socket.ts";
import { type UdpHost, UdpSocket } from "./udp_socket.ts";

/** Room WireGuard needs in front of an IP packet. */
export const HEADROOM = 16;
/** Room WireGuard needs after it (padding to 16 and the Poly1305 tag). */
const TAILROOM = 32;

/** Inbound packets the stack dropped, by reason. */
export interface StackDrops {
  /** Not a well-formed IPv4/IPv6 packet, or a transport header that does not fit. */
  malformed: number;
  /** IP fragments (we never reassemble; peers use the 1280 MTU). */
  fragment: number;
  /** Destination is neither one of our addresses nor in a prefix we route for peers. */
  notOurs: number;
  /** Bad TCP or UDP checksum. */
  badChecksum: number;
  /** Not TCP or UDP (ICMP is answered by the engine). */
  protocol: number;
  /** TCP segment for no connection (a RST went back unless it was a RST). */
  noConnection: number;
  /** SYN dropped because the listener's backlog was full. */
  backlogFull: number;
  /** SYN refused by the SYN handler (a RST went back). */
  refused: number;
  /** SYN dropped because too many were already waiting for the SYN handler. */
  synQueueFull: number;
  /** UDP datagram to a port nobody serves. */
  noUdpSocket: number;
  /** UDP datagram dropped because the socket's queue was full. */
  udpQueueFull: number;
}

/** Counters of a stack. */
export interface StackStats {
  /** Packets given to input. */
  packetsIn: number;
  /** Packets sent. */
  packetsOut: number;
  /** Connections in TIME-WAIT that a newer SYN for the same four-tuple ended early. */
  timeWaitReused: number;
  /** ICMP port unreachable errors sent for UDP to a port nobody serves. */
  icmpErrorsSent: number;
  /** ICMP destination unreachable errors received (about TCP, UDP or anything). */
  icmpErrorsReceived: number;
  /** ICMP errors not sent because of the rate limit. */
  icmpErrorsLimited: number;
  /** Drops by reason. */
  drops: StackDrops;
}

/** A SYN to a port with no listener, for the SYN handler to accept or refuse. */
export interface SynRequest {
  /**
   * The address and port the peer wants: one of ours, or (when `routed`) a destination in a
   * prefix we route for peers (subnet router, exit node), which the stack answers as.
   */
  readonly localAddr: Deno.NetAddr;
  /** True when `localAddr` is not ours but a routed destination, to be dialled as it is. */
  readonly routed: boolean;
  /** The peer. */
  readonly remoteAddr: Deno.NetAddr;
  /** Completes the handshake. @returns the connection, or null if the SYN is gone */
  accept(): StackConn | null;
  /** Answers with RST. */
  reject(): void;
}

/** A UDP datagram to a port no socket is bound to, for the UDP handler. */
export interface UdpUnbound {
  /** The address and port it was sent to: ours, or a routed destination (`routed`). */
  readonly localAddr: Deno.NetAddr;
  /** True when `localAddr` is not ours but in a prefix we route for peers. */
  readonly routed: boolean;
  /** The sender. */
  readonly remoteAddr: Deno.NetAddr;
  /** The payload (a copy the handler may keep). */
  readonly data: Uint8Array;
}

/**
 * Takes a datagram to a port with no UDP socket: true when it was taken, false when nobody
 * serves that port either (the stack then answers ICMP port unreachable).
 */
export type UdpHandler = (d: UdpUnbound) => boolean;

/** Options for {@linkcode Stack}. */
export interface StackOptions {
  /** Sends one IP packet at `buf[off..off+len)`; 16 bytes before `off` are free. */
  output: (buf: Uint8Array, off: number, len: number) => void;
  /** Our addresses (text); more may be set with {@linkcode Stack.setAddresses}. */
  addresses?: readonly string[];
  /** Time and the stack's one timer; default {@linkcode SYSTEM_CLOCK}. */
  clock?: Clock;
  /** Random bytes; default `crypto.getRandomValues`. */
  random?: (out: Uint8Array) => void;
  /** Keep-alive idle time for every connection (0, the default, turns it off). */
  keepAliveIdleMs?: number;
  /** Receive buffer bound per connection (default 4 MiB). */
  recvBufferMax?: number;
  /** Send buffer bound per connection (default 4 MiB). */
  sendBufferMax?: number;
}

/** Options for {@linkcode Stack.listenTcp}. */
export interface ListenOptions {
  /** Port. */
  port: number;
  /** Connections held before accept (default 128). */
  backlog?: number;
}

interface ListenerCore {
  port: number;
  backlog: number;
  /** Handshakes in progress. */
  pending: Set<TcpEntry>;
  /** Established, waiting for accept. */
  ready: StackConn[];
  waiters: ((c: StackConn | null) => void)[];
  closed: boolean;
}

interface Pending {
  syn: TcpRepr;
  localIp: Uint8Array;
  remoteIp: Uint8Array;
  /** The ISS to use when the SYN took over a connection in TIME-WAIT. */
  iss: number | undefined;
}

/** A listening TCP port on every address of the stack. */
export class TcpListener implements AsyncIterable<StackConn> {
  readonly #core: ListenerCore;
  readonly #stack: Stack;
  /** The port. */
  readonly addr: Deno.NetAddr;

  /** @param core the stack's listener state @param stack the stack */
  constructor(core: ListenerCore, stack: Stack) {
    this.#core = core;
    this.#stack = stack;
    this.addr = { transport: "tcp", hostname: "0.0.0.0", port: core.port };
  }

  /** @returns the next established connection; rejects once the listener is closed */
  accept(): Promise<StackConn> {
    const c = this.#core;
    const next = c.ready.shift();
    if (next) return Promise.resolve(next);
    if (c.closed) return Promise.reject(new Deno.errors.BadResource("Listener is closed"));
    return new Promise((resolve, reject) => {
      c.waiters.push((conn) => {
        if (conn) resolve(conn);
        else reject(new Deno.errors.BadResource("Listener is closed"));
      });
    });
  }

  /** Yields connections until the listener is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<StackConn> {
    for (;;) {
      try {
        yield await this.accept();
      } catch {
        return;
      }
    }
  }

  /** Stops listening; handshakes in progress and unaccepted connections are reset. */
  close(): void {
    this.#stack.closeListener(this.#core);
  }
}

/** The userspace TCP/UDP stack of one node. */
export class Stack implements ConnHost, UdpHost {
  readonly #output: StackOptions["output"];
  /** Where the stack reads time and arms its timer (the forwarder's flow timers use it too). */
  readonly clock: Clock;
  readonly #random: (out: Uint8Array) => void;
  readonly #opts: StackOptions;
  readonly #info: IpInfo = newIpInfo();
  readonly #seg: TcpRepr = newTcpRepr();
  /** Every emitted TCP segment's buffer (each owned by `output` afterwards, as before). */
  readonly #slab = new ByteSlab();
  readonly #conns = new Map<string, TcpEntry>();
  readonly #listeners = new Map<number, ListenerCore>();
  readonly #pending = new Map<string, Pending>();
  readonly #udp = new Map<number, UdpSocket>();
  readonly #dirty = new Set<TcpEntry>();
  readonly #owner = new Map<TcpEntry, ListenerCore>();
  #addrs: Uint8Array[] = [];
  #routed: ((b: Uint8Array, off: number, len: number) => boolean) | null = null;
  #nextTimerAt = Infinity;
  #timer: TimerId | null = null;
  #timerAt = Infinity;
  #flushQueued = false;
  #closed = false;
  #synHandler: ((req: SynRequest) => void) | null = null;
  #udpHandler: UdpHandler | null = null;
  /** ICMP error tokens (a bucket refilled at ICMP_ERRORS_PER_SEC) and when it was last filled. */
  #icmpTokens = ICMP_ERROR_BURST;
  #icmpFilledAt = -Infinity;
  /** Counters. */
  readonly stats: StackStats = {
    packetsIn: 0,
    packetsOut: 0,
    timeWaitReused: 0,
    icmpErrorsSent: 0,
    icmpErrorsReceived: 0,
    icmpErrorsLimited: 0,
    drops: {
      malformed: 0,
      fragment: 0,
      notOurs: 0,
      badChecksum: 0,
      protocol: 0,
      noConnection: 0,
      backlogFull: 0,
      refused: 0,
      synQueueFull: 0,
      noUdpSocket: 0,
      udpQueueFull: 0,
    },
  };

  /** @param opts output, addresses, clock, random */
  constructor(opts: StackOptions) {
    this.#opts = opts;
    this.#output = opts.output;
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.#random = opts.random ?? ((b) => crypto.getRandomValues(b));
    this.setAddresses(opts.addresses ?? []);
  }

  /** Replaces our addresses (text, with or without a `/bits` suffix). @param addrs addresses */
  setAddresses(addrs: readonly string[]): void {
    this.#addrs = addrs.map((a) => parseIpAddr(a.split("/")[0]));
  }

  /**
   * Sets the destinations the stack takes as a router (subnet routes, an exit node's
   * everything): a packet to such an address that is not ours is handled as if it were, except
   * that listeners and bound UDP sockets never see it: a SYN goes to the SYN handler and a
   * datagram to the UDP handler, flagged `routed`, so the forwarder dials the real
   * destination. Null: route nothing (the default).
   * @param routed whether an address (`b[off..off+len)`, 4 or 16 bytes) is routed by us
   */
  setRouted(routed: ((b: Uint8Array, off: number, len: number) => boolean) | null): void {
    this.#routed = routed;
  }

  /** Our addresses as text. */
  get addresses(): string[] {
    return this.#addrs.map((a) => formatIpAddrAt(a, 0, a.length));
  }

  /** Live TCP connections (all states but CLOSED). */
  get connectionCount(): number {
    return this.#conns.size;
  }

  /** Bytes held by every connection's buffers. */
  get bufferBytes(): number {
    let n = 0;
    for (const e of this.#conns.values()) n += e.sock.bufferBytes;
    return n;
  }

  /**
   * Handles SYNs to ports with no listener (the loopback forwarder). Without one they get RST.
   * @param fn the handler, or null
   */
  setSynHandler(fn: ((req: SynRequest) => void) | null): void {
    this.#synHandler = fn;
  }

  /**
   * Handles datagrams to ports with no UDP socket (the loopback forwarder). Without one, or
   * when it declines, the sender gets ICMP port unreachable (rate-limited).
   * @param fn the handler, or null
   */
  setUdpHandler(fn: UdpHandler | null): void {
    this.#udpHandler = fn;
  }

  /** The engine's packet-handler hook: same as {@linkcode Stack.input}. @param packet IP packet */
  inbound(packet: Uint8Array): void {
    this.input(packet);
  }

  // ------------------------------------------------------------------ input

  /**
   * Takes one inbound IP packet.
   * @param packet the packet (read now, not kept)
   */
  input(packet: Uint8Array): void {
    if (this.#closed) return;
    const info = this.#info;
    if (!inspectIp(packet, 0, packet.length, info)) {
      this.stats.packetsIn++;
      this.stats.drops.malformed++;
      return;
    }
    this.inputParsed(packet, info);
  }

  /**
   * Takes one inbound IP packet that the caller has already inspected (the engine's packet
   * pipeline parses each packet once).
   * @param packet the packet (read now, not kept)
   * @param info what `inspectIp(packet, 0, packet.length, info)` filled in
   */
  inputParsed(packet: Uint8Array, info: IpInfo): void {
    if (this.#closed) return;
    this.stats.packetsIn++;
    const d = this.stats.drops;
    if (info.fragment) {
      d.fragment++;
      return;
    }
    let routed = false;
    if (!this.#isOurs(packet, info.dstOff, info.addrLen)) {
      routed = this.#routed !== null && this.#routed(packet, info.dstOff, info.addrLen);
      if (!routed) {
        d.notOurs++;
        return;
      }
    }
    if (info.protocol === IP_PROTO_TCP) this.#inputTcp(packet, info, routed);
    else if (info.protocol === IP_PROTO_UDP) this.#inputUdp(packet, info, routed);
    else if (info.protocol === (info.version === 4 ? IP_PROTO_ICMP : IP_PROTO_ICMPV6)) {
      this.#inputIcmp(packet, info);
    } else d.protocol++;
  }

  /**
   * ICMP / ICMPv6 destination unreachable about one of our TCP connections: a connection still
   * opening fails at once (as Linux's does) instead of resending its SYN for a minute, e.g.
   * when a peer's firewall rejects with ICMP. Everything else ICMP (echo is the engine's) is
   * counted and dropped.
   */
  #inputIcmp(packet: Uint8Array, info: IpInfo): void {
    const d = this.stats.drops;
    const v4 = info.version === 4;
    const off = info.payloadOff, end = info.payloadEnd;
    let msg: Icmpv4Message | Icmpv6Message;
    try {
      msg = v4 ? parseIcmpv4(packet, off, end) : parseIcmpv6(packet, off, end, {
        src: packet.subarray(info.srcOff, info.srcOff + 16),
        dst: packet.subarray(info.dstOff, info.dstOff + 16),
      });
    } catch {
      d.badChecksum++; // or shorter than an ICMP header
      return;
    }
    if (msg.type !== "dest-unreachable") {
      d.protocol++;
      return;
    }
    this.stats.icmpErrorsReceived++;
    const port = v4 ? ICMPV4_CODE_PORT_UNREACHABLE : ICMPV6_CODE_PORT_UNREACHABLE;
    const quoted = quotedTcp(msg.original);
    if (quoted === null) return;
    const e = this.#conns.get(quoted.key);
    if (e === undefined) return;
    if (e.sock.icmpUnreachable(quoted.seq, msg.code === port ? "refused" : "unreachable")) {
      this.#service(e, this.clock.now());
    }
  }

  #isOurs(b: Uint8Array, off: number, len: number): boolean {
    outer: for (const a of this.#addrs) {
      if (a.length !== len) continue;
      for (let i = 0; i < len; i++) if (a[i] !== b[off + i]) continue outer;
      return true;
    }
    return false;
  }

  #inputTcp(packet: Uint8Array, info: IpInfo, routed: boolean): void {
    const d = this.stats.drops;
    const off = info.payloadOff, end = info.payloadEnd;
    const seg = this.#seg;
    if (!parseTcpRepr(packet, off, end, seg)) {
      d.malformed++;
      return;
    }
    const ps = pseudoHeaderSumAt(packet, info.srcOff, info.dstOff, info.addrLen, 6, end - off);
    if (!tcpChecksumOk(packet, off, end, ps)) {
      d.badChecksum++;
      return;
    }
    const remoteText = formatIpAddrAt(packet, info.srcOff, info.addrLen);
    const localText = formatIpAddrAt(packet, info.dstOff, info.addrLen);
    const key = connKey(remoteText, seg.srcPort, localText, seg.dstPort);
    const now = this.clock.now();
    const e = this.#conns.get(key);
    let iss: number | undefined;
    if (e !== undefined) {
      const next = e.sock.yieldToSyn(seg);
      if (next === null) {
        const reply = e.sock.process(now, seg);
        if (reply !== null) this.#emitTcp(e.localIp, e.remoteIp, reply, null);
        this.#service(e, now);
        return;
      }
      // A new incarnation of a connection in TIME-WAIT: the old one is gone, the SYN is new.
      this.stats.timeWaitReused++;
      this.#service(e, now);
      iss = next;
    }
    const f = seg.flags;
    if ((f & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN) {
      const l = routed ? undefined : this.#listeners.get(seg.dstPort);
      const localIp = packet.slice(info.dstOff, info.dstOff + info.addrLen);
      const remoteIp = packet.slice(info.srcOff, info.srcOff + info.addrLen);
      if (l !== undefined && !l.closed) {
        if (l.pending.size + l.ready.length >= l.backlog) {
          d.backlogFull++;
          return;
        }
        const ne = this.#newEntry(localIp, remoteIp, localText, remoteText, seg.dstPort, key, iss);
        ne.sock.listen();
        ne.sock.process(now, seg);
        l.pending.add(ne);
        this.#owner.set(ne, l);
        this.#service(ne, now);
        return;
      }
      if (this.#synHandler !== null) {
        if (!this.#pending.has(key)) {
          if (this.#pending.size >= MAX_PENDING_SYNS) {
            d.synQueueFull++;
            return;
          }
          const syn = { ...seg, sack: seg.sack.slice(), payload: new Uint8Array(0) };
          this.#pending.set(key, { syn, localIp, remoteIp, iss });
          this.#synHandler(
            this.#synRequest(key, localText, remoteText, seg.dstPort, seg.srcPort, routed),
          );
        }
        return;
      }
    }
    d.noConnection++;
    this.#sendRst(packet, info);
  }

  #sendRst(packet: Uint8Array, info: IpInfo): void {
    const buf = new Uint8Array(HEADROOM + 80 + TAILROOM);
    const end = buildTcpRst(packet, 0, packet.length, buf, HEADROOM, info, {
      dontFragment: true,
    });
    if (end < 0) return;
    this.stats.packetsOut++;
    this.#output(buf, HEADROOM, end - HEADROOM);
  }

  #synRequest(
    key: string,
    localText: string,
    remoteText: string,
    localPort: number,
    remotePort: number,
    routed: boolean,
  ): SynRequest {
    return {
      localAddr: { transport: "tcp", hostname: localText, port: localPort },
      routed,
      remoteAddr: { transport: "tcp", hostname: remoteText, port: remotePort },
      accept: () => {
        const p = this.#pending.get(key);
        if (p === undefined || this.#closed) return null;
        this.#pending.delete(key);
        if (this.#conns.has(key)) return null;
        const e = this.#newEntry(
          p.localIp,
          p.remoteIp,
          localText,
          remoteText,
          localPort,
          key,
          p.iss,
        );
        const now = this.clock.now();
        e.sock.listen();
        e.sock.process(now, p.syn);
        const conn = new StackConn(e, this);
        this.#service(e, now);
        return conn;
      },
      reject: () => {
        const p = this.#pending.get(key);
        if (p === undefined || this.#closed) return;
        this.#pending.delete(key);
        this.stats.drops.refused++;
        // RST+ACK for the SYN: seq 0, ack = its seq + 1.
        const o = newTcpRepr();
        o.srcPort = localPort;
        o.dstPort = remotePort;
        o.seq = 0;
        o.ack = (p.syn.seq + 1) >>> 0;
        o.flags = TCP_RST | TCP_ACK;
        o.window = 0;
        this.#emitTcp(p.localIp, p.remoteIp, o, null);
      },
    };
  }

  #inputUdp(packet: Uint8Array, info: IpInfo, routed: boolean): void {
    const d = this.stats.drops;
    const off = info.payloadOff;
    if (!isUdp(packet, off, info.payloadEnd)) {
      d.malformed++;
      return;
    }
    const len = udpLength(packet, off);
    const ps = pseudoHeaderSumAt(packet, info.srcOff, info.dstOff, info.addrLen, 17, len);
    if (!udpChecksumOk(packet, off, ps, info.version === 6)) {
      d.badChecksum++;
      return;
    }
    const dstPort = udpDstPort(packet, off);
    const data = packet.slice(off + UDP_HEADER_LEN, off + len);
    const remote: Deno.NetAddr = {
      transport: "udp",
      hostname: formatIpAddrAt(packet, info.srcOff, info.addrLen),
      port: udpSrcPort(packet, off),
    };
    const sock = routed ? undefined : this.#udp.get(dstPort);
    if (sock !== undefined) {
      if (!sock.deliver(data, remote)) d.udpQueueFull++;
      return;
    }
    if (this.#udpHandler !== null) {
      const taken = this.#udpHandler({
        localAddr: {
          transport: "udp",
          hostname: formatIpAddrAt(packet, info.dstOff, info.addrLen),
          port: dstPort,
        },
        routed,
        remoteAddr: remote,
        data,
      });
      if (taken) return;
    }
    d.noUdpSocket++;
    this.#sendPortUnreachable(packet, info);
  }

  /** ICMP / ICMPv6 port unreachable for a UDP datagram (RFC 1122 §4.1.3.1), rate-limited. */
  #sendPortUnreachable(packet: Uint8Array, info: IpInfo): void {
    const now = this.clock.now();
    const refill = Math.floor((now - this.#icmpFilledAt) * ICMP_ERRORS_PER_SEC / 1000);
    if (refill > 0) {
      this.#icmpTokens = Math.min(ICMP_ERROR_BURST, this.#icmpTokens + refill);
      this.#icmpFilledAt = now;
    }
    if (this.#icmpTokens < 1) {
      this.stats.icmpErrorsLimited++;
      return;
    }
    const buf = new Uint8Array(HEADROOM + TUNNEL_MTU + TAILROOM);
    const end = buildIcmpPortUnreachable(packet, 0, packet.length, buf, HEADROOM, info);
    if (end < 0) return;
    this.#icmpTokens--;
    this.stats.icmpErrorsSent++;
    this.stats.packetsOut++;
    this.#output(buf, HEADROOM, end - HEADROOM);
  }

  // ------------------------------------------------------------------ TCP API

  #newEntry(
    localIp: Uint8Array,
    remoteIp: Uint8Array,
    localText: string,
    remoteText: string,
    localPort: number,
    key: string,
    iss?: number,
  ): TcpEntry {
    const r = new Uint32Array(2);
    this.#random(new Uint8Array(r.buffer));
    const sock = new TcpSocket({
      localPort,
      mss: localIp.length === 4 ? MSS_V4 : MSS_V6,
      iss: iss ?? r[0],
      tsOffset: r[1],
      keepAliveIdleMs: this.#opts.keepAliveIdleMs,
      recvBufferMax: this.#opts.recvBufferMax,
      sendBufferMax: this.#opts.sendBufferMax,
    });
    const e: TcpEntry = { sock, localIp, remoteIp, localText, remoteText, key, wake: null };
    this.#conns.set(key, e);
    return e;
  }

  /**
   * Listens on a TCP port on every address of the stack.
   * @param opts port and backlog
   * @returns the listener
   * @throws {Deno.errors.AddrInUse} when the port is taken
   */
  listenTcp(opts: ListenOptions): TcpListener {
    if (this.#listeners.has(opts.port)) {
      throw new Deno.errors.AddrInUse(`Cannot listen on TCP port ${opts.port}: in use`);
    }
    const core: ListenerCore = {
      port: opts.port,
      backlog: opts.backlog ?? DEFAULT_BACKLOG,
      pending: new Set(),
      ready: [],
      waiters: [],
      closed: false,
    };
    this.#listeners.set(opts.port, core);
    return new TcpListener(core, this);
  }

  /** @param core the listener to close (called by {@linkcode TcpListener.close}) */
  closeListener(core: ListenerCore): void {
    if (core.closed) return;
    core.closed = true;
    if (this.#listeners.get(core.port) === core) this.#listeners.delete(core.port);
    for (const e of core.pending) {
      e.sock.abort();
      this.touch(e);
    }
    for (const c of core.ready) c.close();
    core.pending.clear();
    core.ready = [];
    for (const w of core.waiters.splice(0)) w(null);
  }

  /**
   * Opens a TCP connection from our address of the same family.
   * @param ip the peer's address
   * @param port the peer's port
   * @param opts `signal` to give up
   * @returns the connection once established
   * @throws {Deno.errors.ConnectionRefused} on RST, `TimedOut` when SYNs go unanswered
   */
  async connectTcp(
    ip: string,
    port: number,
    opts: { signal?: AbortSignal } = {},
  ): Promise<StackConn> {
    const conn = this.openTcp(ip, port);
    const sock = conn.socket;
    const onAbort = () => conn.close();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      // Reading nothing waits for the first state change; loop until synchronized or dead.
      while (!sock.isSynchronized) {
        if (sock.state === "closed") {
          if (opts.signal?.aborted) throw opts.signal.reason;
          if (sock.error === "refused") {
            throw new Deno.errors.ConnectionRefused(`Connection refused: ${ip}:${port}`);
          }
          if (sock.error === "unreachable") {
            throw new Deno.errors.NetworkUnreachable(`Destination unreachable: ${ip}:${port}`);
          }
          throw new Deno.errors.TimedOut(`Connection timed out: ${ip}:${port}`);
        }
        await conn.changed();
      }
      return conn;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Starts a TCP connection and returns at once (the SYN is on its way).
   * @param ip the peer's address @param port the peer's port
   * @returns the connection (in SYN-SENT)
   */
  openTcp(ip: string, port: number): StackConn {
    if (this.#closed) throw new Deno.errors.BadResource("Stack is closed");
    const remoteIp = parseIpAddr(ip);
    const localIp = this.#addrs.find((a) => a.length === remoteIp.length);
    if (localIp === undefined) {
      throw new Deno.errors.AddrNotAvailable(`No local address for ${ip}`);
    }
    const localText = formatIpAddrAt(localIp, 0, localIp.length);
    const remoteText = formatIpAddrAt(remoteIp, 0, remoteIp.length);
    let localPort = 0, key = "";
    const r = new Uint16Array(1);
    for (let i = 0; i < 1000; i++) {
      this.#random(new Uint8Array(r.buffer));
      localPort = 49152 + (r[0] % 16384);
      key = connKey(remoteText, port, localText, localPort);
      if (!this.#conns.has(key) && !this.#listeners.has(localPort)) break;
    }
    const e = this.#newEntry(localIp, remoteIp, localText, remoteText, localPort, key);
    const now = this.clock.now();
    e.sock.connect(now, port);
    const conn = new StackConn(e, this);
    this.#service(e, now);
    return conn;
  }

  /** @param e the entry the application touched: dispatch soon */
  touch(e: TcpEntry): void {
    if (this.#closed) return;
    this.#dirty.add(e);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.poll();
      });
    }
  }

  // ------------------------------------------------------------------ UDP API

  /**
   * Binds a UDP socket on every address of the stack.
   * @param port the port; 0 picks an ephemeral one
   * @returns the socket
   * @throws {Deno.errors.AddrInUse} when the port is taken
   */
  bindUdp(port = 0): UdpSocket {
    let p = port;
    if (p === 0) {
      const r = new Uint16Array(1);
      do {
        this.#random(new Uint8Array(r.buffer));
        p = 49152 + (r[0] % 16384);
      } while (this.#udp.has(p));
    }
    if (this.#udp.has(p)) throw new Deno.errors.AddrInUse(`Cannot bind UDP port ${p}: in use`);
    const s = new UdpSocket(p, this, UDP_QUEUE_MAX);
    this.#udp.set(p, s);
    return s;
  }

  /** @param s the socket to unbind (called by {@linkcode UdpSocket.close}) */
  unbindUdp(s: UdpSocket): void {
    if (this.#udp.get(s.port) === s) this.#udp.delete(s.port);
  }

  /**
   * Sends one UDP datagram.
   * @param srcIp our address (text; "" picks one of the destination's family)
   * @param srcPort our port @param dstIp destination @param dstPort its port
   * @param data payload
   * @returns false when it does not fit the MTU or no address fits
   */
  sendUdp(
    srcIp: string,
    srcPort: number,
    dstIp: string,
    dstPort: number,
    data: Uint8Array,
  ): boolean {
    if (this.#closed) return false;
    const dst = parseIpAddr(dstIp);
    const src = srcIp === ""
      ? this.#addrs.find((a) => a.length === dst.length)
      : parseIpAddr(srcIp);
    if (src === undefined || src.length !== dst.length) return false;
    const ipHl = src.length === 4 ? 20 : 40;
    const len = UDP_HEADER_LEN + data.length;
    if (ipHl + len > TUNNEL_MTU) return false;
    const buf = new Uint8Array(HEADROOM + ipHl + len + TAILROOM);
    const at = emitIpHeader(src, dst, IP_PROTO_UDP, len, buf, HEADROOM);
    writeU16be(buf, at, srcPort);
    writeU16be(buf, at + 2, dstPort);
    writeU16be(buf, at + 4, len);
    writeU16be(buf, at + 6, 0);
    buf.set(data, at + UDP_HEADER_LEN);
    const srcOff = src.length === 4 ? HEADROOM + 12 : HEADROOM + 8;
    const dstOff = srcOff + src.length;
    fillUdpChecksum(buf, at, pseudoHeaderSumAt(buf, srcOff, dstOff, src.length, 17, len));
    this.stats.packetsOut++;
    this.#output(buf, HEADROOM, ipHl + len);
    return true;
  }

  // ------------------------------------------------------------------ output and timers

  #emitTcp(localIp: Uint8Array, remoteIp: Uint8Array, seg: TcpRepr, sock: TcpSocket | null): void {
    const hl = tcpReprHeaderLen(seg);
    const plen = sock === null ? 0 : seg.payloadLen;
    const ipHl = localIp.length === 4 ? 20 : 40;
    const tcpLen = hl + plen;
    const buf = this.#slab.take(HEADROOM + ipHl + tcpLen + TAILROOM);
    const at = emitIpHeader(localIp, remoteIp, IP_PROTO_TCP, tcpLen, buf, HEADROOM, {
      dontFragment: true,
    });
    emitTcpRepr(seg, buf, at);
    if (plen > 0 && sock !== null) sock.copyPayload(seg, buf, at + hl);
    const srcOff = localIp.length === 4 ? HEADROOM + 12 : HEADROOM + 8;
    const dstOff = srcOff + localIp.length;
    const ps = pseudoHeaderSumAt(buf, srcOff, dstOff, localIp.length, IP_PROTO_TCP, tcpLen);
    fillTcpChecksum(buf, at, at + tcpLen, ps);
    this.stats.packetsOut++;
    this.#output(buf, HEADROOM, ipHl + tcpLen);
  }

  /** Dispatches one connection, wakes its reader/writer, files it with its listener. */
  #service(e: TcpEntry, now: number): void {
    const sock = e.sock;
    let budget = DISPATCH_BUDGET;
    const emit = (seg: TcpRepr) => this.#emitTcp(e.localIp, e.remoteIp, seg, sock);
    while (budget > 0 && sock.dispatch(now, emit)) budget--;
    if (budget === 0) this.touch(e);
    else this.#dirty.delete(e);
    const l = this.#owner.get(e);
    if (l !== undefined && (sock.isSynchronized || sock.state === "closed")) {
      this.#owner.delete(e);
      l.pending.delete(e);
      if (sock.isSynchronized && !l.closed) {
        const conn = new StackConn(e, this);
        const w = l.waiters.shift();
        if (w) w(conn);
        else l.ready.push(conn);
      }
    }
    if (sock.state === "closed") {
      if (this.#conns.get(e.key) === e) this.#conns.delete(e.key);
      this.#dirty.delete(e);
    } else {
      const t = sock.pollAt();
      if (t < this.#nextTimerAt) this.#nextTimerAt = t;
    }
    e.wake?.();
    this.#arm(now);
  }

  /**
   * When the stack next needs {@linkcode Stack.poll}: the earliest timer of any connection.
   * @returns ms timestamp, or Infinity
   */
  pollAt(): number {
    return this.#dirty.size > 0 ? 0 : this.#nextTimerAt;
  }

  /** Dispatches what the application touched and every connection whose timer is due. */
  poll(): void {
    if (this.#closed) return;
    const now = this.clock.now();
    for (const e of [...this.#dirty]) this.#service(e, now);
    if (now >= this.#nextTimerAt) {
      this.#nextTimerAt = Infinity;
      for (const e of [...this.#conns.values()]) {
        const t = e.sock.pollAt();
        if (t <= now) this.#service(e, now);
        else if (t < this.#nextTimerAt) this.#nextTimerAt = t;
      }
    }
    this.#arm(now);
  }

  /** Marks every connection for dispatch and polls (for owners that drive sockets directly). */
  pollAll(): void {
    for (const e of this.#conns.values()) this.#dirty.add(e);
    this.poll();
  }

  #arm(now: number): void {
    if (this.#closed) return;
    const at = this.#nextTimerAt;
    // An armed wake-up at or before `at` stays: poll() then arms the next one. Re-arming only
    // for an earlier time spares a clear and a set per segment (each ACK moves the RTO later).
    if (this.#timer !== null && this.#timerAt <= at) return;
    if (this.#timer !== null) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      this.poll();
    }, Math.max(0, Math.ceil(at - now)));
  }

  /** Resets every connection, closes listeners and UDP sockets, stops the timer. Safe twice. */
  close(): void {
    if (this.#closed) return;
    for (const l of [...this.#listeners.values()]) this.closeListener(l);
    for (const e of [...this.#conns.values()]) {
      e.sock.abort();
      this.#service(e, this.clock.now());
    }
    for (const s of [...this.#udp.values()]) s.close();
    this.#closed = true;
    this.#conns.clear();
    this.#pending.clear();
    this.#dirty.clear();
    if (this.#timer !== null) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Same as {@linkcode Stack.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function connKey(remote: string, remotePort: number, local: string, localPort: number): string {
  return `${remote}|${remotePort}|${local}|${localPort}`;
}

/**
 * The connection a quoted packet (the original in an ICMP error: our IP header and at least
 * the first 8 bytes of our TCP header) belongs to, from our side, and the quoted sequence
 * number; null when it is not TCP or is cut too short.
 */
function quotedTcp(q: Uint8Array): { key: string; seq: number } | null {
  if (q.length < 20) return null;
  const v = q[0] >>> 4;
  let hl: number, proto: number, addrOff: number, addrLen: number;
  if (v === 4) {
    hl = (q[0] & 15) * 4;
    proto = q[9];
    addrOff = 12;
    addrLen = 4;
  } else if (v === 6) {
    hl = 40;
    proto = q[6];
    addrOff = 8;
    addrLen = 16;
  } else return null;
  if (proto !== IP_PROTO_TCP || hl < 20 || q.length < hl + 8) return null;
  const local = formatIpAddrAt(q, addrOff, addrLen);
  const remote = formatIpAddrAt(q, addrOff + addrLen, addrLen);
  const key = connKey(remote, readU16be(q, hl + 2), local, readU16be(q, hl));
  return { key, seq: readU32be(q, hl + 4) };
}
