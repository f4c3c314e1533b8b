/**
 * Both proxies fed mutated and truncated handshakes over real sockets, seeded: every
 * connection ends (answered and closed, or closed at the timeout), no handler throws past
 * the server, the counters add up, and a good request still works afterwards. Rounds:
 * LIVE_GARBAGE_ROUNDS (default 150 per proxy).
 * @module
 */
import { assert, assertEquals, assertMatch } from "../base/testing/assert.ts";
import { Socks5Server } from "./socks5_server.ts";
import { HttpProxy } from "./http_proxy.ts";
import { HostDialer } from "./host_dialer.ts";
import { fuzzInput, prng } from "./testing/fuzz.ts";
import { eventually, hex, readAll, TcpEcho, toHex, writeAll } from "./testing/loopback.ts";

const ROUNDS = Number(Deno.env.get("LIVE_GARBAGE_ROUNDS") ?? "150");
const te = new TextEncoder();

function summary(name: string, stats: object): void {
  // deno-lint-ignore no-console -- the counters are the test's report
  console.log(`live garbage ${name}: ${ROUNDS} connections, ${JSON.stringify(stats)}`);
}

/** Sends `input`, then reads until the server closes; returns what came back. */
async function blast(port: number, input: Uint8Array, halfClose: boolean): Promise<Uint8Array> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(c, input);
    if (halfClose) await c.closeWrite();
  } catch { /* the server may close first */ }
  const answer = await readAll(c); // ends when the server closes: at the answer, EOF, or its timeout
  c.close();
  return answer;
}

Deno.test("Socks5Server survives seeded garbage and truncation on live sockets", async () => {
  const echo = new TcpEcho();
  const p = echo.port.toString(16).padStart(4, "0");
  const seeds = [
    hex(`050100050100017f000001${p}`),
    hex(`05020001050100030931323700302e302e31${p}`),
    hex(`050100050300010000000000`),
    hex("0503000102"),
  ];
  await using s = Socks5Server.listen({
    port: 0,
    dialer: new HostDialer(),
    handshakeTimeoutMs: 200,
  });
  for (let r = 0; r < ROUNDS; r++) {
    const rnd = prng(1000 + r);
    await blast(s.addr.port, fuzzInput(seeds, rnd), rnd() < 0.7);
  }
  const st = s.stats;
  summary("socks5", st);
  assertEquals(st.accepted, ROUNDS);
  assert(st.badInput + st.truncated + st.authFailures > ROUNDS / 3, JSON.stringify(st));
  // Still serving: no auth chosen, CONNECT succeeded (bound to 127.0.0.1), the byte echoed.
  const good = await blast(s.addr.port, hex(`050100050100017f000001${p}` + "41"), true);
  assertEquals(toHex(good.subarray(0, 8)), "050005000001" + "7f00", toHex(good));
  assertEquals(toHex(good.subarray(12)), "41", toHex(good));
  assert(await eventually(() => st.active === 0), "handlers still active");
  await echo.close();
});

Deno.test("HttpProxy survives seeded garbage and truncation on live sockets", async () => {
  const echo = new TcpEcho();
  const seeds = [
    te.encode(
      `GET http://127.0.0.1:${echo.port}/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
    ),
    te.encode(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\n\r\nhello`),
    te.encode(
      `POST http://127.0.0.1:${echo.port}/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    ),
  ];
  await using h = HttpProxy.listen({
    port: 0,
    dialer: new HostDialer(),
    headTimeoutMs: 200,
    responseHeadTimeoutMs: 200,
  });
  for (let r = 0; r < ROUNDS; r++) {
    const rnd = prng(5000 + r);
    await blast(h.addr.port, fuzzInput(seeds, rnd), rnd() < 0.7);
  }
  const st = h.stats;
  summary("http", st);
  assertEquals(st.accepted, ROUNDS);
  assert(st.badInput + st.truncated > ROUNDS / 3, JSON.stringify(st));
  // Still serving: the CONNECT is answered 200 and the tunnel echoes what follows the head.
  const good = new TextDecoder().decode(
    await blast(
      h.addr.port,
      te.encode(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\n\r\nhello`),
      true,
    ),
  );
  assertMatch(good, /^HTTP\/1\.1 200 [^\r]*\r\n(?:[^\r]+\r\n)*\r\nhello$/);
  assert(await eventually(() => st.active === 0), "handlers still active");
  await echo.close();
});
