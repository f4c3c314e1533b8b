/**
 * Finds where a chunked body (RFC 9112 §7.1) ends while its bytes pass through unchanged:
 * `*(HEX[;ext] CRLF data CRLF) 0[;ext] CRLF *(trailer CRLF) CRLF`. No I/O.
 * @module
 */
import { HTTP_MAX_CHUNK_LINE_BYTES } from "./constants.ts";
import { HttpParseError } from "../wire/http1_head.ts";

const enum Chunk {
  Size,
  Data,
  DataEnd,
  Trailer,
  Done,
}

/**
 * Finds where a chunked body ends, fed the bytes as they arrive; the bytes themselves pass
 * through untouched (the proxy forwards them as they are).
 */
export class ChunkedScanner {
  #state = Chunk.Size;
  #line = "";
  #remaining = 0;
  /** Total offset fed so far, for error offsets. */
  #at = 0;

  /** Whether the final empty line of the trailer section has been seen. */
  get done(): boolean {
    return this.#state === Chunk.Done;
  }

  /**
   * Scans `b[off..end)`.
   * @param b bytes @param off first byte @param end past the last byte
   * @returns how many of these bytes belong to the body (fewer than offered once done)
   * @throws {HttpParseError} for a bad chunk-size line, a missing CRLF after data, or a
   * line over HTTP_MAX_CHUNK_LINE_BYTES
   */
  feed(b: Uint8Array, off: number, end: number): number {
    let i = off;
    while (i < end && this.#state !== Chunk.Done) {
      if (this.#state === Chunk.Data) {
        const n = Math.min(this.#remaining, end - i);
        i += n;
        this.#remaining -= n;
        if (this.#remaining === 0) this.#state = Chunk.DataEnd;
        continue;
      }
      const c = b[i++];
      if (c !== 0x0a) {
        if (this.#line.length >= HTTP_MAX_CHUNK_LINE_BYTES) {
          throw new HttpParseError("Cannot parse chunked body: line too long", this.#at + i);
        }
        this.#line += String.fromCharCode(c);
        continue;
      }
      const line = this.#line.endsWith("\r") ? this.#line.slice(0, -1) : this.#line;
      this.#line = "";
      this.#endLine(line, this.#at + i);
    }
    this.#at += i - off;
    return i - off;
  }

  #endLine(line: string, at: number): void {
    switch (this.#state) {
      case Chunk.Size: {
        const m = /^([0-9A-Fa-f]{1,13})[ \t]*(;.*)?$/.exec(line);
        if (m === null) {
          throw new HttpParseError(
            `Cannot parse chunk size: ${JSON.stringify(line.slice(0, 40))}`,
            at,
          );
        }
        this.#remaining = parseInt(m[1], 16);
        this.#state = this.#remaining === 0 ? Chunk.Trailer : Chunk.Data;
        return;
      }
      case Chunk.DataEnd:
        if (line !== "") {
          throw new HttpParseError("Cannot parse chunked body: no CRLF after data", at);
        }
        this.#state = Chunk.Size;
        return;
      case Chunk.Trailer:
        if (line === "") this.#state = Chunk.Done;
        return;
      default:
        return;
    }
  }
}
