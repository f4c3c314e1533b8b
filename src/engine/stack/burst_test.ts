import { assert, assertEquals } from "../base/testing/assert.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import type { StackConn } from "./conn.ts";
import { Stack } from "./stack.ts";
import { MSS_V4 } from "./constants.ts";

/** Two stacks whose output is queued; the test decides when and how packets are delivered. */
function pair() {
  const clock = new ManualClock();
  const toA: Uint8Array[] = [];
  const toB: Uint8Array[] = [];
  const a = new Stack({
    addresses: ["100.64.0.1"],
    clock,
    output: (buf, off, len) => toB.push(buf.slice(off, off + len)),
  });
  const b = new Stack({
    addresses: ["100.64.0.2"],
    clock,
    output: (buf, off, len) => toA.push(buf.slice(off, off + len)),
  });
  /** Delivers everything queued, both ways, at once, until nothing moves. */
  const settle = async () => {
    for (let i = 0; i < 100 && (toA.length > 0 || toB.length > 0); i++) {
      for (const p of toB.splice(0)) b.input(p);
      for (const p of toA.splice(0)) a.input(p);
      for (let t = 0; t < 20; t++) await null;
    }
  };
  return { clock, a, b, toA, toB, settle };
}

async function connected() {
  const p = pair();
  const lis = p.b.listenTcp({ port: 80 });
  let server: StackConn | null = null;
  lis.accept().then((c) => server = c);
  const client = p.a.openTcp("100.64.0.2", 80);
  await p.settle();
  assert(server !== null, "accepted");
  lis.close();
  return { ...p, client, server: server as StackConn };
}

Deno.test("StackConn.readBurst returns segments that arrive in the next microtask turns too", async () => {
  const { a, b, toB, client, server } = await connected();
  client.socket.send(new Uint8Array(6 * MSS_V4).fill(9));
  a.pollAll();
  const segments = toB.splice(0);
  const buf = new Uint8Array(64 << 10);
  const read = server.readBurst(buf);
  b.input(segments[0]);
  b.pollAll(); // the first segment is readable at once
  for (const s of segments.slice(1)) {
    await null;
    b.input(s);
  }
  assertEquals(await read, 6 * MSS_V4, "one read for the whole burst");
  // A small read (not bulk) is returned without waiting.
  client.socket.send(new Uint8Array(10));
  a.pollAll();
  for (const s of toB.splice(0)) b.input(s);
  b.pollAll();
  assertEquals(await server.readBurst(buf), 10);
  a.close();
  b.close();
});
