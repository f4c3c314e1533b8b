/**
 * Byte plumbing shared by both proxies: a bounded buffered reader over a stream, and the
 * two-way relay with half-close.
 * @module
 */
import type { ProxyConn } from "./dialer.ts";
import { concat } from "../base/bytes.ts";

/** A reader that keeps unread bytes so that a parser can look at them again. */
export class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;

  /** @param readable the stream to read; this reader takes its lock */
  constructor(readable: ReadableStream<Uint8Array>) {
    this.#reader = readable.getReader();
  }

  /** The bytes read but not yet consumed. */
  get buffered(): Uint8Array {
    return this.#buf;
  }

  /** Whether the stream has ended (the peer sent FIN). */
  get eof(): boolean {
    return this.#eof;
  }

  /** Drops the first `n` buffered bytes. @param n how many */
  consume(n: number): void {
    this.#buf = this.#buf.subarray(n);
  }

  /** Puts bytes back in front of the buffer (read past the end of a message). */
  unread(b: Uint8Array): void {
    if (b.length === 0) return;
    if (this.#buf.length === 0) {
      this.#buf = b;
      return;
    }
    this.#buf = concat([b, this.#buf]);
  }

  /**
   * Reads one more chunk onto the buffer.
   * @returns false at end of stream (or when the stream errored: the connection is gone)
   */
  async fill(): Promise<boolean> {
    if (this.#eof) return false;
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await this.#reader.read();
    } catch {
      this.#eof = true;
      return false;
    }
    if (r.done) {
      this.#eof = true;
      return false;
    }
    if (this.#buf.length === 0) this.#buf = r.value;
    else this.#buf = concat([this.#buf, r.value]);
    return true;
  }

  /**
   * The buffered bytes if any (consumed), else the next chunk from the stream.
   * @returns bytes, or null at end of stream
   * @throws what the stream throws (a reset)
   */
  async next(): Promise<Uint8Array | null> {
    if (this.#buf.length > 0) {
      const b = this.#buf;
      this.#buf = new Uint8Array(0);
      return b;
    }
    if (this.#eof) return null;
    const r = await this.#reader.read();
    if (r.done) {
      this.#eof = true;
      return null;
    }
    return r.value;
  }

  /** Releases the stream lock without cancelling (the owner closes the connection). */
  release(): void {
    try {
      this.#reader.releaseLock();
    } catch { /* a read is pending: closing the connection ends it */ }
  }
}

/** One side of a relay: a connection with its reader and writer taken. */
export interface RelayEnd {
  /** The connection (closed when the relay ends). */
  conn: ProxyConn;
  /** Its buffered reader (may hold bytes that arrived early). */
  reader: ByteReader;
  /** Its writer. */
  writer: WritableStreamDefaultWriter<Uint8Array>;
}

/** Takes the reader and writer of `conn`. @param conn a connection @returns the relay end */
export function relayEnd(conn: ProxyConn): RelayEnd {
  return { conn, reader: new ByteReader(conn.readable), writer: conn.writable.getWriter() };
}

/**
 * Copies `from` to `to` until end of stream, then half-closes `to`.
 * @returns the bytes copied
 * @throws when either side fails
 */
export async function pipeOneWay(from: RelayEnd, to: RelayEnd): Promise<number> {
  let total = 0;
  for (;;) {
    const chunk = await from.reader.next();
    if (chunk === null) break;
    await to.writer.write(chunk);
    total += chunk.length;
  }
  await to.writer.close();
  return total;
}

/** Bytes each way when a relay ended. */
export interface RelayResult {
  /** From `a` to `b`. */
  aToB: number;
  /** From `b` to `a`. */
  bToA: number;
}

/**
 * Relays both ways with half-close until both directions end or either fails, then closes
 * both connections. Bytes already buffered in a reader go first.
 * @param a one end @param b the other @returns the byte counts
 */
export async function relay(a: RelayEnd, b: RelayEnd): Promise<RelayResult> {
  const res = { aToB: 0, bToA: 0 };
  const fail = () => {
    a.conn.close();
    b.conn.close();
  };
  await Promise.all([
    pipeOneWay(a, b).then((n) => res.aToB = n, fail),
    pipeOneWay(b, a).then((n) => res.bToA = n, fail),
  ]);
  a.conn.close();
  b.conn.close();
  return res;
}

/**
 * Writes `bytes` and swallows a failure (the peer is gone; the caller closes it anyway).
 * @returns whether the write succeeded
 */
export async function writeQuietly(
  w: WritableStreamDefaultWriter<Uint8Array>,
  bytes: Uint8Array,
): Promise<boolean> {
  try {
    await w.write(bytes);
    return true;
  } catch {
    return false;
  }
}
