/**
 * An HTTP forward proxy, as tailscaled's `--outbound-http-proxy-listen`: CONNECT tunnels,
 * and absolute-URI requests (`GET http://ts1:8080/ HTTP/1.1`) forwarded with hop-by-hop
 * headers removed, bodies (chunked included) passed through as they are, and keep-alive on
 * both sides. Destinations are dialled through a {@linkcode Dialer} (the router).
 *
 * Answers: 400 for a request that will not parse or an origin-form target ("must be
 * absolute URL or CONNECT", as tailscaled), 431 for a head over HTTP_MAX_HEAD_BYTES, 408
 * when a head does not arrive in time, 501 for `https://` targets without CONNECT and
 * transfer codings other than chunked, 502 when a dial fails (tailscaled answers CONNECT
 * dial failures with 500; 502 is the status for it) or the origin sends garbage, 504 when
 * the origin does not answer. CONNECT success is `HTTP/1.1 200 OK`, as tailscaled.
 * @module
 */
import type { Logger } from "../base/logger.ts";
import { concat } from "../base/bytes.ts";
import { type Dialer, joinHostPort, toDialError } from "./dialer.ts";
import { proxyConnFromDeno } from "./_deno_conn.ts";
import { type ByteReader, relay, type RelayEnd, relayEnd, writeQuietly } from "./_relay.ts";
import { copyBody } from "./_http_body.ts";
import { timeoutSignal } from "./_net.ts";
import { ListenerLoop } from "./_listener_loop.ts";
import {
  DIAL_TIMEOUT_MS,
  HTTP_HEAD_TIMEOUT_MS,
  HTTP_MAX_HEAD_BYTES,
  HTTP_RESPONSE_HEAD_TIMEOUT_MS,
} from "./constants.ts";
import {
  parseAbsoluteTarget,
  parseConnectTarget,
  requestFraming,
  responseFraming,
  stripHopByHop,
  wantsKeepAlive,
} from "./http_proxy_messages.ts";
import {
  formatRequestHead,
  formatResponseHead,
  headerValues,
  type HttpHeader,
  HttpParseError,
  type HttpRequestHead,
  parseRequestHead,
  parseResponseHead,
} from "../wire/http1_head.ts";
import type { Parsed } from "./socks5_messages.ts";

/** Options of {@linkcode HttpProxy.listen}. */
export interface HttpProxyOptions {
  /** Address to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** Port; 0 picks one. */
  port: number;
  /** Dials destinations. */
  dialer: Dialer;
  /** Logs failed requests at debug. */
  log?: Logger;
  /** A request head must arrive within this; also the keep-alive idle time. */
  headTimeoutMs?: number;
  /** The origin's response head must arrive within this. */
  responseHeadTimeoutMs?: number;
  /** Each dial must finish within this. */
  dialTimeoutMs?: number;
}

/** Counters of an {@linkcode HttpProxy}. */
export interface HttpProxyStats {
  /** Connections accepted. */
  accepted: number;
  /** Connections open now. */
  active: number;
  /** Absolute-URI requests forwarded (a response came back). */
  forwarded: number;
  /** CONNECT tunnels opened. */
  connects: number;
  /** Requests refused as malformed (4xx/501, then closed). */
  badInput: number;
  /** Heads cut short by EOF or the head timeout. */
  truncated: number;
  /** Dials that failed (502). */
  dialFailures: number;
  /** Origins that sent garbage, closed early or did not answer (502/504). */
  upstreamErrors: number;
}

interface Upstream {
  key: string;
  end: RelayEnd;
}

type HeadResult<T> = T | "eof" | "timeout" | "too-large";

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  504: "Gateway Timeout",
};

/** A running HTTP proxy. `close()` releases every socket it opened. */
export class HttpProxy {
  #loop: ListenerLoop;
  #opts: HttpProxyOptions;
  /** Counters, updated live. */
  readonly stats: HttpProxyStats = {
    accepted: 0,
    active: 0,
    forwarded: 0,
    connects: 0,
    badInput: 0,
    truncated: 0,
    dialFailures: 0,
    upstreamErrors: 0,
  };

  private constructor(listener: Deno.TcpListener, opts: HttpProxyOptions) {
    this.#opts = opts;
    this.#loop = new ListenerLoop(listener, { serve: (c) => this.#serve(c), stats: this.stats });
  }

  /**
   * Starts listening.
   * @param opts see {@linkcode HttpProxyOptions} @returns the running proxy
   * @throws Deno's errors when the address cannot be bound
   */
  static listen(opts: HttpProxyOptions): HttpProxy {
    const listener = Deno.listen({ hostname: opts.hostname ?? "127.0.0.1", port: opts.port });
    return new HttpProxy(listener, opts);
  }

