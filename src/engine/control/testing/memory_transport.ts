/**
 * Two linked in-memory {@linkcode ByteTransport}s, for tests of the Noise connection and of
 * HTTP/2 over it without sockets. Every write is also recorded, so tests can inspect the wire.
 * @module
 */
import type { ByteTransport } from "../noise_conn.ts";

interface End {
  queue: Uint8Array[];
  wake: (() => void) | null;
  closed: boolean;
  written: Uint8Array[];
}

/** One end of a memory pipe, with the bytes it wrote. */
export interface MemoryTransport extends ByteTransport {
  /** Every chunk this end wrote, in order. */
  readonly written: Uint8Array[];
}

/**
 * Creates a connected pair.
 * @returns both ends
 */
export function memoryTransportPair(): [MemoryTransport, MemoryTransport] {
  const mk = (): End => ({ queue: [], wake: null, closed: false, written: [] });
  const a = mk();
  const b = mk();
  const side = (me: End, peer: End): MemoryTransport => ({
    written: me.written,
    async read(p: Uint8Array): Promise<number | null> {
      for (;;) {
        const c = me.queue[0];
        if (c) {
          const n = Math.min(p.length, c.length);
          p.set(c.subarray(0, n));
          if (n === c.length) me.queue.shift();
          else me.queue[0] = c.subarray(n);
          return n;
        }
        if (me.closed) return null;
        await new Promise<void>((r) => (me.wake = r));
      }
    },
    write(p: Uint8Array): Promise<number> {
      if (me.closed || peer.closed) return Promise.reject(new Error("memory transport closed"));
      const copy = p.slice();
      me.written.push(copy);
      peer.queue.push(copy);
      const w = peer.wake;
      peer.wake = null;
      w?.();
      return Promise.resolve(p.length);
    },
    close(): void {
      for (const e of [me, peer]) {
        e.closed = true;
        const w = e.wake;
        e.wake = null;
        w?.();
      }
    },
  });
  return [side(a, b), side(b, a)];
}
