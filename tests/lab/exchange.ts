/**
 * A two-way transfer check for tunnels that end when either direction ends (tailscaled's SOCKS5
 * and HTTP proxies close both sides then, so half-close cannot signal "done"): the client sends
 * `up` while the server sends `down`; then the server sends the SHA-256 of what it read. The
 * client thus knows both directions arrived whole.
 * @module
 */
import { createHash } from "node:crypto";

/** Writes all of `b`, in chunks. @param c the connection @param b the bytes */
export async function writeAll(c: { write(p: Uint8Array): Promise<number> }, b: Uint8Array) {
  for (let off = 0; off < b.length;) {
    off += await c.write(b.subarray(off, Math.min(b.length, off + 256 * 1024)));
  }
}

/**
 * Reads `n` bytes (or to EOF), hashing them.
 * @param c the connection @param n how many bytes
 * @returns how many arrived and their SHA-256 (hex)
 */
export async function readHash(
  c: { read(p: Uint8Array): Promise<number | null> },
  n: number,
): Promise<{ bytes: number; sha: string }> {
  const h = createHash("sha256");
  const buf = new Uint8Array(256 * 1024);
  let got = 0;
  while (got < n) {
    const k = await c.read(buf.subarray(0, Math.min(buf.length, n - got)));
    if (k === null) break;
    h.update(buf.subarray(0, k));
    got += k;
  }
  return { bytes: got, sha: h.digest("hex") };
}

/** SHA-256 (hex) of `b`. @param b bytes @returns the digest */
export function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/**
 * The server side: each connection reads `up` bytes while writing `down`, then writes the
 * SHA-256 of what it read and waits for the client to close.
 * @param hostname where to listen ("127.0.0.1", "::")
 * @param up bytes each client sends @param down what each client gets
 * @returns the port and a close() that waits for every connection
 */
export function digestServer(hostname: string, up: number, down: Uint8Array) {
  const listener = Deno.listen({ hostname, port: 0 });
  const tasks: Promise<void>[] = [];
  const loop = (async () => {
    for await (const c of listener) {
      tasks.push((async () => {
        try {
          const [r] = await Promise.all([readHash(c, up), writeAll(c, down)]);
          await writeAll(c, new Uint8Array(r.sha.match(/../g)!.map((h) => parseInt(h, 16))));
          await c.closeWrite();
          await c.read(new Uint8Array(1)).catch(() => null);
        } catch {
          // The client sees the failure.
        } finally {
          c.close();
        }
      })());
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await loop.catch(() => {});
      await Promise.allSettled(tasks);
    },
  };
}

/**
 * The client side against {@linkcode digestServer}, for many connections moving the same data
 * (the digests are computed once, here).
 * @param up what each client sends @param down what the server sends
 * @returns a check that runs one exchange over a connection (left open for the caller to
 *   close) and gives null when both directions arrived whole, else what went wrong
 */
export function exchangeCheck(
  up: Uint8Array,
  down: Uint8Array,
): (c: Deno.Conn) => Promise<string | null> {
  const wantUp = sha(up), wantDown = sha(down);
  return async (c) => {
    try {
      const [r] = await Promise.all([readHash(c, down.length), writeAll(c, up)]);
      if (r.sha !== wantDown) return `download: ${r.bytes} bytes, SHA-256 ${r.sha.slice(0, 16)}…`;
      const digest = new Uint8Array(32);
      for (let got = 0; got < 32;) {
        const k = await c.read(digest.subarray(got));
        if (k === null) return `upload: no digest from the server (${got} of 32 bytes)`;
        got += k;
      }
      const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
      return hex === wantUp ? null : "upload: the server's SHA-256 differs";
    } catch (err) {
      return `transfer: ${(err as Error).message}`;
    }
  };
}
