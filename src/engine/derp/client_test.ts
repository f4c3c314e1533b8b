import { assert, assertEquals, assertRejects } from "../base/testing/assert.ts";
import { generatePrivate, type NodePublic, publicOf, toHex } from "../key/keys.ts";
import { encodeFrame, FRAME_TYPE } from "../wire/derp_frames.ts";
import { TestDerpServer } from "./testing/derp_server.ts";
import { DerpClient, type DerpMessage } from "./client.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { DerpError } from "./errors.ts";
import { type DerpStream, memoryStreamPair } from "./stream.ts";

async function connected(server: TestDerpServer, clock?: ManualClock) {
  const privateKey = generatePrivate("node");
  const client = await DerpClient.connect(server.connect(), { privateKey, clock });
  const first = await client.recv();
  assertEquals(first.type, "server-info");
  return client;
}

async function recvType<T extends DerpMessage["type"]>(
  c: DerpClient,
  type: T,
): Promise<Extract<DerpMessage, { type: T }>> {
  for (;;) {
    const m = await c.recv();
    if (m.type === type) return m as Extract<DerpMessage, { type: T }>;
  }
}

Deno.test("DerpClient.connect() reads the server key, then sends a sealed ClientInfo", async () => {
  const server = new TestDerpServer();
  const privateKey = generatePrivate("node");
  const c = await DerpClient.connect(server.connect(), { privateKey });
  assertEquals(toHex(c.serverKey), toHex(server.publicKey));
  assertEquals(toHex(c.publicKey), toHex(publicOf(privateKey)));
  const m = await c.recv();
  assertEquals(m, {
    type: "server-info",
    info: { version: 2, tokenBucketBytesPerSecond: 0, tokenBucketBytesBurst: 0 },
  });
  assertEquals(server.clientInfoJson, ['{"version":2,"CanAckPings":true}']);
  assertEquals(c.serverInfo?.version, 2);
  await c.close();
  await server.close();
});

Deno.test("DerpClient relays packets both ways through the server, bytes intact", async () => {
  const server = new TestDerpServer();
  const a = await connected(server);
  const b = await connected(server);
  for (let i = 0; i < 50; i++) {
    const p = crypto.getRandomValues(new Uint8Array(1 + i * 29));
    await a.send(b.publicKey, p);
    const got = await recvType(b, "recv-packet");
    assertEquals(toHex(got.src), toHex(a.publicKey));
    assertEquals(got.packet, p);
    await b.send(a.publicKey, p.subarray(1));
    assertEquals((await recvType(a, "recv-packet")).packet, p.subarray(1));
  }
  assertEquals(a.stats.packetsOut, 50);
  assertEquals(a.stats.packetsIn, 50);
  await a.close();
  await b.close();
  await server.close();
});

Deno.test("DerpClient reassembles frames delivered one byte at a time", async () => {
  const server = new TestDerpServer();
  server.chunkSize = 1;
  const a = await connected(server);
  const b = await connected(server);
  const p = crypto.getRandomValues(new Uint8Array(3000));
  await a.send(b.publicKey, p);
  assertEquals((await recvType(b, "recv-packet")).packet, p);
  await a.close();
  await b.close();
  await server.close();
});

Deno.test("DerpClient answers a server ping with a pong of the same 8 bytes", async () => {
  const [ours, theirs] = memoryStreamPair();
  const serverKey = publicOf(generatePrivate("node"));
  await theirs.write(encodeFrame({ type: "server-key", serverKey }));
  const c = await DerpClient.connect(ours, { privateKey: generatePrivate("node") });
  const clientInfo = await readAll(theirs);
  assertEquals(clientInfo[0], FRAME_TYPE.clientInfo);
  const data = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]);
  await theirs.write(encodeFrame({ type: "ping", data }));
  assertEquals(await c.recv(), { type: "ping", data });
  assertEquals(await readAll(theirs), encodeFrame({ type: "pong", data }));
  assertEquals(c.stats.pingsAnswered, 1);
  await c.close();
  await theirs.close();
});

Deno.test("DerpClient.ping() resolves when the server's pong arrives", async () => {
  const server = new TestDerpServer();
  const a = await connected(server);
  const pinged = a.ping();
  assertEquals((await recvType(a, "pong")).data.length, 8);
  await pinged;
  await a.close();
  await server.close();
});

