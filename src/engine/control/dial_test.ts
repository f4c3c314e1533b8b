import { assert, assertEquals, assertRejects, assertThrows } from "../base/testing/assert.ts";
import { checkUpgradeResponse, dialNoise, fetchServerKey, parseServerUrl } from "./dial.ts";
import { ControlError } from "./client.ts";
import { TailnetError } from "../base/errors.ts";
import { generatePrivate, publicOf, publicToText } from "../key/keys.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { DIAL_TIMEOUT_MS } from "./constants.ts";
import type { ByteTransport } from "./noise_conn.ts";

/** Serves `handler` on a loopback port for the duration of `fn`. */
async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    handler,
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    ac.abort();
    await server.finished;
  }
}

/** A TCP server that answers every connection with `reply` bytes and then closes. */
async function withRawServer(reply: string, fn: (url: string) => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      await conn.read(buf).catch(() => null);
      await conn.write(new TextEncoder().encode(reply)).catch(() => 0);
      conn.close();
    }
  })();
  try {
    await fn(`http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("fetchServerKey() reads publicKey and sends v=<capver>", async () => {
  const key = publicOf(generatePrivate("machine"));
  let query = "";
  await withServer((req) => {
    query = new URL(req.url).search;
    return Response.json({
      legacyPublicKey: "mkey:" + "0".repeat(64),
      publicKey: publicToText("machine", key),
    });
  }, async (url) => {
    const got = await fetchServerKey(url, 113);
    assertEquals([...got], [...key]);
  });
  assertEquals(query, "?v=113");
});

Deno.test("fetchServerKey() says a server that 404s /key is not Tailscale control (not retryable)", async () => {
  await withServer(() => new Response("404 page not found", { status: 404 }), async (url) => {
    const err = await assertRejects(() => fetchServerKey(url, 113), ControlError) as ControlError;
    assertEquals([err.code, err.retryable, err.httpStatus], ["not-tailscale-control", false, 404]);
    assert(!err.message.includes("\n"), "one line");
    assert(err.message.includes("HTTP 404"), err.message);
  });
});

Deno.test("fetchServerKey() treats 5xx as retryable and a zero key as too old", async () => {
  await withServer(() => new Response("bad gateway", { status: 502 }), async (url) => {
    const err = await assertRejects(() => fetchServerKey(url, 113), ControlError) as ControlError;
    assertEquals([err.code, err.retryable], ["server-error", true]);
  });
  await withServer(
    () => Response.json({ publicKey: "mkey:" + "0".repeat(64) }),
    async (url) => {
      await assertRejects(() => fetchServerKey(url, 113), ControlError, "too old");
    },
  );
  await withServer(() => new Response("<html>hello</html>"), async (url) => {
    const err = await assertRejects(() => fetchServerKey(url, 113), ControlError) as ControlError;
    assertEquals([err.code, err.retryable], ["not-tailscale-control", false]);
  });
});

Deno.test("fetchServerKey() on a closed port is a retryable unreachable error", async () => {
  const port = freePort();
  const err = await assertRejects(
    () => fetchServerKey(`http://127.0.0.1:${port}`, 113),
    ControlError,
  ) as ControlError;
  assertEquals([err.code, err.retryable], ["unreachable", true]);
  assert(
    err.message.startsWith(
      `Cannot reach control server http://127.0.0.1:${port}: Connection refused`,
    ),
    err.message,
  );
});

Deno.test("dialNoise() rejects a server that answers the upgrade with 404", async () => {
  await withRawServer(
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    async (url) => {
      const err = await assertRejects(() =>
        dialNoise({
          serverUrl: url,
          machineKey: generatePrivate("machine"),
          controlKey: publicOf(generatePrivate("machine")),
          version: 113,
        }), ControlError) as ControlError;
      assertEquals([err.code, err.retryable, err.httpStatus], [
        "not-tailscale-control",
        false,
        404,
      ]);
    },
  );
});

