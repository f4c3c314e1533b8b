/**
 * Fuzzes the HTTP/1 head parsers with mutated derper, headscale and curl heads: only
 * ParseError may escape, and a parsed head must survive format and parse unchanged.
 * @module
 */
import { assertEquals } from "../base/testing/assert.ts";
import { runFuzz } from "../base/testing/fuzz.ts";
import {
  formatRequestHead,
  formatResponseHead,
  parseRequestHead,
  parseResponseHead,
} from "./http1_head.ts";

const SEEDS = [
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\nConnection: Upgrade\r\nDerp-Version: 2\r\n\r\n",
  "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: tailscale-control-protocol\r\n\r\n",
  "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n",
  "CONNECT ts1:8080 HTTP/1.1\r\nHost: ts1:8080\r\nUser-Agent: curl/7.88.1\r\n\r\n",
].map((s) => new TextEncoder().encode(s));

Deno.test("parseResponseHead() and parseRequestHead() survive mutated heads and round-trip", (t) => {
  runFuzz(t, "http1-head", SEEDS, (input) => {
    const res = input[0] === 0x48 ? parseResponseHead(input, 0) : null; // "H"
    if (res !== null) {
      const again = parseResponseHead(formatResponseHead(res.value), 0);
      assertEquals(again?.value, res.value);
      return true;
    }
    const req = input[0] === 0x48 ? null : parseRequestHead(input, 0);
    if (req === null) return false;
    assertEquals(parseRequestHead(formatRequestHead(req.value), 0)?.value, req.value);
    return true;
  }, { minShare: 0.1, ci: 200_000 });
});
