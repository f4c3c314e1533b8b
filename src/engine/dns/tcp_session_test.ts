import { assertEquals } from "../base/testing/assert.ts";
import { serveDnsTcpSession } from "./tcp_session.ts";

/** A scripted stream: reads hand out `chunks` in order, writes are collected. */
function scriptedStream(chunks: number[][]) {
  const written: number[] = [];
  return {
    written,
    read(p: Uint8Array): Promise<number | null> {
      const c = chunks.shift();
      if (c === undefined) return Promise.resolve(null);
      p.set(c);
      return Promise.resolve(c.length);
    },
    write(p: Uint8Array): Promise<number> {
      // One byte a call, so a short write must be continued.
      written.push(p[0]);
      return Promise.resolve(1);
    },
  };
}

Deno.test("DNS over TCP: queries split across reads and packed in one read are each answered", async () => {
  // Query "AB" with its length split over two reads, then "C" and "DE" in one read.
  const conn = scriptedStream([[0], [2, 0x41], [0x42, 0, 1, 0x43, 0, 2, 0x44, 0x45]]);
  const seen: string[] = [];
  await serveDnsTcpSession(conn, (q) => {
    seen.push(new TextDecoder().decode(q));
    return Promise.resolve(new Uint8Array([q.length, ...q]));
  });
  assertEquals(seen, ["AB", "C", "DE"]);
  assertEquals(conn.written, [0, 3, 2, 0x41, 0x42, 0, 2, 1, 0x43, 0, 3, 2, 0x44, 0x45]);
});

Deno.test("DNS over TCP: a null answer ends the session without writing", async () => {
  const conn = scriptedStream([[0, 1, 0x41, 0, 1, 0x42]]);
  let asked = 0;
  await serveDnsTcpSession(conn, () => {
    asked++;
    return Promise.resolve(null);
  });
  assertEquals(asked, 1);
  assertEquals(conn.written, []);
});

Deno.test("DNS over TCP: a failing read ends the session", async () => {
  const conn = {
    read: () => Promise.reject(new Error("reset")),
    write: () => Promise.resolve(0),
  };
  await serveDnsTcpSession(conn, () => Promise.resolve(new Uint8Array(1)));
});
