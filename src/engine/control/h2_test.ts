import * as http2 from "node:http2";
import { assert, assertEquals, assertRejects } from "../base/testing/assert.ts";
import { memoryTransportPair } from "./testing/memory_transport.ts";
import { NoiseConn } from "./noise_conn.ts";
import { NoiseH2 } from "./h2.ts";
import { answerPing, mapPoll, register, sendLiteUpdate } from "./direct.ts";
import { emitMapFrame, mapFrameLen } from "./map_frames.ts";
import { ControlError } from "./client.ts";
import { MAX_RECORD_LEN, parseRecordHeader } from "./noise_records.ts";
import type { MapRequest, MapResponse, RegisterRequest } from "./tailcfg.ts";

const K1 = new Uint8Array(32).fill(1);
const K2 = new Uint8Array(32).fill(2);
const HASH = new Uint8Array(32);
const EARLY_JSON = new TextEncoder().encode('{"nodeKeyChallenge":""}');
/** An early payload as headscale frames it: magic, u32be length, JSON. */
const EARLY = new Uint8Array([
  0xff,
  0xff,
  0xff,
  0x54,
  0x53,
  0,
  0,
  0,
  EARLY_JSON.length,
  ...EARLY_JSON,
]);

/** A Noise pair over memory: client and server ends with swapped keys. */
function noisePair() {
  const [ct, st] = memoryTransportPair();
  const client = new NoiseConn(
    ct,
    { sendKey: K1, receiveKey: K2, handshakeHash: HASH },
    new Uint8Array(0),
  );
  const server = new NoiseConn(
    st,
    { sendKey: K2, receiveKey: K1, handshakeHash: HASH },
    new Uint8Array(0),
  );
  return { client, server, ct, st };
}

type Handler = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  body: string,
) => void;

/**
 * An HTTP/2 server behind a Noise conn in memory, like headscale behind ts2021: it sends the
 * early payload in three writes, as headscale does, then serves `handler`.
 */
async function withControl(
  handler: Handler,
  fn: (h2: NoiseH2, server: NoiseConn) => Promise<void>,
  early = true,
) {
  const { client, server } = noisePair();
  if (early) {
    server.write(EARLY.subarray(0, 5));
    server.write(EARLY.subarray(5, 9));
    server.write(EARLY.subarray(9));
  }
  const h2server = http2.createServer();
  h2server.on("stream", (stream, headers) => {
    let body = "";
    stream.on("data", (c: Uint8Array) => (body += new TextDecoder().decode(c)));
    stream.on("end", () => handler(stream, headers, body));
  });
  h2server.emit("connection", server);
  const h2 = new NoiseH2(client, "https://control.test");
  if (early) assertEquals((await client.waitEarlyNoise())?.nodeKeyChallenge, "");
  try {
    await fn(h2, server);
  } finally {
    await h2.close();
    server.destroy();
    await server.finished;
    await new Promise<void>((r) => h2server.close(() => r()));
  }
}

function frames(...msgs: MapResponse[]): Uint8Array {
  const bodies = msgs.map((m) => new TextEncoder().encode(JSON.stringify(m)));
  const out = new Uint8Array(bodies.reduce((n, b) => n + mapFrameLen(b.length), 0));
  let off = 0;
  for (const b of bodies) off = emitMapFrame(b, out, off);
  return out;
}

const REG: RegisterRequest = {
  Version: 113,
  NodeKey: "nodekey:" + "1".repeat(64),
  OldNodeKey: "nodekey:" + "0".repeat(64),
  Expiry: "0001-01-01T00:00:00Z",
  Followup: "",
  Hostinfo: { IPNVersion: "0.1.0", OS: "linux", Hostname: "t" },
};
const MAPREQ: MapRequest = {
  Version: 113,
  KeepAlive: true,
  NodeKey: REG.NodeKey,
  DiscoKey: "discokey:" + "2".repeat(64),
  Stream: true,
  Hostinfo: REG.Hostinfo,
};