Deno.test("DerpClient counts malformed, unknown and unexpected frames and keeps going", async () => {
  const server = new TestDerpServer();
  const a = await connected(server);
  const b = await connected(server);
  const bad = [
    new Uint8Array([FRAME_TYPE.ping, 0, 0, 0, 3, 1, 2, 3]), // short ping: malformed
    new Uint8Array([FRAME_TYPE.recvPacket, 0, 0, 0, 1, 7]), // shorter than a key: malformed
    new Uint8Array([0x7f, 0, 0, 0, 2, 1, 2]), // unknown type
    new Uint8Array([0x16, 0, 0, 0, 0]), // unknown type
    encodeFrame({ type: "send-packet", dst: b.publicKey, packet: new Uint8Array(1) }), // unexpected
  ];
  for (const f of bad) await server.inject(b.publicKey, f);
  await a.send(b.publicKey, new Uint8Array([42]));
  const got = await recvType(b, "recv-packet");
  assertEquals(got.packet, new Uint8Array([42]));
  assertEquals(b.stats.drops, { malformed: 2, unknownType: 2, unexpectedType: 1 });
  await a.close();
  await b.close();
  await server.close();
});

Deno.test("DerpClient ends the connection on a frame over 1 MiB, as Go's client does", async () => {
  const server = new TestDerpServer();
  const a = await connected(server);
  await server.inject(a.publicKey, new Uint8Array([FRAME_TYPE.recvPacket, 0, 0x10, 0, 1]));
  const err = await assertRejects(() => a.recv(), DerpError, "exceeds 1048576");
  assertEquals((err as DerpError).code, "derp-protocol");
  assert(a.closed);
  await a.close();
  await server.close();
});

Deno.test("DerpClient tells the caller when a peer it heard from is gone", async () => {
  const server = new TestDerpServer();
  const a = await connected(server);
  const b = await connected(server);
  await b.send(a.publicKey, new Uint8Array([1]));
  await recvType(a, "recv-packet");
  await b.close();
  const gone = await recvType(a, "peer-gone");
  assertEquals(toHex(gone.peer), toHex(b.publicKey));
  assertEquals(gone.reason, 0);
  await a.close();
  await server.close();
});

Deno.test("DerpClient.connect() refuses a greeting without the magic", async () => {
  const [ours, theirs] = memoryStreamPair();
  const body = new Uint8Array(5 + 40);
  body.set([FRAME_TYPE.serverKey, 0, 0, 0, 40]);
  await theirs.write(body);
  const err = await assertRejects(
    () => DerpClient.connect(ours, { privateKey: generatePrivate("node") }),
    DerpError,
    "invalid server greeting",
  );
  assertEquals((err as DerpError).code, "derp-handshake");
  await theirs.close();
});

Deno.test("DerpClient.connect() refuses a first frame that is not the server key", async () => {
  const [ours, theirs] = memoryStreamPair();
  await theirs.write(encodeFrame({ type: "keep-alive" }));
  await assertRejects(
    () => DerpClient.connect(ours, { privateKey: generatePrivate("node") }),
    DerpError,
    "frame type 0x6",
  );
  await theirs.close();
});

Deno.test("DerpClient ends the connection when ServerInfo does not open", async () => {
  const [ours, theirs] = memoryStreamPair();
  await theirs.write(
    encodeFrame({ type: "server-key", serverKey: publicOf(generatePrivate("node")) }),
  );
  const c = await DerpClient.connect(ours, { privateKey: generatePrivate("node") });
  await theirs.write(
    encodeFrame({ type: "server-info", nonce: new Uint8Array(24), sealed: new Uint8Array(30) }),
  );
  await assertRejects(() => c.recv(), DerpError, "does not open");
  assert(c.closed);
  await theirs.close();
});

Deno.test("DerpClient times out after 120 s of silence (manual clock)", async () => {
  const server = new TestDerpServer();
  const clock = new ManualClock();
  const a = await connected(server, clock);
  const pending = a.recv();
  clock.advance(119_000);
  assert(!a.closed, "closed too early");
  clock.advance(16_000);
  const err = await assertRejects(() => pending, DerpError, "silent");
  assertEquals((err as DerpError).code, "derp-timeout");
  assertEquals(clock.pending, 0);
  await server.close();
});

Deno.test("DerpClient keep-alives reset the silence timer", async () => {
  const server = new TestDerpServer();
  const clock = new ManualClock();
  const a = await connected(server, clock);
  for (let i = 0; i < 4; i++) {
    clock.advance(60_000);
    await server.inject(a.publicKey, encodeFrame({ type: "keep-alive" }));
    assertEquals((await a.recv()).type, "keep-alive");
  }
  assert(!a.closed);
  await a.close();
  assertEquals(clock.pending, 0);
  await server.close();
});

