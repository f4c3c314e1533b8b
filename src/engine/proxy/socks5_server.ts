/**
 * A SOCKS5 server (RFC 1928) with CONNECT and UDP ASSOCIATE, as tailscaled's
 * `--socks5-server`, dialling through a {@linkcode Dialer} (the router: tailnet or host).
 *
 * Authentication: with a username and password configured, every client must send them
 * (RFC 1929). Without, no authentication is accepted from loopback clients only, unless
 * `allowNoAuthFromAnyAddress` is set: an open SOCKS proxy on a LAN address would hand the
 * tailnet to anyone who can reach it.
 *
 * Replies: a request that will not parse gets general failure (1), an unknown address type
 * 8, BIND or an unknown command 7; a failed dial gets connection refused (5), host
 * unreachable (4: also unresolvable names and timeouts) or general failure (1). tailscaled
 * answers every dial failure with 1; the specific codes tell clients more.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import {
  CMD_CONNECT,
  CMD_UDP_ASSOCIATE,
  emitMethodSelection,
  emitReply,
  emitUserPassReply,
  METHOD_NO_ACCEPTABLE,
  METHOD_NO_AUTH,
  METHOD_USERPASS,
  type Parsed,
  parseGreeting,
  parseRequest,
  parseUserPass,
  REP_COMMAND_NOT_SUPPORTED,
  REP_CONNECTION_REFUSED,
  REP_GENERAL_FAILURE,
  REP_HOST_UNREACHABLE,
  REP_SUCCEEDED,
  replyLen,
  Socks5ParseError,
  type Socks5Reply,
  type Socks5Request,
  type SocksAddr,
  socksAddrOf,
  USERPASS_FAILURE,
  USERPASS_SUCCESS,
  ZERO_ADDR,
} from "./socks5_messages.ts";
import { type Dialer, DialError, joinHostPort, type ProxyUdpFlow, toDialError } from "./dialer.ts";
import { proxyConnFromDeno } from "./_deno_conn.ts";
import { relay, type RelayEnd, relayEnd, writeQuietly } from "./_relay.ts";
import { DIAL_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS, SOCKS5_MAX_HANDSHAKE_BYTES } from "./constants.ts";
import { isLoopback, timeoutSignal } from "./_net.ts";
import { UdpAssociation } from "./_udp_association.ts";
import { ListenerLoop } from "./_listener_loop.ts";

/** Options of {@linkcode Socks5Server.listen}. */
export interface Socks5ServerOptions {
  /** Address to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** Port to listen on; 0 picks one. */
  port: number;
  /** Dials destinations (a {@linkcode RouterDialer} in the daemon). */
  dialer: Dialer;
  /** With `password`: the credentials every client must send. */
  username?: string;
  /** With `username`. */
  password?: string;
  /** Accept clients without credentials from any address, not only loopback. */
  allowNoAuthFromAnyAddress?: boolean;
  /** Logs one line per failed connection at debug. */
  log?: Logger;
  /** Greeting to request must finish within this (default HANDSHAKE_TIMEOUT_MS). */
  handshakeTimeoutMs?: number;
  /** Each dial must finish within this (default DIAL_TIMEOUT_MS). */
  dialTimeoutMs?: number;
}

/** Counters of a {@linkcode Socks5Server}. */
export interface Socks5Stats {
  /** Connections accepted. */
  accepted: number;
  /** Connections open now. */
  active: number;
  /** Handshakes that failed on bad bytes (one reply, then closed). */
  badInput: number;
  /** Handshakes that ended early: EOF or the handshake timeout. */
  truncated: number;
  /** Clients refused for their offered methods or credentials. */
  authFailures: number;
  /** BIND or unknown commands. */
  unsupportedCommands: number;
  /** CONNECTs that reached their destination. */
  connects: number;
  /** Dials (TCP or UDP) that failed. */
  dialFailures: number;
  /** UDP associations opened. */
  udpAssociations: number;
  /** Datagrams relayed client → destination. */
  udpOut: number;
  /** Datagrams relayed destination → client. */
  udpIn: number;
  /** Datagrams dropped: wrong sender, bad header, fragments, too many flows, failed dial. */
  udpDrops: number;
}

/** A running SOCKS5 server. `close()` releases every socket it opened. */
export class Socks5Server {
  #loop: ListenerLoop;
  #opts: Socks5ServerOptions;
  #user: Uint8Array | null;
  #pass: Uint8Array | null;
  /** Counters, updated live. */
  readonly stats: Socks5Stats = {
    accepted: 0,
    active: 0,
    badInput: 0,
    truncated: 0,
    authFailures: 0,
    unsupportedCommands: 0,
    connects: 0,
    dialFailures: 0,
    udpAssociations: 0,
    udpOut: 0,
    udpIn: 0,
    udpDrops: 0,
  };

