/**
 * Copies one HTTP message body from a reader to a writer by its framing, bytes unchanged.
 * @module
 */
import type { ByteReader } from "./_relay.ts";
import type { BodyFraming } from "./http_proxy_messages.ts";
import { ChunkedScanner } from "./chunked_scanner.ts";

/** How a body copy ended. */
export type BodyCopyResult = "complete" | "eof-early";

/**
 * Copies the body framed by `framing` from `from` to `to`. Bytes past the body stay in
 * `from` (the next message on a kept-alive connection).
 * @param from the source @param to the destination @param framing how the body ends
 * @returns `complete`, or `eof-early` when the source ended first
 * @throws {HttpParseError} for a malformed chunked body; what the writer throws
 */
export async function copyBody(
  from: ByteReader,
  to: WritableStreamDefaultWriter<Uint8Array>,
  framing: BodyFraming,
): Promise<BodyCopyResult> {
  switch (framing.kind) {
    case "none":
      return "complete";
    case "length": {
      let left = framing.length;
      while (left > 0) {
        const chunk = await from.next();
        if (chunk === null) return "eof-early";
        const take = Math.min(left, chunk.length);
        if (take < chunk.length) from.unread(chunk.subarray(take));
        await to.write(chunk.subarray(0, take));
        left -= take;
      }
      return "complete";
    }
    case "chunked": {
      const scanner = new ChunkedScanner();
      while (!scanner.done) {
        const chunk = await from.next();
        if (chunk === null) return "eof-early";
        const n = scanner.feed(chunk, 0, chunk.length);
        if (n < chunk.length) from.unread(chunk.subarray(n));
        await to.write(chunk.subarray(0, n));
      }
      return "complete";
    }
    case "until-close":
      for (;;) {
        const chunk = await from.next();
        if (chunk === null) return "complete";
        await to.write(chunk);
      }
  }
}