Deno.test("dialNoise() reports EOF after 101 as a refused handshake; type 3 with its text", async () => {
  const opts = {
    machineKey: generatePrivate("machine"),
    controlKey: publicOf(generatePrivate("machine")),
    version: 113,
  };
  const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: tailscale-control-protocol\r\n" +
    "Connection: upgrade\r\n\r\n";
  await withRawServer(head, async (url) => {
    const err = await assertRejects(
      () => dialNoise({ ...opts, serverUrl: url }),
      ControlError,
    ) as ControlError;
    assertEquals([err.code, err.retryable], ["handshake-refused", true]);
  });
  await withRawServer(head + "\x03\x00\x05nope!", async (url) => {
    await assertRejects(() => dialNoise({ ...opts, serverUrl: url }), ControlError, "nope!");
  });
});

Deno.test("dialNoise() gives up after DIAL_TIMEOUT_MS on its clock when the server never answers", async () => {
  const clock = new ManualClock();
  let closed = false;
  let failRead: ((err: Error) => void) | null = null;
  // A connection that takes the upgrade request and never answers; close() ends the read the
  // way closing a Deno.Conn does.
  const silent: ByteTransport = {
    read: () => new Promise((_, reject) => failRead = reject),
    write: (p) => Promise.resolve(p.length),
    close: () => {
      closed = true;
      failRead?.(new Deno.errors.BadResource("Bad resource ID"));
    },
  };
  let err: unknown = null;
  const dialing = dialNoise({
    serverUrl: "http://control.test",
    machineKey: generatePrivate("machine"),
    controlKey: publicOf(generatePrivate("machine")),
    version: 113,
    connect: () => Promise.resolve(silent),
    clock,
  }).catch((e) => err = e);
  await clock.advanceAsync(DIAL_TIMEOUT_MS - 1);
  assertEquals([err, closed], [null, false], "still waiting just before the deadline");
  await clock.advanceAsync(1);
  await dialing;
  assert(err instanceof ControlError, String(err));
  assertEquals([err.code, err.retryable], ["unreachable", true]);
  assertEquals(
    err.message,
    "Cannot reach control server http://control.test: ts2021 dial timed out or was cancelled",
  );
  assert(closed, "the connection was closed");
  assertEquals(clock.pending, 0);
});

Deno.test("checkUpgradeResponse() wants 101 and the ts2021 Upgrade value", () => {
  checkUpgradeResponse(
    "u",
    "HTTP/1.1 101 Switching Protocols\r\nupgrade: tailscale-control-protocol",
  );
  assertThrows(
    () => checkUpgradeResponse("u", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"),
    ControlError,
    "websocket",
  );
  const e = assertThrows(
    () => checkUpgradeResponse("u", "HTTP/1.1 503 Busy"),
    ControlError,
  ) as ControlError;
  assertEquals(e.retryable, true);
  assertThrows(() => checkUpgradeResponse("u", "SSH-2.0-OpenSSH"), ControlError, "not an HTTP");
});

Deno.test("parseServerUrl() takes the scheme's default port and rejects other schemes", () => {
  assertEquals(parseServerUrl("https://c.example").port, 443);
  assertEquals(parseServerUrl("http://c.example").port, 80);
  assertEquals(parseServerUrl("http://127.0.0.1:8080").port, 8080);
  const e = assertThrows(() => parseServerUrl("ftp://x"), ControlError) as ControlError;
  assertEquals([e.code, e.retryable], ["bad-server-url", false]);
});

Deno.test("ControlError is a TailnetError with retryable and the HTTP status", () => {
  const e = new ControlError("server-error", "Control said 503", true, 503);
  assert(e instanceof TailnetError);
  assertEquals([e.name, e.code, e.retryable, e.httpStatus], [
    "ControlError",
    "server-error",
    true,
    503,
  ]);
});
