/**
 * Fuzzes the HTTP proxy parsers with mutated curl captures: only ParseError may escape; a
 * parsed head must survive format and parse unchanged; the chunked scanner must find the
 * same end however the bytes are split.
 * @module
 */
import { assert, assertEquals } from "../base/testing/assert.ts";
import { ParseError } from "../base/errors.ts";
import {
  parseAbsoluteTarget,
  parseConnectTarget,
  requestFraming,
  responseFraming,
  stripHopByHop,
  wantsKeepAlive,
} from "./http_proxy_messages.ts";
import {
  formatRequestHead,
  formatResponseHead,
  parseRequestHead,
  parseResponseHead,
} from "../wire/http1_head.ts";
import { ChunkedScanner } from "./chunked_scanner.ts";
import { parserCheck, runFuzz, tryEachParser } from "./testing/fuzz.ts";

const te = new TextEncoder();
const SEEDS = [
  "GET http://ts1.tailnet.test:8080/path?q=1 HTTP/1.1\r\nHost: ts1.tailnet.test:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n",
  "CONNECT ts1:8080 HTTP/1.1\r\nHost: ts1:8080\r\nUser-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n",
  "POST http://100.64.0.2/post HTTP/1.1\r\nHost: 100.64.0.2\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n6\r\nalpha,\r\n0\r\n\r\n",
  "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
  "5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
].map((s) => te.encode(s));

function scanAll(b: Uint8Array): [number, boolean] {
  const s = new ChunkedScanner();
  const n = s.feed(b, 0, b.length);
  return [n, s.done];
}

function scanSplit(b: Uint8Array, rnd: () => number): [number, boolean] {
  const s = new ChunkedScanner();
  let off = 0;
  while (off < b.length && !s.done) {
    const end = Math.min(b.length, off + 1 + Math.floor(rnd() * 8));
    const n = s.feed(b, off, end);
    off += n;
    if (n < end - (off - n)) break;
  }
  return [off, s.done];
}

Deno.test("HTTP proxy parsers fuzz: only ParseError escapes; heads round-trip", (t) => {
  runFuzz(t, "http", SEEDS, (input, rnd) =>
    tryEachParser("http", [
      parserCheck("request head", () => {
        const h = parseRequestHead(input, 0)?.value ?? null;
        if (h === null) return null;
        // Framing and target are part of accepting a request: their ParseErrors reject it.
        wantsKeepAlive(h);
        requestFraming(h);
        if (h.method === "CONNECT") parseConnectTarget(h.target);
        else parseAbsoluteTarget(h.target);
        return h;
      }, (h) => {
        assertEquals(parseRequestHead(formatRequestHead(h), 0)!.value, h);
        stripHopByHop(h.headers);
      }),
      parserCheck("response head", () => {
        const h = parseResponseHead(input, 0)?.value ?? null;
        if (h !== null) responseFraming(h, "GET");
        return h;
      }, (h) => {
        assertEquals(parseResponseHead(formatResponseHead(h), 0)!.value, h);
      }),
      parserCheck("chunked scanner", () => {
        // Whole or split, the scanner agrees on where the body ends (or both reject).
        const run = (f: () => [number, boolean]): [number, boolean] | "error" => {
          try {
            return f();
          } catch (err) {
            if (!(err instanceof ParseError)) throw err;
            return "error";
          }
        };
        const whole = run(() => scanAll(input));
        assertEquals(run(() => scanSplit(input, rnd)), whole);
        if (whole === "error") throw new ParseError("http", "chunked body rejected");
        assert(whole[0] <= input.length);
        return whole[1] ? whole : null;
      }, () => {}),
    ]), { minShare: 0.1, ci: 100_000 });
});
