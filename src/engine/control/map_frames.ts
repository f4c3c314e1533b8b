/**
 * Map-response framing (Go: `control/controlclient/direct.go`): each message is a 4-byte
 * **little-endian** length, then that many bytes of JSON (we never ask for zstd). Frames may
 * span HTTP/2 DATA frames and several may share one. No I/O.
 * @module
 */
import { ParseError } from "../base/errors.ts";

/** Length of the frame header. */
export const MAP_FRAME_HEADER_LEN = 4;

/**
 * Bytes a frame carrying `bodyLen` bytes takes.
 * @param bodyLen body length
 * @returns header + body
 */
export function mapFrameLen(bodyLen: number): number {
  return MAP_FRAME_HEADER_LEN + bodyLen;
}

/**
 * Writes one frame into `out` at `off`.
 * @param body the message bytes
 * @param out destination with {@linkcode mapFrameLen} bytes free at `off`
 * @param off where to write
 * @returns the offset after the frame
 */
export function emitMapFrame(body: Uint8Array, out: Uint8Array, off = 0): number {
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(off, body.length, true);
  out.set(body, off + MAP_FRAME_HEADER_LEN);
  return off + MAP_FRAME_HEADER_LEN + body.length;
}

/**
 * Collects response bytes and hands out whole frame bodies. Chunks are kept as a list and each
 * frame is copied out once, so a multi-megabyte netmap arriving in 16 KiB DATA frames costs
 * linear time.
 */
export class MapFrameSplitter {
  readonly #max: number;
  #chunks: Uint8Array[] = [];
  #head = 0; // index of the first live chunk in #chunks
  #total = 0;

  /** @param maxFrameBytes largest body accepted */
  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes;
  }

  /** @param chunk bytes from the response body */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#head > 64 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
    this.#chunks.push(chunk.slice());
    this.#total += chunk.length;
  }

  /** Bytes held that are not yet a whole frame. */
  get pending(): number {
    return this.#total;
  }

  /**
   * The next whole frame body, or null when more bytes are needed. Throws
   * {@linkcode ParseError} (format `"map-frame"`) on a zero or over-long length.
   * @returns the body or null
   */
  next(): Uint8Array | null {
    if (this.#total < MAP_FRAME_HEADER_LEN) return null;
    const hdr = this.#peek(MAP_FRAME_HEADER_LEN);
    const len = new DataView(hdr.buffer, hdr.byteOffset, 4).getUint32(0, true);
    if (len === 0) throw new ParseError("map-frame", "Cannot parse map frame: zero length", 0);
    if (len > this.#max) {
      throw new ParseError(
        "map-frame",
        `Cannot parse map frame: length ${len} exceeds ${this.#max}`,
        0,
      );
    }
    if (this.#total < MAP_FRAME_HEADER_LEN + len) return null;
    this.#take(MAP_FRAME_HEADER_LEN);
    return this.#take(len);
  }

  /** The first `n` bytes (n <= total), without consuming them. */
  #peek(n: number): Uint8Array {
    if (this.#chunks[this.#head].length >= n) return this.#chunks[this.#head].subarray(0, n);
    const out = new Uint8Array(n);
    let off = 0;
    for (let i = this.#head; i < this.#chunks.length; i++) {
      const c = this.#chunks[i];
      const part = c.subarray(0, n - off);
      out.set(part, off);
      off += part.length;
      if (off === n) break;
    }
    return out;
  }

  /** Removes and returns the first `n` bytes (n <= total). */
  #take(n: number): Uint8Array {
    const first = this.#chunks[this.#head];
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.#head++;
      else this.#chunks[this.#head] = first.subarray(n);
      this.#total -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[this.#head];
      const part = c.subarray(0, n - off);
      out.set(part, off);
      off += part.length;
      if (part.length === c.length) this.#head++;
      else this.#chunks[this.#head] = c.subarray(part.length);
    }
    this.#total -= n;
    return out;
  }
}
