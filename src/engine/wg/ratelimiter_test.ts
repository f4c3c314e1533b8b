import { assert, assertEquals } from "../base/testing/assert.ts";
import { RateLimiter, sourceIp } from "./ratelimiter.ts";

const IP_A = new Uint8Array([192, 0, 2, 1]);
const IP_B = new Uint8Array([192, 0, 2, 2]);

Deno.test("RateLimiter.allow() passes a burst then 20 per second, per source, as wireguard-go", () => {
  const r = new RateLimiter();
  const burst = Array.from({ length: 7 }, () => r.allow(IP_A, 0));
  // wireguard-go starts a new source at max − cost and needs strictly more than one cost
  // left to pass: of the nominal burst of 5, four pass at once.
  assertEquals(burst, [true, true, true, true, false, false, false]);
  assertEquals(r.allow(IP_B, 0), true, "other source unaffected");
  assertEquals(r.allow(IP_A, 50), true, "one cost refilled after 50 ms");
  assertEquals(r.allow(IP_A, 50), false);
  let passed = 0;
  for (let t = 1000; t < 3000; t += 5) if (r.allow(IP_A, t)) passed++;
  assert(Math.abs(passed - 40) <= 5, `passed ${passed} in 2 s`);
});

Deno.test("RateLimiter forgets sources idle for more than a second", () => {
  const r = new RateLimiter();
  r.allow(IP_A, 0);
  r.allow(IP_B, 900);
  r.allow(IP_B, 1500);
  assertEquals(r.size, 1);
});

Deno.test("sourceIp() strips the port from IPv4 and IPv6 endpoint bytes", () => {
  assertEquals(sourceIp(new Uint8Array([1, 2, 3, 4, 5, 6])), new Uint8Array([1, 2, 3, 4]));
  assertEquals(sourceIp(new Uint8Array(18).fill(7)).length, 16);
  assertEquals(sourceIp(new Uint8Array([9, 9, 9])).length, 3);
});
