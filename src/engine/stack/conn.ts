/**
 * The application side of a stack TCP connection, shaped like `Deno.Conn`: `readable` and
 * `writable` streams, `read`/`write`, `closeWrite`, `close`, `localAddr` and `remoteAddr`.
 * Each call copies between the caller's bytes and the socket's rings, tells the stack to
 * dispatch, and waits for the stack's wake-up when there is nothing to read or no room.
 * @module
 */
import type { TcpSocket } from "./tcp_socket.ts";

/** How a connection is tied to its stack (internal to the stack folder). */
export interface TcpEntry {
  /** The state machine. */
  readonly sock: TcpSocket;
  /** Our address bytes. */
  readonly localIp: Uint8Array;
  /** The peer's address bytes. */
  readonly remoteIp: Uint8Array;
  /** Our address as text. */
  readonly localText: string;
  /** The peer's address as text. */
  readonly remoteText: string;
  /** Map key. */
  readonly key: string;
  /** Called by the stack after anything changed for this connection. */
  wake: (() => void) | null;
}

/** What a connection needs from its stack. */
export interface ConnHost {
  /** The application acted on the socket: dispatch soon. @param e the entry */
  touch(e: TcpEntry): void;
}

/** Largest chunk handed to a reader at once. */
const READ_CHUNK = 64 << 10;

function errorFor(sock: TcpSocket): Error {
  switch (sock.error) {
    case "refused":
      return new Deno.errors.ConnectionRefused("Connection refused by peer");
    case "unreachable":
      return new Deno.errors.NetworkUnreachable("Destination unreachable (ICMP)");
    case "timeout":
      return new Deno.errors.TimedOut("Connection timed out");
    case "aborted":
      return new Deno.errors.ConnectionAborted("Connection aborted");
    default:
      return new Deno.errors.ConnectionReset("Connection reset by peer");
  }
}

/** A TCP connection through the stack, used like a `Deno.Conn`. */
export class StackConn {
  /** Our end. */
  readonly localAddr: Deno.NetAddr;
  /** The peer's end. */
  readonly remoteAddr: Deno.NetAddr;
  /** Bytes from the peer; ends at the peer's FIN, errors on a reset. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; closing it sends our FIN. */
  readonly writable: WritableStream<Uint8Array>;
  readonly #e: TcpEntry;
  readonly #host: ConnHost;
  #waiters: (() => void)[] = [];
  #closed = false;

  /**
   * @param e the stack's entry for the connection
   * @param host the stack
   */
  constructor(e: TcpEntry, host: ConnHost) {
    this.#e = e;
    this.#host = host;
    this.localAddr = { transport: "tcp", hostname: e.localText, port: e.sock.localPort };
    this.remoteAddr = { transport: "tcp", hostname: e.remoteText, port: e.sock.remotePort };
    e.wake = () => {
      const w = this.#waiters;
      if (w.length === 0) return;
      this.#waiters = [];
      for (const f of w) f();
    };
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (ctl) => {
        const chunk = await this.#readChunk();
        if (chunk === null) ctl.close();
        else ctl.enqueue(chunk);
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#writeAll(chunk),
      close: () => this.closeWrite(),
      abort: () => this.#abort(),
    });
  }

  /** The state machine (for stats and tests). */
  get socket(): TcpSocket {
    return this.#e.sock;
  }

  /** @returns a promise that settles at the stack's next wake-up for this connection */
  changed(): Promise<void> {
    return this.#wait();
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #readChunk(): Promise<Uint8Array | null> {
    const s = this.#e.sock;
    for (;;) {
      const n = s.recvQueued;
      if (n > 0) {
        const out = new Uint8Array(Math.min(n, READ_CHUNK));
        s.recv(out);
        this.#host.touch(this.#e);
        return out;
      }
      if (s.error !== null && s.error !== "aborted") throw errorFor(s);
      if (s.recvFinished || this.#closed) return null;
      await this.#wait();
    }
  }

  /**
   * Reads into `p`, like `Deno.Conn.read`.
   * @param p destination
   * @returns bytes read, or null at the end of the stream
   */
  async read(p: Uint8Array): Promise<number | null> {
    const s = this.#e.sock;
    for (;;) {
      if (s.recvQueued > 0) {
        const n = s.recv(p);
        this.#host.touch(this.#e);
        return n;
      }
      if (s.error !== null && s.error !== "aborted") throw errorFor(s);
      if (s.recvFinished || this.#closed) return null;
      await this.#wait();
    }
  }

  /**
   * Queues some of `p`, waiting for room, like `Deno.Conn.write`.
   * @param p bytes
   * @returns bytes taken (at least 1 unless `p` is empty)
   */
  async write(p: Uint8Array): Promise<number> {
    const s = this.#e.sock;
    for (;;) {
      if (s.error !== null) throw errorFor(s);
      if (!s.maySend) throw new Deno.errors.BrokenPipe("Connection is closed for writing");
      const n = s.send(p);
      if (n > 0 || p.length === 0) {
        this.#host.touch(this.#e);
        return n;
      }
      await this.#wait();
    }
  }

  async #writeAll(p: Uint8Array): Promise<void> {
    for (let off = 0; off < p.length;) off += await this.write(p.subarray(off));
  }

  /** Sends our FIN after the queued data; reading goes on. */
  closeWrite(): Promise<void> {
    this.#e.sock.close();
    this.#host.touch(this.#e);
    return Promise.resolve();
  }

  #abort(): void {
    this.#e.sock.abort();
    this.#host.touch(this.#e);
  }

  /** Closes both directions: FIN if everything was read, else RST (as Linux does). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#e.sock;
    if (s.recvQueued > 0 && s.isSynchronized) s.abort();
    else s.close();
    this.#host.touch(this.#e);
    this.#e.wake?.();
  }
}