  /** Where the proxy listens. */
  get addr(): Deno.NetAddr {
    return this.#loop.addr;
  }

  /** Stops listening, closes every connection, waits for the handlers. Idempotent. */
  close(): Promise<void> {
    return this.#loop.close(new DOMException("HTTP proxy closed", "AbortError"));
  }

  /** Same as {@linkcode HttpProxy.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    this.stats.active++;
    const client = relayEnd(this.#loop.track(proxyConnFromDeno(conn)));
    const state: { upstream: Upstream | null } = { upstream: null };
    try {
      for (;;) {
        const keep = await this.#serveOne(client, state, conn.remoteAddr.hostname);
        if (!keep) break;
      }
    } catch (err) {
      this.#opts.log?.debug(`http proxy: ${conn.remoteAddr.hostname}: ${String(err)}`);
    } finally {
      if (state.upstream !== null) this.#loop.release(state.upstream.end.conn);
      this.#loop.release(client.conn);
      this.stats.active--;
    }
  }

  /** Serves one request; returns whether to read another on this connection. */
  async #serveOne(
    client: RelayEnd,
    state: { upstream: Upstream | null },
    clientIp: string,
  ): Promise<boolean> {
    let head: HttpRequestHead;
    try {
      const h = await this.#readHead(
        client.reader,
        parseRequestHead,
        this.#opts.headTimeoutMs ?? HTTP_HEAD_TIMEOUT_MS,
      );
      if (h === "eof" || h === "timeout") {
        if (client.reader.buffered.some((b) => b !== 0x0d && b !== 0x0a)) {
          this.stats.truncated++;
          await this.#error(client, h === "eof" ? 400 : 408, "Incomplete request head");
        }
        return false;
      }
      if (h === "too-large") {
        this.stats.badInput++;
        await this.#error(client, 431, `Request head over ${HTTP_MAX_HEAD_BYTES} bytes`);
        return false;
      }
      head = h;
    } catch (err) {
      return await this.#badRequest(client, err);
    }
    if (head.method === "CONNECT") {
      await this.#connect(client, head, state);
      return false;
    }
    return await this.#forward(client, head, state, clientIp);
  }

  async #badRequest(client: RelayEnd, err: unknown): Promise<false> {
    if (!(err instanceof HttpParseError)) throw err;
    this.stats.badInput++;
    await this.#error(client, err.status, err.message);
    return false;
  }

  async #readHead<T>(
    reader: ByteReader,
    parse: (b: Uint8Array, off: number) => Parsed<T> | null,
    ms: number,
  ): Promise<HeadResult<T>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), ms));
    try {
      for (;;) {
        const p = parse(reader.buffered, 0);
        if (p !== null) {
          reader.consume(p.end);
          return p.value;
        }
        if (reader.buffered.length > HTTP_MAX_HEAD_BYTES) return "too-large";
        const more = await Promise.race([reader.fill(), timeout]);
        if (more === "timeout") return "timeout";
        if (!more) return "eof";
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async #error(client: RelayEnd, status: number, message: string, extra: HttpHeader[] = []) {
    const body = new TextEncoder().encode(message + "\n");
    const head = formatResponseHead({
      version: "HTTP/1.1",
      status,
      reason: STATUS_TEXT[status] ?? "Error",
      headers: [
        ["Content-Type", "text/plain; charset=utf-8"],
        ["Content-Length", String(body.length)],
        ["Connection", "close"],
        ...extra,
      ],
    });
    await writeQuietly(client.writer, concat([head, body]));
  }

  async #dial(host: string, port: number): Promise<RelayEnd> {
    const { signal, done } = timeoutSignal(
      this.#opts.dialTimeoutMs ?? DIAL_TIMEOUT_MS,
      this.#loop.signal,
    );
    try {
      return relayEnd(this.#loop.track(await this.#opts.dialer.dialTcp(host, port, signal)));
    } catch (err) {
      throw toDialError(err, joinHostPort(host, port));
    } finally {
      done();
    }
  }

  async #connect(
    client: RelayEnd,
    head: HttpRequestHead,
    state: { upstream: Upstream | null },
  ): Promise<void> {
    let hp;
    try {
      hp = parseConnectTarget(head.target);
    } catch (err) {
      await this.#badRequest(client, err);
      return;
    }
    if (state.upstream !== null) {
      this.#loop.release(state.upstream.end.conn);
      state.upstream = null;
    }
    let up: RelayEnd;
    try {
      up = await this.#dial(hp.host, hp.port);
    } catch (err) {
      this.stats.dialFailures++;
      const msg = err instanceof Error ? err.message : String(err);
      await this.#error(client, 502, msg, [["Tailscale-Connect-Error", msg]]);
      return;
    }
    try {
      this.stats.connects++;
      if (!await writeQuietly(client.writer, new TextEncoder().encode("HTTP/1.1 200 OK\r\n\r\n"))) {
        return;
      }
      await relay(client, up);
    } finally {
      this.#loop.release(up.conn);
    }
  }

  async #forward(
    client: RelayEnd,
    head: HttpRequestHead,
    state: { upstream: Upstream | null },
    clientIp: string,
  ): Promise<boolean> {
    let target, framing;
    try {
      target = parseAbsoluteTarget(head.target);
      if (target.scheme !== "http") {
        throw new HttpParseError(
          `Cannot proxy ${target.scheme}:// URL without CONNECT: use CONNECT (curl -p)`,
          undefined,
          501,
        );
      }
      framing = requestFraming(head);
    } catch (err) {
      return await this.#badRequest(client, err);
    }
    const key = joinHostPort(target.host, target.port);
    if (state.upstream !== null && state.upstream.key !== key) {
      this.#loop.release(state.upstream.end.conn);
      state.upstream = null;
    }
    if (state.upstream === null) {
      try {
        state.upstream = { key, end: await this.#dial(target.host, target.port) };
      } catch (err) {
        this.stats.dialFailures++;
        await this.#error(client, 502, err instanceof Error ? err.message : String(err));
        return false;
      }
    }
    const up = state.upstream.end;
    const headers = stripHopByHop(head.headers);
    if (headerValues(headers, "host").length === 0) headers.unshift(["Host", target.authority]);
    const xff = headerValues(headers, "x-forwarded-for");
    // Expect: 100-continue is answered here, so the client sends its body at once instead of
    // waiting (curl waits a second) while we wait for the body before reading the response.
    const expectContinue = headerValues(headers, "expect").some((v) =>
      v.toLowerCase() === "100-continue"
    );
    const rest = headers.filter(([n]) => {
      const l = n.toLowerCase();
      return l !== "x-forwarded-for" && !(l === "expect" && expectContinue);
    });
    rest.push(["X-Forwarded-For", [...xff, clientIp].join(", ")]);
    const out = formatRequestHead({
      method: head.method,
      target: target.path,
      version: "HTTP/1.1",
      headers: rest,
    });
    const fail = (status: number, msg: string) => {
      this.stats.upstreamErrors++;
      return this.#error(client, status, msg).then(() => false);
    };
    try {
      await up.writer.write(out);
      if (expectContinue && framing.kind !== "none" && head.version === "HTTP/1.1") {
        await client.writer.write(new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n"));
      }
      if (await copyBody(client.reader, up.writer, framing) === "eof-early") {
        this.stats.truncated++;
        return false;
      }
    } catch (err) {
      if (err instanceof HttpParseError) return await this.#badRequest(client, err);
      return await fail(502, `Cannot send request to ${key}: ${String(err)}`);
    }
    // The response; 1xx interim responses are passed on and the next head read.
    for (;;) {
      let rh;
      try {
        rh = await this.#readHead(
          up.reader,
          parseResponseHead,
          this.#opts.responseHeadTimeoutMs ?? HTTP_RESPONSE_HEAD_TIMEOUT_MS,
        );
      } catch (err) {
        return await fail(502, `Bad response from ${key}: ${(err as Error).message}`);
      }
      if (rh === "eof") return await fail(502, `${key} closed the connection without a response`);
      if (rh === "timeout") return await fail(504, `${key} did not answer in time`);
      if (rh === "too-large") return await fail(502, `Response head from ${key} too large`);
      const rheaders = stripHopByHop(rh.headers);
      if (rh.status < 200) {
        if (rh.status === 101) return await fail(502, `${key} switched protocols unasked`);
        await client.writer.write(
          formatResponseHead({ ...rh, version: "HTTP/1.1", headers: rheaders }),
        );
        continue;
      }
      let rframing;
      try {
        rframing = responseFraming(rh, head.method);
      } catch (err) {
        return await fail(502, (err as Error).message);
      }
      const keepClient = wantsKeepAlive(head) && rframing.kind !== "until-close";
      const keepUpstream = wantsKeepAlive(rh) && rframing.kind !== "until-close";
      rheaders.push(["Connection", keepClient ? "keep-alive" : "close"]);
      await client.writer.write(
        formatResponseHead({ ...rh, version: "HTTP/1.1", headers: rheaders }),
      );
      let result;
      try {
        result = await copyBody(up.reader, client.writer, rframing);
      } catch {
        result = "eof-early";
      }
      this.stats.forwarded++;
      if (result === "eof-early") {
        this.stats.upstreamErrors++;
        return false;
      }
      if (!keepUpstream) {
        this.#loop.release(up.conn);
        state.upstream = null;
      }
      return keepClient;
    }
  }
}
