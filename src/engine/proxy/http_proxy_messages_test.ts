import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import {
  parseAbsoluteTarget,
  parseConnectTarget,
  requestFraming,
  responseFraming,
  stripHopByHop,
  wantsKeepAlive,
} from "./http_proxy_messages.ts";
import {
  findHeadEnd,
  formatRequestHead,
  formatResponseHead,
  HttpParseError,
  parseRequestHead,
  parseResponseHead,
} from "../wire/http1_head.ts";
import { ChunkedScanner } from "./chunked_scanner.ts";
import { hex } from "./testing/loopback.ts";

const td = new TextDecoder();
const te = new TextEncoder();

// Captured from curl 7.88.1 against a recording server (see the proxy report).
// curl -x http://127.0.0.1:P http://ts1.tailnet.test:8080/path?q=1
const CURL_GET = hex(
  "47455420687474703a2f2f7473312e7461696c6e65742e746573743a383038302f706174683f713d3120485454502f312e310d0a486f73743a207473312e7461696c6e65742e746573743a383038300d0a557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a50726f78792d436f6e6e656374696f6e3a204b6565702d416c6976650d0a0d0a",
);
// curl -p -x http://127.0.0.1:P http://ts1:8080/
const CURL_CONNECT = hex(
  "434f4e4e454354207473313a3830383020485454502f312e310d0a486f73743a207473313a383038300d0a557365722d4167656e743a206375726c2f372e38382e310d0a50726f78792d436f6e6e656374696f6e3a204b6565702d416c6976650d0a0d0a",
);
// curl -x http://127.0.0.1:P -H "Transfer-Encoding: chunked" --data-binary hello http://100.64.0.2/post
const CURL_POST_CHUNKED = hex(
  "504f535420687474703a2f2f3130302e36342e302e322f706f737420485454502f312e310d0a486f73743a203130302e36342e302e320d0a557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a50726f78792d436f6e6e656374696f6e3a204b6565702d416c6976650d0a5472616e736665722d456e636f64696e673a206368756e6b65640d0a436f6e74656e742d547970653a206170706c69636174696f6e2f782d7777772d666f726d2d75726c656e636f6465640d0a0d0a350d0a68656c6c6f0d0a300d0a0d0a",
);

Deno.test("parseRequestHead() reads curl's absolute-URI GET", () => {
  const p = parseRequestHead(CURL_GET, 0)!;
  assertEquals(p.end, CURL_GET.length);
  assertEquals(p.value.method, "GET");
  assertEquals(p.value.target, "http://ts1.tailnet.test:8080/path?q=1");
  assertEquals(p.value.version, "HTTP/1.1");
  assertEquals(p.value.headers, [
    ["Host", "ts1.tailnet.test:8080"],
    ["User-Agent", "curl/7.88.1"],
    ["Accept", "*/*"],
    ["Proxy-Connection", "Keep-Alive"],
  ]);
  assertEquals(parseAbsoluteTarget(p.value.target), {
    scheme: "http",
    host: "ts1.tailnet.test",
    port: 8080,
    path: "/path?q=1",
    authority: "ts1.tailnet.test:8080",
  });
  assert(wantsKeepAlive(p.value));
  assertEquals(requestFraming(p.value), { kind: "none" });
  // Serialising the parsed head gives curl's bytes back.
  assertEquals(formatRequestHead(p.value), CURL_GET);
});

Deno.test("parseRequestHead() reads curl's CONNECT", () => {
  const p = parseRequestHead(CURL_CONNECT, 0)!;
  assertEquals(p.value.method, "CONNECT");
  assertEquals(parseConnectTarget(p.value.target), { host: "ts1", port: 8080 });
  assertEquals(formatRequestHead(p.value), CURL_CONNECT);
});

Deno.test("curl's chunked POST: head, framing, and the scanner finds the body's end", () => {
  const p = parseRequestHead(CURL_POST_CHUNKED, 0)!;
  assertEquals(requestFraming(p.value), { kind: "chunked" });
  const body = CURL_POST_CHUNKED.subarray(p.end);
  assertEquals(td.decode(body), "5\r\nhello\r\n0\r\n\r\n");
  // Fed one byte at a time, then all at once with trailing bytes of the next request.
  const s1 = new ChunkedScanner();
  for (let i = 0; i < body.length; i++) {
    assert(!s1.done);
    assertEquals(s1.feed(body, i, i + 1), 1);
  }
  assert(s1.done);
  const more = new Uint8Array(body.length + 3);
  more.set(body);
  more.set(te.encode("GET"), body.length);
  const s2 = new ChunkedScanner();
  assertEquals(s2.feed(more, 0, more.length), body.length);
  assert(s2.done);
  // Proxy-Connection is hop-by-hop; Transfer-Encoding stays (the body passes through as is).
  assertEquals(stripHopByHop(p.value.headers).map(([n]) => n), [
    "Host",
    "User-Agent",
    "Accept",
    "Transfer-Encoding",
    "Content-Type",
  ]);
});

Deno.test("parseRequestHead() returns null until the head is complete", () => {
  for (let n = 0; n < CURL_GET.length; n++) {
    assertEquals(parseRequestHead(CURL_GET.subarray(0, n), 0), null);
  }
  assertEquals(findHeadEnd(te.encode("GET / HTTP/1.1\nHost: a\n\nrest"), 0), 24);
});

