import { assert, assertEquals } from "../base/testing/assert.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import type { StackConn } from "./conn.ts";
import { Stack } from "./stack.ts";
import { BURST_MAX_SEGMENTS, MSS_V4 } from "./constants.ts";

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

/** Lets a burst end: more microtask turns than the stack waits for. */
async function turns(n = 40): Promise<void> {
  for (let i = 0; i < n; i++) await null;
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

Deno.test("Stack ACKs a burst of in-order segments after the burst, not every second one", async () => {
  const { a, b, toA, toB, client, server } = await connected();
  toA.length = 0;
  toB.length = 0;
  client.socket.send(new Uint8Array(8 * MSS_V4).fill(7));
  a.pollAll();
  const segments = toB.splice(0);
  assert(segments.length >= 8, "a burst of segments");
  // As the UDP receive loop delivers queued datagrams: one per microtask turn.
  for (const s of segments) {
    b.input(s);
    await null;
  }
  await turns();
  // One ACK per BURST_MAX_SEGMENTS segments of the burst at most, not one per two segments.
  const acks = toA.length;
  assert(acks >= 1, "the burst is acknowledged");
  assert(
    acks <= Math.ceil(segments.length / BURST_MAX_SEGMENTS),
    `${acks} ACKs for ${segments.length} segments`,
  );
  assertEquals(server.socket.recvQueued, 8 * MSS_V4);
  a.close();
  b.close();
});

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
