/**
 * The byte stream a DERP client speaks over, and helpers that need no I/O: an in-memory pair for
 * tests, and the frame reader that reassembles frames from chunks. `dial.ts` makes a
 * {@linkcode DerpStream} from a TCP or TLS socket.
 * @module
 */
import {
  type DerpFrame,
  FRAME_HEADER_LEN,
  parseFrameBody,
  readFrameHeader,
} from "../wire/derp_frames.ts";
import { DerpError } from "./errors.ts";

/** A bidirectional byte stream. */
export interface DerpStream {
  /** The next chunk of bytes; null at the end of the stream. Rejects when the stream fails. */
  read(): Promise<Uint8Array | null>;
  /**
   * Queues all of `b` for sending, in call order, and resolves when the stream can take more.
   * The stream may keep a reference to `b` until it is sent: do not reuse it.
   */
  write(b: Uint8Array): Promise<void>;
  /** Closes both directions; a pending read resolves null. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Two connected in-memory streams: what one writes, the other reads.
 * @returns the two ends
 *
 * @example
 * ```ts
 * import { memoryStreamPair } from "./stream.ts";
 * const [a, b] = memoryStreamPair();
 * await a.write(new Uint8Array([1, 2]));
 * const got = await b.read();
 * if (got?.join() !== "1,2") throw new Error("lost bytes");
 * await a.close();
 * if ((await b.read()) !== null) throw new Error("no end of stream");
 * ```
 */
export function memoryStreamPair(): [DerpStream, DerpStream] {
  const ab = new ChunkQueue();
  const ba = new ChunkQueue();
  const end = (mine: ChunkQueue, theirs: ChunkQueue): DerpStream => ({
    read: () => mine.take(),
    write: (b) => {
      if (theirs.ended || mine.ended) {
        return Promise.reject(new DerpError("derp-closed", "Cannot write: stream closed"));
      }
      theirs.push(b.slice());
      return Promise.resolve();
    },
    close: () => {
      mine.end(true);
      theirs.end(false);
      return Promise.resolve();
    },
  });
  return [end(ba, ab), end(ab, ba)];
}

/** A queue of chunks with one waiting reader; used by the memory pair and socket adapters. */
export class ChunkQueue {
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #ended = false;
  #error: Error | null = null;
  #waiter: ((v: Uint8Array | null | Error) => void) | null = null;

  /** Whether no more chunks will be pushed. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes queued and not yet taken. */
  get queuedBytes(): number {
    return this.#bytes;
  }

  /** @param b a chunk the queue now owns */
  push(b: Uint8Array): void {
    if (this.#ended) return;
    if (this.#waiter !== null) {
      const w = this.#waiter;
      this.#waiter = null;
      w(b);
      return;
    }
    this.#chunks.push(b);
    this.#bytes += b.length;
  }

  /**
   * Ends the queue. Queued chunks are still delivered unless `discard`.
   * @param discard drop queued chunks (our own close)
   */
  end(discard = false): void {
    this.#ended = true;
    if (discard) {
      this.#chunks = [];
      this.#bytes = 0;
    }
    this.#wake();
  }

  /** @param err the error a reader sees once queued chunks are taken */
  fail(err: Error): void {
    if (this.#ended) return;
    this.#error = err;
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    if (this.#waiter !== null && this.#chunks.length === 0) {
      const w = this.#waiter;
      this.#waiter = null;
      w(this.#error ?? null);
    }
  }

  /** @returns the next chunk, null at the end; rejects with the error given to `fail` */
  take(): Promise<Uint8Array | null> {
    const c = this.#chunks.shift();
    if (c !== undefined) {
      this.#bytes -= c.length;
      return Promise.resolve(c);
    }
    if (this.#ended) {
      return this.#error ? Promise.reject(this.#error) : Promise.resolve(null);
    }
    return new Promise((resolve, reject) => {
      this.#waiter = (v) => v instanceof Error ? reject(v) : resolve(v);
    });
  }
}

/** One frame as read: the type byte and the parsed frame (or the parse error). */
export interface ReadFrame {
  frameType: number;
  /** Body length in bytes. */
  bodyLen: number;
  frame: DerpFrame | null;
  /** Set when the body did not parse; the frame is skipped. */
  error: Error | null;
}

/**
 * Reassembles DERP frames from a stream's chunks. Bodies are views into buffers the reader never
 * writes again, so a frame stays valid after later reads.
 */
export class FrameReader {
  readonly #stream: DerpStream;
  readonly #maxFrameLen: number;
  #buf: Uint8Array;
  #start = 0;
  #end: number;

  /**
   * @param stream where bytes come from
   * @param maxFrameLen largest body accepted; a bigger one fails the read
   * @param initial bytes already read past the HTTP upgrade response
   */
  constructor(stream: DerpStream, maxFrameLen: number, initial: Uint8Array = new Uint8Array(0)) {
    this.#stream = stream;
    this.#maxFrameLen = maxFrameLen;
    this.#buf = initial;
    this.#end = initial.length;
  }

  /**
   * Reads the next frame. Returns null when the stream ends between frames; throws
   * {@linkcode DerpError} when it ends inside one or a header announces an oversized body.
   * @returns the frame, or null at the end
   */
  async next(): Promise<ReadFrame | null> {
    if (!(await this.#fill(FRAME_HEADER_LEN))) return null;
    let h;
    try {
      h = readFrameHeader(this.#buf.subarray(this.#start, this.#end), 0, this.#maxFrameLen)!;
    } catch (err) {
      throw new DerpError("derp-protocol", `DERP: ${(err as Error).message}`, { cause: err });
    }
    const total = FRAME_HEADER_LEN + h.bodyLen;
    if (!(await this.#fill(total))) {
      throw new DerpError("derp-closed", "DERP connection ended inside a frame");
    }
    const bodyAt = this.#start + FRAME_HEADER_LEN;
    const body = this.#buf.subarray(bodyAt, bodyAt + h.bodyLen);
    this.#start += total;
    try {
      return { ...h, frame: parseFrameBody(h.frameType, body), error: null };
    } catch (err) {
      return { ...h, frame: null, error: err as Error };
    }
  }

  /** Ensures `n` unread bytes are buffered; false if the stream ends first with none buffered. */
  async #fill(n: number): Promise<boolean> {
    while (this.#end - this.#start < n) {
      const chunk = await this.#stream.read();
      if (chunk === null) {
        if (this.#end === this.#start) return false;
        throw new DerpError("derp-closed", "DERP connection ended inside a frame");
      }
      this.#append(chunk, n);
    }
    return true;
  }

  #append(chunk: Uint8Array, want: number): void {
    const live = this.#end - this.#start;
    if (live === 0) {
      this.#buf = chunk;
      this.#start = 0;
      this.#end = chunk.length;
      return;
    }
    if (this.#buf.length - this.#end >= chunk.length) {
      this.#buf.set(chunk, this.#end);
      this.#end += chunk.length;
      return;
    }
    // Never compact in place: earlier frames may still be viewing the old buffer.
    const size = Math.max(live + chunk.length, want, 64 << 10);
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(this.#start, this.#end));
    next.set(chunk, live);
    this.#buf = next;
    this.#start = 0;
    this.#end = live + chunk.length;
  }
}