Deno.test("parseRequestHead() rejects garbage with 400", () => {
  const bad = [
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", // a TLS ClientHello
    "GET /\r\n\r\n",
    "GET / HTTP/2.0\r\n\r\n",
    "GET  / HTTP/1.1\r\n\r\n",
    "G(T / HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
    "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
    "GET /\x01 HTTP/1.1\r\n\r\n",
  ];
  for (const s of bad) {
    const b = Uint8Array.from(s, (c) => c.charCodeAt(0));
    const e = assertThrows(() => parseRequestHead(b, 0), HttpParseError) as HttpParseError;
    assertEquals(e.status, 400, JSON.stringify(s));
  }
});

Deno.test("requestFraming() refuses smuggling shapes", () => {
  const head = (...h: [string, string][]) => ({
    method: "POST",
    target: "http://a/",
    version: "HTTP/1.1",
    headers: h,
  });
  assertEquals(requestFraming(head(["Content-Length", "5"])), { kind: "length", length: 5 });
  assertEquals(requestFraming(head(["Content-Length", "5, 5"])), { kind: "length", length: 5 });
  assertThrows(
    () => requestFraming(head(["Content-Length", "5"], ["Content-Length", "6"])),
    HttpParseError,
  );
  assertThrows(() => requestFraming(head(["Content-Length", "-1"])), HttpParseError);
  assertThrows(
    () => requestFraming(head(["Transfer-Encoding", "chunked"], ["Content-Length", "3"])),
    HttpParseError,
  );
  const e = assertThrows(
    () => requestFraming(head(["Transfer-Encoding", "gzip, chunked"])),
    HttpParseError,
  );
  assertEquals((e as HttpParseError).status, 501);
});

Deno.test("parseResponseHead() and responseFraming() follow RFC 9112 §6.3", () => {
  const r = parseResponseHead(
    te.encode("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"),
    0,
  )!;
  assertEquals(r.value.status, 200);
  assertEquals(r.end, 57); // 17 + 19 + 19 + 2: "abc" is the body
  assertEquals(responseFraming(r.value, "GET"), { kind: "length", length: 3 });
  assertEquals(responseFraming(r.value, "HEAD"), { kind: "none" });
  assert(!wantsKeepAlive(r.value));
  const h = (status: number, ...headers: [string, string][]) => ({
    version: "HTTP/1.1",
    status,
    reason: "",
    headers,
  });
  assertEquals(responseFraming(h(204), "GET"), { kind: "none" });
  assertEquals(responseFraming(h(304, ["Content-Length", "9"]), "GET"), { kind: "none" });
  assertEquals(responseFraming(h(200), "GET"), { kind: "until-close" });
  assertEquals(responseFraming(h(200, ["Transfer-Encoding", "chunked"]), "GET"), {
    kind: "chunked",
  });
  assertEquals(parseResponseHead(te.encode("HTTP/1.0 404\r\n\r\n"), 0)!.value.reason, "");
  assertThrows(() => parseResponseHead(te.encode("SSH-2.0-OpenSSH\r\n\r\n"), 0), HttpParseError);
  assertThrows(() => parseResponseHead(te.encode("HTTP/1.1 99 x\r\n\r\n"), 0), HttpParseError);
  const out = formatResponseHead({
    version: "HTTP/1.1",
    status: 502,
    reason: "Bad Gateway",
    headers: [["A", "b"]],
  });
  assertEquals(td.decode(out), "HTTP/1.1 502 Bad Gateway\r\nA: b\r\n\r\n");
});

Deno.test("stripHopByHop() removes the fixed set and names listed in Connection", () => {
  assertEquals(
    stripHopByHop([
      ["Connection", "keep-alive, X-Secret"],
      ["X-Secret", "1"],
      ["Keep-Alive", "timeout=5"],
      ["Proxy-Authorization", "Basic x"],
      ["TE", "trailers"],
      ["Upgrade", "websocket"],
      ["Accept", "*/*"],
    ]),
    [["Accept", "*/*"]],
  );
});

Deno.test("targets: CONNECT authority and absolute URIs", () => {
  assertEquals(parseConnectTarget("[fd7a:115c:a1e0::1]:443"), {
    host: "fd7a:115c:a1e0::1",
    port: 443,
  });
  assertEquals(parseConnectTarget("100.64.0.2:22"), { host: "100.64.0.2", port: 22 });
  for (const t of ["ts1", "ts1:", "ts1:0", "ts1:65536", ":80", "[::1:80", "a b:1", "::1:80"]) {
    assertThrows(() => parseConnectTarget(t), HttpParseError, undefined);
  }
  assertEquals(parseAbsoluteTarget("http://[::1]/").port, 80);
  assertEquals(parseAbsoluteTarget("HTTPS://ts1").port, 443);
  assertEquals(parseAbsoluteTarget("http://u:p@ts1:81?x").path, "/?x");
  for (const t of ["/", "*", "ts1:80", "http://", "http://:80/"]) {
    assertThrows(() => parseAbsoluteTarget(t), HttpParseError);
  }
});

Deno.test("ChunkedScanner rejects bad sizes, missing CRLF and endless lines", () => {
  const feed = (s: string) => {
    const b = te.encode(s);
    return new ChunkedScanner().feed(b, 0, b.length);
  };
  assertThrows(() => feed("zz\r\n"), HttpParseError, "chunk size");
  assertThrows(() => feed("3\r\nabcX\r\n"), HttpParseError, "no CRLF");
  assertThrows(() => feed("1".repeat(5000)), HttpParseError, "too long");
  const ext = new ChunkedScanner();
  const b = te.encode("3;name=v\r\nabc\r\n0\r\nTrailer: x\r\n\r\n");
  assertEquals(ext.feed(b, 0, b.length), b.length);
  assert(ext.done);
});