  private constructor(listener: Deno.TcpListener, opts: Socks5ServerOptions) {
    this.#opts = opts;
    const enc = new TextEncoder();
    const hasCreds = (opts.username ?? "") !== "" || (opts.password ?? "") !== "";
    this.#user = hasCreds ? enc.encode(opts.username ?? "") : null;
    this.#pass = hasCreds ? enc.encode(opts.password ?? "") : null;
    this.#loop = new ListenerLoop(listener, { serve: (c) => this.#serve(c), stats: this.stats });
  }

  /**
   * Starts listening.
   * @param opts see {@linkcode Socks5ServerOptions}
   * @returns the running server
   * @throws {TypeError} when only one of username and password is set
   * @throws Deno's errors when the address cannot be bound
   */
  static listen(opts: Socks5ServerOptions): Socks5Server {
    if ((opts.username === undefined) !== (opts.password === undefined)) {
      throw new TypeError("Cannot start SOCKS5 server: username and password go together");
    }
    const listener = Deno.listen({ hostname: opts.hostname ?? "127.0.0.1", port: opts.port });
    return new Socks5Server(listener, opts);
  }

  /** Where the server listens. */
  get addr(): Deno.NetAddr {
    return this.#loop.addr;
  }

  /** Stops listening, closes every connection and socket, waits for the handlers. Idempotent. */
  close(): Promise<void> {
    return this.#loop.close(new DialError("dial-failed", "SOCKS5 server closed"));
  }

  /** Same as {@linkcode Socks5Server.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    this.stats.active++;
    const pc = this.#loop.track(proxyConnFromDeno(conn));
    const client = relayEnd(pc);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      pc.close();
    }, this.#opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    try {
      const req = await this.#handshake(client, conn.remoteAddr.hostname);
      clearTimeout(timer);
      if (req === null) return;
      if (req.command === CMD_CONNECT) await this.#connect(client, req);
      else if (req.command === CMD_UDP_ASSOCIATE) await this.#udpAssociate(client, conn, req);
      else {
        this.stats.unsupportedCommands++;
        await this.#reply(client, REP_COMMAND_NOT_SUPPORTED, ZERO_ADDR);
      }
    } catch (err) {
      if (timedOut) this.stats.truncated++;
      this.#opts.log?.debug(`socks5: ${conn.remoteAddr.hostname}: ${String(err)}`);
    } finally {
      clearTimeout(timer);
      this.#loop.release(pc);
      this.stats.active--;
    }
  }

  /** Greeting, method selection, credentials, request. Null when the client was sent away. */
  async #handshake(client: RelayEnd, peerIp: string): Promise<Socks5Request | null> {
    let phase: "greeting" | "auth" | "request" = "greeting";
    try {
      const greeting = await this.#read(client, parseGreeting);
      if (greeting === null) return null;
      const method = this.#chooseMethod(greeting.methods, peerIp);
      const sel = new Uint8Array(2);
      emitMethodSelection(method, sel, 0);
      if (!await writeQuietly(client.writer, sel)) return null;
      if (method === METHOD_NO_ACCEPTABLE) {
        this.stats.authFailures++;
        return null;
      }
      phase = "auth";
      if (method === METHOD_USERPASS) {
        const creds = await this.#read(client, parseUserPass);
        if (creds === null) return null;
        const ok = constantTimeEqual(creds.username, this.#user!) &
          constantTimeEqual(creds.password, this.#pass!);
        const out = new Uint8Array(2);
        emitUserPassReply(ok ? USERPASS_SUCCESS : USERPASS_FAILURE, out, 0);
        await writeQuietly(client.writer, out);
        if (!ok) {
          this.stats.authFailures++;
          return null;
        }
      }
      phase = "request";
      return await this.#read(client, parseRequest);
    } catch (err) {
      if (!(err instanceof Socks5ParseError)) throw err;
      this.stats.badInput++;
      // Before the method selection, the greeting failed: refuse every method, as tailscaled.
      if (phase === "greeting") {
        await writeQuietly(client.writer, new Uint8Array([5, METHOD_NO_ACCEPTABLE]));
      } else if (phase === "auth") {
        await writeQuietly(client.writer, new Uint8Array([1, USERPASS_FAILURE]));
      } else {
        await this.#reply(client, err.reply, ZERO_ADDR);
      }
      return null;
    }
  }

  #chooseMethod(methods: number[], peerIp: string): number {
    if (this.#user !== null) {
      return methods.includes(METHOD_USERPASS) ? METHOD_USERPASS : METHOD_NO_ACCEPTABLE;
    }
    const noAuthOk = this.#opts.allowNoAuthFromAnyAddress === true || isLoopback(peerIp);
    return noAuthOk && methods.includes(METHOD_NO_AUTH) ? METHOD_NO_AUTH : METHOD_NO_ACCEPTABLE;
  }

