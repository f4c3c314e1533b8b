/**
 * Adapts a Deno `Conn` to {@linkcode ProxyConn} with streams of our own, so that closing the
 * writable is a half-close (`closeWrite`) and `close()` may be called any number of times.
 * @module
 */
import type { ProxyConn } from "./dialer.ts";
import { RELAY_CHUNK_BYTES } from "./constants.ts";

/**
 * The part of Deno's `Conn` the adapter uses; the userspace stack's connections have it too.
 */
export interface ReadWriteConn {
  /** Reads into `p`; null at EOF. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; returns how much. */
  write(p: Uint8Array): Promise<number>;
  /** Sends FIN. */
  closeWrite(): Promise<void>;
  /** Closes both directions. */
  close(): void;
  /** Our end, when known. */
  readonly localAddr?: Deno.Addr;
}

/**
 * Wraps `conn`. The wrapper owns it: `close()` closes it.
 * @param conn a connected TCP connection (Deno's, or anything with the same calls)
 * @returns the ProxyConn view
 */
export function proxyConnFromDeno(conn: ReadWriteConn): ProxyConn {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch { /* already closed by the runtime */ }
  };
  // One read buffer per connection, and each chunk handed on is a copy of what arrived: reads
  // from the userspace stack average about one segment (1.6 KB in a bulk download), and a fresh
  // RELAY_CHUNK_BYTES buffer per read made 64 KiB of garbage for each, which piled up as
  // resident memory between collections. Pulls never overlap, so reusing it is safe.
  let scratch: Uint8Array | null = null;
  const readable = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const buf = scratch ??= new Uint8Array(RELAY_CHUNK_BYTES);
      let n: number | null;
      try {
        n = closed ? null : await conn.read(buf);
      } catch (err) {
        scratch = null;
        if (closed) n = null;
        else {
          ctrl.error(err);
          return;
        }
      }
      if (n === null) {
        scratch = null;
        ctrl.close();
      } else ctrl.enqueue(buf.slice(0, n));
    },
    cancel() {
      scratch = null;
      close();
    },
  }, { highWaterMark: 0 });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      let off = 0;
      while (off < chunk.length) off += await conn.write(chunk.subarray(off));
    },
    async close() {
      if (closed) return;
      try {
        await conn.closeWrite();
      } catch { /* the peer is gone: nothing to half-close */ }
    },
    abort() {
      close();
    },
  });
  const la = conn.localAddr;
  return {
    readable,
    writable,
    localAddr: la?.transport === "tcp" ? { hostname: la.hostname, port: la.port } : undefined,
    close,
  };
}
