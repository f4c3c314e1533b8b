import { assert, assertEquals, assertMatch } from "../base/testing/assert.ts";
import { HttpProxy } from "./http_proxy.ts";
import { HostDialer } from "./host_dialer.ts";
import {
  closedPort,
  curl,
  LoopbackDialer,
  readAll,
  TcpEcho,
  writeAll,
} from "./testing/loopback.ts";

const td = new TextDecoder();
const te = new TextEncoder();

/** An origin that echoes method, path, selected headers and body; /stream answers chunked. */
async function withOrigin(fn: (port: number) => Promise<void>): Promise<void> {
  const ac = new AbortController();
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const u = new URL(req.url);
      if (u.pathname === "/stream") {
        const parts = ["alpha,", "beta,", "gamma"];
        return new Response(
          new ReadableStream({
            pull(c) {
              const p = parts.shift();
              if (p === undefined) c.close();
              else c.enqueue(te.encode(p));
            },
          }),
        );
      }
      const seen = ["proxy-connection", "x-secret", "x-forwarded-for", "host"].map((h) =>
        `${h}=${req.headers.get(h)}`
      );
      return new Response(
        `${req.method} ${u.pathname}${u.search} ${seen.join(" ")} body=${await req.text()}`,
      );
    },
  );
  try {
    await fn(srv.addr.port);
  } finally {
    ac.abort();
    await srv.finished;
  }
}

Deno.test("HttpProxy forwards curl's absolute-URI GET and POST, hop-by-hop headers removed", async () => {
  await withOrigin(async (port) => {
    const d = new LoopbackDialer();
    await using p = HttpProxy.listen({ port: 0, dialer: d });
    const r = await curl([
      "-x",
      `http://127.0.0.1:${p.addr.port}`,
      "-H",
      "Connection: X-Secret",
      "-H",
      "X-Secret: 1",
      `http://ts1.tailnet.test:${port}/a?b=1`,
    ]);
    assertEquals(r.code, 0, r.err);
    assertEquals(
      r.out,
      `GET /a?b=1 proxy-connection=null x-secret=null x-forwarded-for=127.0.0.1 host=ts1.tailnet.test:${port} body=`,
    );
    const post = await curl([
      "-x",
      `http://127.0.0.1:${p.addr.port}`,
      "--data-binary",
      "x=1",
      `http://ts1:${port}/p`,
    ]);
    assertMatch(post.out, /^POST \/p .* body=x=1$/);
    assertEquals(d.calls, [`tcp ts1.tailnet.test ${port}`, `tcp ts1 ${port}`]);
    assertEquals(p.stats.forwarded, 2);
  });
});

Deno.test("HttpProxy keeps the client and origin connections alive across requests", async () => {
  await withOrigin(async (port) => {
    const d = new LoopbackDialer();
    await using p = HttpProxy.listen({ port: 0, dialer: d });
    const url = `http://ts1:${port}/k`;
    const r = await curl(["-x", `http://127.0.0.1:${p.addr.port}`, url, url, url]);
    assertEquals(r.code, 0, r.err);
    assertEquals(r.out.split("GET /k").length - 1, 3);
    assertEquals(p.stats.accepted, 1, "curl reused its proxy connection");
    assertEquals(d.calls.length, 1, "the proxy reused its origin connection");
    assertEquals(p.stats.forwarded, 3);
  });
});

/**
 * A one-request origin that never sends `100 Continue`: it reads the head and a Content-Length
 * body, answers with the body's length, and resolves with the head it saw.
 */
function silentOrigin(): { port: number; head: Promise<string> } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const head = (async () => {
    const c = await l.accept();
    l.close();
    try {
      let got = new Uint8Array(0);
      const buf = new Uint8Array(64 << 10);
      let end = -1;
      let need = Infinity;
      while (end < 0 || got.length < end + 4 + need) {
        const n = await c.read(buf);
        if (n === null) throw new Error(`origin: EOF after ${got.length} bytes`);
        const next = new Uint8Array(got.length + n);
        next.set(got);
        next.set(buf.subarray(0, n), got.length);
        got = next;
        if (end < 0) {
          end = td.decode(got).indexOf("\r\n\r\n");
          const m = end < 0
            ? null
            : td.decode(got.subarray(0, end)).match(/content-length: *(\d+)/i);
          if (end >= 0) need = m ? Number(m[1]) : 0;
        }
      }
      const text = `body=${got.length - end - 4}`;
      await writeAll(
        c,
        te.encode(
          `HTTP/1.1 200 OK\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`,
        ),
      );
      return td.decode(got.subarray(0, end));
    } finally {
      c.close();
    }
  })();
  // Handled here too, so a failed exchange fails the test at its await, not as an uncaught error.
  head.catch(() => {});
  return { port: (l.addr as Deno.NetAddr).port, head };
}

