/**
 * The lifecycle the SOCKS5 server and the HTTP proxy share: an accept loop that hands each
 * connection to the server's handler, the sockets those handlers open (tracked, so that
 * closing the server closes them), an abort signal for dials in flight, and one idempotent
 * `close()` that stops listening, closes what is tracked and waits for every handler.
 * @module
 */

/** Anything with a `close()`: a ProxyConn, a UDP flow, a Deno socket. */
export interface Closer {
  /** Releases the resource. */
  close(): void;
}

/** Options of {@linkcode ListenerLoop}. */
export interface ListenerLoopOptions {
  /** Serves one accepted connection; the loop waits for it on close. */
  serve: (conn: Deno.TcpConn) => Promise<void>;
  /** The server's counters: the loop bumps `accepted` for each connection it hands on. */
  stats: { accepted: number };
}

/**
 * Accepts connections on `listener` until closed and keeps what must close with the server.
 *
 * @example Serve one connection, then close
 * ```ts
 * import { ListenerLoop } from "./_listener_loop.ts";
 * const stats = { accepted: 0 };
 * const loop = new ListenerLoop(Deno.listen({ hostname: "127.0.0.1", port: 0 }), {
 *   stats,
 *   serve: async (conn) => void loop.release(loop.track(conn)),
 * });
 * const c = await Deno.connect({ hostname: "127.0.0.1", port: loop.addr.port });
 * await c.read(new Uint8Array(1)); // EOF once served
 * c.close();
 * await loop.close(new DOMException("closed", "AbortError"));
 * if (stats.accepted !== 1 || !loop.closed) throw new Error("lifecycle");
 * ```
 */
export class ListenerLoop {
  #listener: Deno.TcpListener;
  #opts: ListenerLoopOptions;
  #closers = new Set<Closer>();
  #tasks = new Set<Promise<void>>();
  #abort = new AbortController();
  #acceptLoop: Promise<void>;
  #closed = false;

  /**
   * Starts accepting. The loop owns `listener` from now on.
   * @param listener a bound TCP listener @param opts the handler and the counters
   */
  constructor(listener: Deno.TcpListener, opts: ListenerLoopOptions) {
    this.#listener = listener;
    this.#opts = opts;
    this.#acceptLoop = this.#accept();
  }

  /** Where the loop listens. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Whether {@linkcode ListenerLoop.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Aborted by {@linkcode ListenerLoop.close}, with its reason: the parent of every dial. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * Keeps `c` until it is released, so that closing the loop closes it; after close, closes
   * it at once.
   * @param c a connection, flow or socket a handler opened @returns `c`
   */
  track<T extends Closer>(c: T): T {
    if (this.#closed) closeQuietly(c);
    else this.#closers.add(c);
    return c;
  }

  /** Closes `c` and forgets it. @param c something {@linkcode ListenerLoop.track} kept */
  release(c: Closer): void {
    c.close();
    this.#closers.delete(c);
  }

  /** Forgets `c` without closing it (its owner closed it). @param c a tracked closer */
  untrack(c: Closer): void {
    this.#closers.delete(c);
  }

  /**
   * Stops listening, aborts {@linkcode ListenerLoop.signal}, closes everything tracked, then
   * waits for the accept loop and every handler. Idempotent: a second call only waits.
   * @param reason the abort reason dials in flight see
   */
  async close(reason: unknown): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#abort.abort(reason);
      closeQuietly(this.#listener);
      for (const c of this.#closers) closeQuietly(c);
    }
    await this.#acceptLoop;
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      this.#opts.stats.accepted++;
      const t = this.#opts.serve(conn).finally(() => this.#tasks.delete(t));
      this.#tasks.add(t);
    }
  }
}

/**
 * Closes `c`, ignoring "already closed" from Deno resources.
 * @param c what to close
 */
function closeQuietly(c: Closer): void {
  try {
    c.close();
  } catch { /* already closed */ }
}
