/**
 * DNS over one TCP connection (RFC 1035 §4.2.2 and RFC 7766): each message behind a 16-bit
 * big-endian length, several queries one after another on the same connection, each answered
 * in turn. Shared by the 100.100.100.100 service on our stack and `--dns-listen` on a host
 * socket, which differ only in the connection type.
 * @module
 */
import { DNS_MAX_MESSAGE_LEN } from "../wire/mod.ts";

/** The two calls of a byte stream this needs: a `Deno.Conn` and a stack connection have both. */
export interface DnsByteStream {
  /** Reads into `p`; null at the end of the stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; returns how much. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Answers length-prefixed queries on `conn` until the peer ends the stream, a read fails or
 * `answer` gives null (no resolver any more, or the service is closing); the caller closes.
 * @param conn the connection
 * @param answer the answer to one query (the message without its length), or null to stop
 */
export async function serveDnsTcpSession(
  conn: DnsByteStream,
  answer: (query: Uint8Array) => Promise<Uint8Array | null>,
): Promise<void> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(DNS_MAX_MESSAGE_LEN + 2);
  for (;;) {
    while (buf.length >= 2 && buf.length >= 2 + ((buf[0] << 8) | buf[1])) {
      const len = (buf[0] << 8) | buf[1];
      const query = buf.slice(2, 2 + len);
      buf = buf.slice(2 + len);
      const reply = await answer(query);
      if (reply === null) return;
      const out = new Uint8Array(2 + reply.length);
      out[0] = reply.length >>> 8;
      out[1] = reply.length;
      out.set(reply, 2);
      for (let w = 0; w < out.length;) w += await conn.write(out.subarray(w));
    }
    let n: number | null;
    try {
      n = await conn.read(chunk);
    } catch {
      return;
    }
    if (n === null) return;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
  }
}