Deno.test("HttpProxy answers Expect: 100-continue itself, so curl sends a 2 MiB body at once", async () => {
  // The origin never sends 100 Continue and curl would wait 60 s for one (past its 10 s
  // --max-time): a 100 Continue in curl's trace, before its body went out and with no "Done
  // waiting", can only have come from the proxy.
  const origin = silentOrigin();
  await using p = HttpProxy.listen({ port: 0, dialer: new LoopbackDialer() });
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeFile(file, new Uint8Array(2 << 20).fill(0x61));
    const r = await curl([
      "-x",
      `http://127.0.0.1:${p.addr.port}`,
      "--expect100-timeout",
      "60",
      "--data-binary",
      `@${file}`,
      "-v",
      `http://ts1:${origin.port}/big`,
    ]);
    assertEquals(r.code, 0, r.err);
    assertEquals(r.out, `body=${2 << 20}`, "the origin received the whole body");
    const trace = r.err.split("\n");
    const at = (re: RegExp) => trace.findIndex((l) => re.test(l));
    const expect = at(/^> Expect: 100-continue/);
    const cont = at(/^< HTTP\/1\.1 100 Continue/);
    const uploaded = at(/completely (uploaded|sent off)/);
    const ok = at(/^< HTTP\/1\.1 200/);
    assert(expect >= 0 && cont > expect, `curl did not get 100 Continue after asking:\n${r.err}`);
    assert(uploaded > cont && ok > uploaded, `curl's body went out before 100 Continue:\n${r.err}`);
    assertEquals(at(/Done waiting for 100-continue/), -1, "curl waited out its timeout");
    const head = await origin.head;
    assert(!/^expect:/im.test(head), `the proxy passed Expect on to the origin:\n${head}`);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("HttpProxy serves pipelined requests in order (Content-Length bodies, leftovers kept)", async () => {
  await withOrigin(async (port) => {
    await using p = HttpProxy.listen({ port: 0, dialer: new LoopbackDialer() });
    const c = await Deno.connect({ hostname: "127.0.0.1", port: p.addr.port });
    await writeAll(
      c,
      te.encode(
        `POST http://ts1:${port}/one HTTP/1.1\r\nHost: ts1\r\nContent-Length: 5\r\n\r\nfirst` +
          `GET http://ts1:${port}/two HTTP/1.1\r\nHost: ts1\r\nConnection: close\r\n\r\n`,
      ),
    );
    const raw = td.decode(await readAll(c));
    c.close();
    const bodies = [...raw.matchAll(/body=[^\n]*|(?:POST|GET) \/(?:one|two)/g)].map((m) => m[0])
      .filter((m) => !m.startsWith("body="));
    assertEquals(bodies, ["POST /one", "GET /two"], raw);
    assertMatch(raw, /body=first/);
    assertEquals(p.stats.forwarded, 2);
  });
});

Deno.test("HttpProxy passes chunked bodies through both ways", async () => {
  await withOrigin(async (port) => {
    await using p = HttpProxy.listen({ port: 0, dialer: new LoopbackDialer() });
    const r = await curl([
      "-x",
      `http://127.0.0.1:${p.addr.port}`,
      "-H",
      "Transfer-Encoding: chunked",
      "--data-binary",
      "hello",
      `http://ts1:${port}/c`,
    ]);
    assertMatch(r.out, /body=hello$/);
    // Raw: the chunked response arrives chunked, byte for byte as the origin framed it.
    const c = await Deno.connect({ hostname: "127.0.0.1", port: p.addr.port });
    await writeAll(
      c,
      te.encode(
        `GET http://127.0.0.1:${port}/stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      ),
    );
    const raw = td.decode(await readAll(c));
    c.close();
    assertMatch(raw, /^HTTP\/1\.1 200 OK\r\n/);
    assertMatch(raw, /\r\ntransfer-encoding: chunked\r\n/i);
    assertMatch(raw, /\r\nConnection: close\r\n/);
    assert(raw.endsWith("\r\n0\r\n\r\n"), JSON.stringify(raw.slice(-20)));
    assert(raw.includes("alpha,") && raw.includes("gamma"));
  });
});

Deno.test("HttpProxy tunnels CONNECT (curl -p) and answers tailscaled's 200 OK", async () => {
  await withOrigin(async (port) => {
    await using p = HttpProxy.listen({ port: 0, dialer: new LoopbackDialer() });
    const r = await curl([
      "-p",
      "-x",
      `http://127.0.0.1:${p.addr.port}`,
      `http://ts1:${port}/t`,
      "-v",
    ]);
    assertEquals(r.code, 0, r.err);
    assertMatch(r.err, /HTTP\/1\.1 200 OK/);
    assertMatch(r.out, /^GET \/t /);
    assertEquals(p.stats.connects, 1);
  });
  // 1 MiB through a CONNECT tunnel to an echo server, with early bytes and half-close.
  const echo = new TcpEcho();
  try {
    await using p = HttpProxy.listen({ hostname: "::1", port: 0, dialer: new HostDialer() });
    const c = await Deno.connect({ hostname: "::1", port: p.addr.port });
    const data = new Uint8Array(1 << 20).map((_, i) => i * 13);
    await writeAll(c, te.encode(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: x\r\n\r\nearly`));
    const reading = readAll(c);
    await writeAll(c, data);
    await c.closeWrite();
    const got = await reading;
    c.close();
    const head = "HTTP/1.1 200 OK\r\n\r\nearly";
    assertEquals(td.decode(got.subarray(0, head.length)), head);
    assertEquals(got.length, head.length + data.length);
    assert(got.subarray(head.length).every((b, i) => b === data[i]));
  } finally {
    await echo.close();
  }
});

Deno.test("HttpProxy: 502 for dial failures, clear 4xx for garbage; counted; still serving", async () => {
  await using p = HttpProxy.listen({ port: 0, dialer: new HostDialer(), headTimeoutMs: 300 });
  const proxy = `http://127.0.0.1:${p.addr.port}`;
  const dead = closedPort();
  const r1 = await curl([
    "-x",
    proxy,
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    `http://127.0.0.1:${dead}/`,
  ]);
  assertEquals(r1.out, "502");
  const r2 = await curl(["-p", "-x", proxy, `http://127.0.0.1:${dead}/`]);
  assertEquals(r2.code, 56, r2.err); // CURLE_RECV_ERROR: CONNECT answered 502
  assertMatch(r2.err, /502/);
  const raw = async (s: string, closeWrite = true) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: p.addr.port });
    await writeAll(c, Uint8Array.from(s, (ch) => ch.charCodeAt(0)));
    if (closeWrite) await c.closeWrite();
    const out = td.decode(await readAll(c));
    c.close();
    return out.split("\r\n")[0];
  };
  assertEquals(await raw("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  assertEquals(
    await raw("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"),
    "HTTP/1.1 400 Bad Request",
  );
  assertEquals(await raw("CONNECT ts1 HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  assertEquals(await raw("GET https://a/ HTTP/1.1\r\n\r\n"), "HTTP/1.1 501 Not Implemented");
  assertEquals(
    await raw("POST http://a/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
    "HTTP/1.1 400 Bad Request",
  );
  assertEquals(
    await raw("GET http://a/ HTTP/1.1\r\nX: " + "a".repeat(70_000)),
    "HTTP/1.1 431 Request Header Fields Too Large",
  );
  assertEquals(await raw("GET http://a/ HTTP/1.1\r\nHost: a\r\n"), "HTTP/1.1 400 Bad Request"); // EOF mid-head
  assertEquals(await raw("GET http://a/ HTTP/1.1\r\n", false), "HTTP/1.1 408 Request Timeout");
  assertEquals(p.stats.dialFailures, 2);
  assertEquals(p.stats.badInput, 6);
  assertEquals(p.stats.truncated, 2);
  await withOrigin(async (port) => {
    const ok = await curl(["-x", proxy, `http://127.0.0.1:${port}/still`]);
    assertMatch(ok.out, /^GET \/still /);
  });
});

Deno.test("HttpProxy: an origin that sends garbage or closes early gets 502", async () => {
  const origin = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const answers = ["SSH-2.0-OpenSSH_9.2\r\n", ""];
  const serving = (async () => {
    for (const a of answers) {
      const c = await origin.accept();
      await c.read(new Uint8Array(4096));
      if (a !== "") await writeAll(c, te.encode(a));
      c.close();
    }
  })();
  await using p = HttpProxy.listen({ port: 0, dialer: new HostDialer() });
  for (let i = 0; i < answers.length; i++) {
    const r = await curl([
      "-x",
      `http://127.0.0.1:${p.addr.port}`,
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `http://127.0.0.1:${origin.addr.port}/`,
    ]);
    assertEquals(r.out, "502");
  }
  await serving;
  origin.close();
  assertEquals(p.stats.upstreamErrors, 2);
});

Deno.test("HttpProxy.close() ends idle keep-alive and tunnel connections", async () => {
  const echo = new TcpEcho();
  const p = HttpProxy.listen({ port: 0, dialer: new HostDialer() });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: p.addr.port });
  await writeAll(c, te.encode(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\n\r\n`));
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: p.addr.port });
  await new Promise((r) => setTimeout(r, 50));
  await p.close();
  await p.close();
  assertEquals(td.decode(await readAll(c)), "HTTP/1.1 200 OK\r\n\r\n");
  assertEquals((await readAll(idle)).length, 0);
  c.close();
  idle.close();
  await echo.close();
  assertEquals(p.stats.active, 0);
});
