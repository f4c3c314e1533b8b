/**
 * HTTP/2 over a ts2021 Noise connection with `node:http2`: cleartext HTTP/2 with prior
 * knowledge, no TLS and no ALPN inside Noise. One session multiplexes the map long-poll, lite
 * updates, register calls and ping answers, as Go keeps one Noise connection per server.
 * @module
 */
import * as http2 from "node:http2";
import type { Duplex } from "node:stream";
import type { NoiseConn } from "./noise_conn.ts";
import { ControlError } from "./client.ts";
import { errorMessage } from "../base/errors.ts";
import { concat } from "../base/bytes.ts";

/** One HTTP/2 request over Noise. */
export interface H2Request {
  /** `GET`, `POST`, `HEAD`, … */
  method: string;
  /** Path and query, e.g. `/machine/map`. */
  path: string;
  /** Request body (JSON text or bytes). */
  body?: string | Uint8Array;
  /** Extra request headers (lower-case names). */
  headers?: Record<string, string>;
  /** Aborts the request (and its response body). */
  signal?: AbortSignal;
}

/** A response whose body is still streaming. */
export interface H2Response {
  /** HTTP status. */
  status: number;
  /** Response headers (lower-case names). */
  headers: Record<string, string>;
  /** The body, chunk by chunk; ends when the stream ends. */
  body: AsyncIterable<Uint8Array>;
  /** Reads the whole body as text (at most `maxBytes`). */
  text(maxBytes?: number): Promise<string>;
  /** Cancels the stream. */
  cancel(): void;
}

/** An HTTP/2 client session over a Noise connection. Owns the connection. */
export class NoiseH2 {
  readonly #conn: NoiseConn;
  readonly #session: http2.ClientHttp2Session;
  readonly #closed: Promise<void>;
  #isClosed = false;
  #closeReason: Error | null = null;

  /**
   * @param conn the Noise connection (after the early payload, which the conn strips)
   * @param authority `https://host[:port]`, used for `:authority` and `:scheme`
   */
  constructor(conn: NoiseConn, authority: string) {
    this.#conn = conn;
    this.#session = http2.connect(authority, {
      createConnection: () => conn as unknown as Duplex,
    } as http2.SecureClientSessionOptions);
    this.#closed = new Promise((resolve) => {
      this.#session.once("close", () => {
        this.#isClosed = true;
        resolve();
      });
    });
    this.#session.on("error", (err: Error) => {
      this.#closeReason ??= err;
    });
    this.#session.on("goaway", () => {
      this.#closeReason ??= new Error("server sent GOAWAY");
    });
    conn.once("close", () => {
      this.#closeReason ??= conn.error ?? new Error("Noise connection closed");
      if (!this.#session.destroyed) this.#session.destroy();
    });
  }

  /** Whether the session can take new requests. */
  get usable(): boolean {
    return !this.#isClosed && !this.#session.closed && !this.#session.destroyed &&
      this.#closeReason === null;
  }

  /** Why the session ended, once it did. */
  get closeReason(): Error | null {
    return this.#closeReason;
  }

  /** Resolves when the session has closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Sends a request and resolves once the response headers arrive. Connection failures are
   * retryable {@linkcode ControlError}s with code `connection-lost`.
   * @param req method, path, body
   * @returns the response with a streaming body
   */
  request(req: H2Request): Promise<H2Response> {
    if (!this.usable) {
      return Promise.reject(
        new ControlError("connection-lost", "Control connection is closed", true),
      );
    }
    const body = typeof req.body === "string" ? new TextEncoder().encode(req.body) : req.body;
    const headers: http2.OutgoingHttpHeaders = {
      ":method": req.method,
      ":path": req.path,
      ...req.headers,
    };
    if (body !== undefined) headers["content-length"] = String(body.length);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.#session.request(headers, { endStream: body === undefined });
    } catch (err) {
      return Promise.reject(lost(err));
    }
    if (body !== undefined) stream.end(body);
    const cancel = () => {
      if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    if (req.signal?.aborted) cancel();
    else req.signal?.addEventListener("abort", cancel, { once: true });
    stream.once("close", () => req.signal?.removeEventListener("abort", cancel));
    return new Promise<H2Response>((resolve, reject) => {
      const onError = (err: Error) => reject(lost(err));
      stream.once("error", onError);
      stream.once("close", () => {
        reject(
          req.signal?.aborted
            ? new ControlError("cancelled", "Control request cancelled", true)
            : lost(this.#closeReason ?? new Error("stream closed before response")),
        );
      });
      stream.once("response", (h: http2.IncomingHttpHeaders) => {
        stream.off("error", onError);
        // The body iterator sees stream errors itself; this keeps an error on a body nobody
        // reads from being thrown as uncaught.
        stream.on("error", () => {});
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(h)) {
          if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : String(v);
        }
        resolve({
          status: Number(h[":status"] ?? 0),
          headers: out,
          body: bodyIterable(stream, () => this.#closeReason, req.signal),
          text: async (maxBytes = 1 << 20) => {
            const chunks: Uint8Array[] = [];
            let n = 0;
            for await (const c of bodyIterable(stream, () => this.#closeReason, req.signal)) {
              n += c.length;
              if (n > maxBytes) {
                cancel();
                break;
              }
              chunks.push(c);
            }
            return new TextDecoder().decode(concat(chunks));
          },
          cancel,
        });
      });
    });
  }

  /**
   * Closes the session and the Noise connection; waits until both are done. Safe to call twice.
   */
  async close(): Promise<void> {
    if (!this.#session.destroyed) this.#session.destroy();
    if (!this.#conn.destroyed) this.#conn.destroy();
    await this.#closed;
    await this.#conn.finished;
  }
}

async function* bodyIterable(
  stream: http2.ClientHttp2Stream,
  reason: () => Error | null,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) {
      const c = chunk as Uint8Array;
      yield new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
    }
  } catch (err) {
    if (signal?.aborted) throw new ControlError("cancelled", "Control request cancelled", true);
    throw lost(reason() ?? err);
  }
  // A stream reset by the peer or a dead session ends the iteration without an error: tell the
  // two apart from a clean end by the RST code.
  if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
    if (signal?.aborted) throw new ControlError("cancelled", "Control request cancelled", true);
    throw lost(reason() ?? new Error(`stream reset with code ${stream.rstCode}`));
  }
}

function lost(err: unknown): ControlError {
  if (err instanceof ControlError) return err;
  return new ControlError("connection-lost", `Control connection lost: ${errorMessage(err)}`, true);
}
