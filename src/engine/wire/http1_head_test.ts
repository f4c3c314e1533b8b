import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import {
  findHeadEnd,
  formatRequestHead,
  formatResponseHead,
  headerValues,
  HttpParseError,
  parseRequestHead,
  parseResponseHead,
} from "./http1_head.ts";
import { NOISE_SESSION } from "../crypto/testing/noise_session.ts";

const te = new TextEncoder();

/** derper v1.98.10's answer to `GET /derp` (key from the lab's derper). */
const DERPER_101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n" +
  "Derp-Version: 2\r\nDerp-Public-Key: 437a52bba91f97c56c48353f385c9ed4b88663f90d8626055a2a99645e218938\r\n\r\n";

/** headscale v0.29.2's answer to the ts2021 upgrade, as captured (without its blank line). */
const HEADSCALE_101 = NOISE_SESSION.upgradeResponseHead + "\r\n\r\n";

Deno.test("parseResponseHead() reads derper's 101 and ends before the first frame", () => {
  const b = new Uint8Array([...te.encode(DERPER_101), 1, 0, 0, 0, 40]);
  const p = parseResponseHead(b, 0)!;
  assertEquals(p.end, b.length - 5);
  assertEquals([p.value.version, p.value.status, p.value.reason], [
    "HTTP/1.1",
    101,
    "Switching Protocols",
  ]);
  assertEquals(headerValues(p.value.headers, "derp-version"), ["2"]);
});

Deno.test("parseResponseHead() reads headscale's ts2021 101 at an offset", () => {
  const b = new Uint8Array([7, 7, 7, ...te.encode(HEADSCALE_101)]);
  const p = parseResponseHead(b, 3)!;
  assertEquals(p.end, b.length);
  assertEquals(headerValues(p.value.headers, "UPGRADE"), ["tailscale-control-protocol"]);
});

Deno.test("parseResponseHead() waits for the blank line and rejects what is not HTTP", () => {
  assertEquals(parseResponseHead(te.encode(DERPER_101.slice(0, 40)), 0), null);
  assertEquals(parseResponseHead(te.encode("HTT"), 0), null);
  const e = assertThrows(
    () => parseResponseHead(te.encode("SSH-2.0-x\r\n\r\n"), 0),
    HttpParseError,
  );
  assertEquals((e as HttpParseError).status, 502);
  assertThrows(() => parseResponseHead(te.encode("HTTP/1.1 101 OK\r\n Folded: x\r\n\r\n"), 0));
});

Deno.test("findHeadEnd() takes CRLF or bare LF line ends", () => {
  assertEquals(findHeadEnd(te.encode("HTTP/1.1 200 OK\r\n\r\nbody"), 0), 19);
  assertEquals(findHeadEnd(te.encode("HTTP/1.1 200 OK\n\nbody"), 0), 17);
  assertEquals(findHeadEnd(te.encode("HTTP/1.1 200 OK\r\n"), 0), -1);
});

Deno.test("formatResponseHead() writes derper's 101 byte for byte", () => {
  const p = parseResponseHead(te.encode(DERPER_101), 0)!;
  assertEquals(formatResponseHead(p.value), te.encode(DERPER_101));
});

Deno.test("formatRequestHead() and parseRequestHead() round-trip curl's proxy request", () => {
  const req = "GET http://ts1:8080/p HTTP/1.1\r\nHost: ts1:8080\r\nUser-Agent: curl/7.88.1\r\n\r\n";
  const p = parseRequestHead(te.encode(req), 0)!;
  assertEquals(p.value.method, "GET");
  assertEquals(formatRequestHead(p.value), te.encode(req));
  assert(p.end === req.length);
});