Deno.test("NoiseConn carries large writes in records of at most 4096 bytes and strips the early payload", async () => {
  const { client, server, st } = noisePair();
  server.write(EARLY);
  const data = new Uint8Array(20_000).map((_, i) => (i * 7) & 0xff);
  const got: number[] = [];
  client.on("data", (c: Uint8Array) => got.push(...c));
  server.write(data);
  await new Promise<void>((resolve) => {
    const check = () => (got.length >= data.length ? resolve() : setTimeout(check, 5));
    check();
  });
  assertEquals(got, [...data]);
  assertEquals(client.earlyNoise?.raw, { nodeKeyChallenge: "" });
  for (const chunk of st.written) {
    const hdr = parseRecordHeader(chunk)!;
    assertEquals(hdr.type, 4);
    assert(3 + hdr.length <= MAX_RECORD_LEN);
  }
  client.destroy();
  await client.finished;
  await server.finished;
});

Deno.test("register() posts JSON over HTTP/2 over Noise and parses the response", async () => {
  let seen: { path?: string; method?: string; body?: RegisterRequest } = {};
  await withControl((stream, headers, body) => {
    seen = { path: headers[":path"], method: headers[":method"], body: JSON.parse(body) };
    stream.respond({ ":status": 200 });
    stream.end(JSON.stringify({ MachineAuthorized: true, User: { ID: 1 }, Error: "" }));
  }, async (h2) => {
    const resp = await register(h2, REG);
    assertEquals(resp.MachineAuthorized, true);
  });
  assertEquals([seen.method, seen.path], ["POST", "/machine/register"]);
  assertEquals(seen.body, REG);
});

Deno.test("register() maps HTTP 500 to retryable and HTTP 400 to non-retryable errors", async () => {
  let status = 500;
  await withControl((stream) => {
    stream.respond({ ":status": status });
    stream.end("unsupported client version: 1.0 (1)\n");
  }, async (h2) => {
    const e5 = await assertRejects(() => register(h2, REG), ControlError) as ControlError;
    assertEquals([e5.retryable, e5.httpStatus], [true, 500]);
    status = 400;
    const e4 = await assertRejects(() => register(h2, REG), ControlError) as ControlError;
    assertEquals([e4.retryable, e4.code], [false, "register-rejected"]);
    assertEquals(
      e4.message,
      "Control register failed: HTTP 400: unsupported client version: 1.0 (1)",
    );
  });
});

Deno.test("mapPoll() yields each framed MapResponse, however the body is chunked", async () => {
  const wire = frames({ Node: { ID: 1 } }, { KeepAlive: true }, { OnlineChange: { "2": true } });
  let req: MapRequest | null = null;
  await withControl(async (stream, _h, body) => {
    req = JSON.parse(body);
    stream.respond({ ":status": 200 });
    for (let i = 0; i < wire.length; i += 5) {
      stream.write(wire.subarray(i, i + 5));
      await new Promise((r) => setTimeout(r, 0));
    }
    stream.end();
  }, async (h2) => {
    const got: MapResponse[] = [];
    for await (const m of mapPoll(h2, MAPREQ)) got.push(m);
    assertEquals(got, [{ Node: { ID: 1 } }, { KeepAlive: true }, { OnlineChange: { "2": true } }]);
  });
  assertEquals(req, MAPREQ);
});

Deno.test("mapPoll() fails with a retryable connection-lost when the connection dies mid-stream", async () => {
  await withControl((stream) => {
    stream.respond({ ":status": 200 });
    stream.write(frames({ Node: { ID: 1 } }));
    stream.write(new Uint8Array([200, 0, 0, 0, 1, 2])); // half a frame
  }, async (h2, server) => {
    const got: MapResponse[] = [];
    const err = await assertRejects(async () => {
      for await (const m of mapPoll(h2, MAPREQ)) {
        got.push(m);
        setTimeout(() => server.destroy(), 10);
      }
    }, ControlError) as ControlError;
    assertEquals(got.length, 1);
    assertEquals([err.code, err.retryable], ["connection-lost", true]);
  });
});