  /** Reads until `parse` has a message; null on EOF mid-message (counted). */
  async #read<T>(
    client: RelayEnd,
    parse: (b: Uint8Array, off: number) => Parsed<T> | null,
  ): Promise<T | null> {
    for (;;) {
      const p = parse(client.reader.buffered, 0);
      if (p !== null) {
        client.reader.consume(p.end);
        return p.value;
      }
      if (client.reader.buffered.length > SOCKS5_MAX_HANDSHAKE_BYTES) {
        throw new Socks5ParseError("Cannot parse SOCKS5 handshake: too long", 0);
      }
      if (!await client.reader.fill()) {
        this.stats.truncated++;
        return null;
      }
    }
  }

  async #reply(client: RelayEnd, reply: number, bind: SocksAddr): Promise<boolean> {
    const r: Socks5Reply = { reply, bind };
    const out = new Uint8Array(replyLen(r));
    emitReply(r, out, 0);
    return await writeQuietly(client.writer, out);
  }

  #dialSignal(): { signal: AbortSignal; done: () => void } {
    return timeoutSignal(this.#opts.dialTimeoutMs ?? DIAL_TIMEOUT_MS, this.#loop.signal);
  }

  async #connect(client: RelayEnd, req: Socks5Request): Promise<void> {
    const { signal, done } = this.#dialSignal();
    let upstream;
    try {
      upstream = this.#loop.track(
        await this.#opts.dialer.dialTcp(req.dest.host, req.dest.port, signal),
      );
    } catch (err) {
      this.stats.dialFailures++;
      const de = toDialError(err, joinHostPort(req.dest.host, req.dest.port));
      this.#opts.log?.debug(`socks5: ${de.message}`);
      await this.#reply(client, replyForDialError(de), ZERO_ADDR);
      return;
    } finally {
      done();
    }
    try {
      this.stats.connects++;
      const la = upstream.localAddr;
      const bind = la ? socksAddrOf(la.hostname, la.port) : ZERO_ADDR;
      if (!await this.#reply(client, REP_SUCCEEDED, bind)) return;
      await relay(client, relayEnd(upstream));
    } finally {
      this.#loop.release(upstream);
    }
  }

  async #udpAssociate(client: RelayEnd, conn: Deno.TcpConn, req: Socks5Request): Promise<void> {
    const clientIp = conn.remoteAddr.hostname;
    let sock: Deno.DatagramConn;
    try {
      sock = this.#loop.track(
        Deno.listenDatagram({ transport: "udp", hostname: conn.localAddr.hostname, port: 0 }),
      );
    } catch (err) {
      this.#opts.log?.debug(`socks5: cannot open UDP relay socket: ${String(err)}`);
      await this.#reply(client, REP_GENERAL_FAILURE, ZERO_ADDR);
      return;
    }
    this.stats.udpAssociations++;
    const bound = sock.addr as Deno.NetAddr;
    const assoc = new UdpAssociation(this, sock, clientIp, req.dest.port);
    try {
      if (!await this.#reply(client, REP_SUCCEEDED, socksAddrOf(bound.hostname, bound.port))) {
        return;
      }
      const loop = assoc.run();
      // The association lives as long as its TCP connection (RFC 1928, section 7).
      try {
        while (await client.reader.next() !== null) { /* discard */ }
      } catch { /* reset: the association ends */ }
      assoc.close();
      await loop;
    } finally {
      assoc.close(); // closes sock too
      this.#loop.untrack(sock);
    }
  }

  /** Opens a UDP flow for one of this server's associations; null (counted) on failure. */
  async dialUdpFlow(addr: SocksAddr): Promise<ProxyUdpFlow | null> {
    const { signal, done } = this.#dialSignal();
    try {
      return this.#loop.track(await this.#opts.dialer.dialUdp(addr.host, addr.port, signal));
    } catch (err) {
      this.stats.dialFailures++;
      this.#opts.log?.debug(`socks5 udp: ${String(err)}`);
      return null;
    } finally {
      done();
    }
  }

  /** Forgets a flow an association closed. */
  untrack(c: { close(): void }): void {
    this.#loop.untrack(c);
  }
}

/**
 * The SOCKS5 reply code for a failed dial.
 * @param err the failure @returns REP_CONNECTION_REFUSED, REP_HOST_UNREACHABLE or
 * REP_GENERAL_FAILURE
 */
export function replyForDialError(err: DialError): number {
  switch (err.code) {
    case "dial-refused":
      return REP_CONNECTION_REFUSED;
    case "dial-unreachable":
    case "dial-timeout":
      return REP_HOST_UNREACHABLE;
    default:
      return REP_GENERAL_FAILURE;
  }
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): number {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ b[i];
  return diff === 0 ? 1 : 0;
}