Deno.test("DerpClient.close() rejects a pending recv and ends iteration quietly", async () => {
  const server = new TestDerpServer();
  const a = await connected(server);
  const pending = a.recv();
  await a.close();
  const err = await assertRejects(() => pending, DerpError);
  assertEquals((err as DerpError).code, "derp-closed");
  const seen: DerpMessage[] = [];
  for await (const m of a) seen.push(m);
  assertEquals(seen, []);
  await assertRejects(() => a.send(a.publicKey, new Uint8Array(1)), DerpError, "closed");
  await a.close();
  await server.close();
});

Deno.test("DerpClient.send() refuses packets over 64 KiB", async () => {
  const server = new TestDerpServer();
  const a = await connected(server);
  await assertRejects(
    () => a.send(a.publicKey as NodePublic, new Uint8Array((64 << 10) + 1)),
    RangeError,
    "65537",
  );
  await a.close();
  await server.close();
});

Deno.test("DerpClient.notePreferred() reaches the server", async () => {
  const server = new TestDerpServer();
  const a = await connected(server);
  await a.notePreferred(true);
  // The server handles frames in order: once the pong is back, it has seen the note.
  const pinged = a.ping();
  await recvType(a, "pong");
  await pinged;
  assertEquals(server.conns.get(toHex(a.publicKey))?.preferred, true);
  await a.close();
  await server.close();
});

/** Reads whatever is queued on `s` right now (the client writes whole frames). */
async function readAll(s: DerpStream): Promise<Uint8Array> {
  const c = await s.read();
  if (c === null) throw new Error("stream ended");
  return c;
}

Deno.test("DerpClient honours the ServerInfo token bucket by dropping excess sends", async () => {
  const server = new TestDerpServer();
  server.tokenBucket = [1000, 200]; // 1,000 B/s, 200 B burst; a 100-byte packet is a 137-byte frame
  const clock = new ManualClock();
  const a = await connected(server, clock);
  const b = await connected(server, clock);
  assertEquals(a.serverInfo?.tokenBucketBytesPerSecond, 1000);
  const p = new Uint8Array(100);
  await a.send(b.publicKey, p); // 200 → 63 tokens
  await a.send(b.publicKey, p); // dropped
  assertEquals([a.stats.packetsOut, a.stats.sendsRateLimited], [1, 1]);
  clock.advance(100); // +100 tokens → 163
  await a.send(b.publicKey, p);
  assertEquals([a.stats.packetsOut, a.stats.sendsRateLimited], [2, 1]);
  await recvType(b, "recv-packet");
  await recvType(b, "recv-packet");
  await a.close();
  await b.close();
  await server.close();
});

Deno.test("DerpClient.recv() allows one reader at a time", async () => {
  const server = new TestDerpServer();
  const a = await connected(server);
  const first = a.recv();
  await assertRejects(() => a.recv(), TypeError, "another recv()");
  await a.close();
  await assertRejects(() => first, DerpError);
  await server.close();
});

Deno.test("DerpClient survives random bytes from the server: messages or a DerpError, nothing else", async () => {
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const kinds = [0x03, 0x05, 0x06, 0x08, 0x09, 0x12, 0x13, 0x14, 0x15, 0x7f, 0x04];
  for (let round = 0; round < 200; round++) {
    const [ours, theirs] = memoryStreamPair();
    await theirs.write(
      encodeFrame({ type: "server-key", serverKey: publicOf(generatePrivate("node")) }),
    );
    const c = await DerpClient.connect(ours, { privateKey: generatePrivate("node") });
    await theirs.read(); // ClientInfo
    // A few frames of random types and lengths (sometimes lying), then the end of the stream.
    for (let f = 0; f < 5; f++) {
      const len = Math.floor(rnd() * 60);
      const b = new Uint8Array(5 + len);
      for (let i = 5; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
      b[0] = kinds[Math.floor(rnd() * kinds.length)];
      new DataView(b.buffer).setUint32(1, rnd() < 0.9 ? len : Math.floor(rnd() * 2 ** 32));
      await theirs.write(b);
    }
    await theirs.close();
    let n = 0;
    for (;;) {
      try {
        await c.recv();
        n++;
      } catch (err) {
        assert(err instanceof DerpError, `round ${round}: ${err}`);
        break;
      }
    }
    assert(n <= 5 && c.closed, `round ${round}`);
    await c.close();
  }
});