Deno.test("sendLiteUpdate() posts Stream false and OmitPeers true", async () => {
  let body: MapRequest | null = null;
  await withControl((stream, _h, b) => {
    body = JSON.parse(b);
    stream.respond({ ":status": 200 });
    stream.end();
  }, async (h2) => {
    await sendLiteUpdate(h2, { ...MAPREQ, Endpoints: ["127.0.0.1:1"], EndpointTypes: [1] });
  });
  assertEquals(body!.Stream, false);
  assertEquals(body!.OmitPeers, true);
  assertEquals(body!.Endpoints, ["127.0.0.1:1"]);
});

Deno.test("answerPing() sends HEAD over Noise when URLIsNoise, else over plain HTTP", async () => {
  let noiseSeen = "";
  await withControl((stream, headers) => {
    noiseSeen = `${headers[":method"]} ${headers[":path"]}`;
    stream.respond({ ":status": 200 });
    stream.end();
  }, async (h2) => {
    const status = await answerPing(
      { URL: "https://control.test/machine/ping-response?id=abc", URLIsNoise: true },
      h2,
    );
    assertEquals(status, 200);
  });
  assertEquals(noiseSeen, "HEAD /machine/ping-response?id=abc");
  let plainSeen = "";
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: () => {},
  }, (req) => {
    plainSeen = `${req.method} ${new URL(req.url).pathname}${new URL(req.url).search}`;
    return new Response(null, { status: 204 });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/machine/ping-response?id=xyz`;
    assertEquals(await answerPing({ URL: url }, null), 204);
  } finally {
    ac.abort();
    await server.finished;
  }
  assertEquals(plainSeen, "HEAD /machine/ping-response?id=xyz");
});

Deno.test("a corrupt record from the server ends the map poll with connection-lost, not a crash", async () => {
  const { client, server, st } = noisePair();
  const h2server = http2.createServer();
  h2server.on("stream", (stream) => {
    stream.respond({ ":status": 200 });
    stream.write(frames({ Node: { ID: 1 } }));
    // Then bytes that are not a valid record, straight onto the transport.
    setTimeout(() => st.write(new Uint8Array([4, 0, 20, ...new Uint8Array(20)])), 10);
  });
  h2server.emit("connection", server);
  const h2 = new NoiseH2(client, "https://control.test");
  try {
    const got: MapResponse[] = [];
    const err = await assertRejects(async () => {
      for await (const m of mapPoll(h2, MAPREQ)) got.push(m);
    }, ControlError) as ControlError;
    assertEquals(got.length, 1);
    assertEquals([err.code, err.retryable], ["connection-lost", true]);
    assert(client.error !== null && client.error.message.includes("authentication failed"));
  } finally {
    await h2.close();
    server.destroy();
    await server.finished;
    await new Promise<void>((r) => h2server.close(() => r()));
  }
});

Deno.test("NoiseH2.request() with an already aborted signal is cancelled, not left hanging", async () => {
  await withControl(() => {/* never answers */}, async (h2) => {
    const ac = new AbortController();
    ac.abort();
    const err = await assertRejects(
      () => h2.request({ method: "POST", path: "/machine/map", body: "{}", signal: ac.signal }),
      ControlError,
    ) as ControlError;
    assertEquals(err.code, "cancelled");
  });
});

Deno.test("HTTP/2 over Noise works when the server sends no early payload", async () => {
  await withControl((stream) => {
    stream.respond({ ":status": 200 });
    stream.end(JSON.stringify({ MachineAuthorized: true }));
  }, async (h2) => {
    assertEquals((await register(h2, REG)).MachineAuthorized, true);
  }, false);
});

Deno.test("register() keeps a 429's Retry-After", async () => {
  await withControl((stream) => {
    stream.respond({ ":status": 429, "retry-after": "7" });
    stream.end("slow down");
  }, async (h2) => {
    const e = await assertRejects(() => register(h2, REG), ControlError) as ControlError;
    assertEquals([e.code, e.retryable, e.retryAfterMs], ["rate-limited", true, 7000]);
  });
});
