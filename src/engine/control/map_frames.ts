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

/** Collects response bytes and hands out whole frame bodies. */
export class MapFrameSplitter {
  readonly #max: number;
  #buf: Uint8Array = new Uint8Array(0);

  /** @param maxFrameBytes largest body accepted */
  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes;
  }

  /** @param chunk bytes from the response body */
  push(chunk: Uint8Array): void {
    if (this.#buf.length === 0) {
      this.#buf = chunk.slice();
      return;
    }
    const next = new Uint8Array(this.#buf.length + chunk.length);
    next.set(this.#buf);
    next.set(chunk, this.#buf.length);
    this.#buf = next;
  }

  /** Bytes held that are not yet a whole frame. */
  get pending(): number {
    return this.#buf.length;
  }

  /**
   * The next whole frame body, or null when more bytes are needed. Throws
   * {@linkcode ParseError} (format `"map-frame"`) on a zero or over-long length.
   * @returns the body or null
   */
  next(): Uint8Array | null {
    if (this.#buf.length < MAP_FRAME_HEADER_LEN) return null;
    const len = new DataView(this.#buf.buffer, this.#buf.byteOffset, 4).getUint32(0, true);
    if (len === 0) throw new ParseError("map-frame", "Cannot parse map frame: zero length", 0);
    if (len > this.#max) {
      throw new ParseError(
        "map-frame",
        `Cannot parse map frame: length ${len} exceeds ${this.#max}`,
        0,
      );
    }
    if (this.#buf.length < MAP_FRAME_HEADER_LEN + len) return null;
    const body = this.#buf.subarray(MAP_FRAME_HEADER_LEN, MAP_FRAME_HEADER_LEN + len);
    this.#buf = this.#buf.subarray(MAP_FRAME_HEADER_LEN + len);
    return body;
  }
}
