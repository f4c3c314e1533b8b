import { assert, assertEquals } from "../base/testing/assert.ts";
import { generatePrivate, publicOf } from "../key/keys.ts";
import { COOKIE_REFRESH_TIME_MS } from "./constants.ts";
import { CookieChecker, CookieGenerator } from "./cookie.ts";
import { INITIATION_LEN, MSG_INITIATION } from "./messages.ts";

const random = (b: Uint8Array) => void crypto.getRandomValues(b);

function fixture() {
  const responder = publicOf(generatePrivate("node"));
  const checker = new CookieChecker(responder, random);
  const gen = new CookieGenerator(responder);
  const msg = () => {
    const m = crypto.getRandomValues(new Uint8Array(INITIATION_LEN));
    m.set([MSG_INITIATION, 0, 0, 0]);
    return m;
  };
  return { checker, gen, msg, src: new Uint8Array([192, 0, 2, 7, 0x51, 0xca]) };
}

Deno.test("CookieGenerator.addMacs() writes a MAC1 the checker accepts, and zero MAC2 without a cookie", () => {
  const { checker, gen, msg } = fixture();
  const m = msg();
  gen.addMacs(m, 0);
  assert(checker.checkMac1(m));
  assertEquals(m.subarray(132), new Uint8Array(16));
  m[10] ^= 1;
  assert(!checker.checkMac1(m), "MAC1 survives a flipped bit");
  const other = new CookieChecker(publicOf(generatePrivate("node")), random);
  m[10] ^= 1;
  assert(!other.checkMac1(m), "MAC1 is bound to the receiver's key");
});

Deno.test("cookie round trip: reply, consume, MAC2 accepted for the same source only", () => {
  const { checker, gen, msg, src } = fixture();
  const first = msg();
  gen.addMacs(first, 0);
  assert(!checker.checkMac2(first, src, 0));
  const reply = checker.createReply(first, 0x01020304, src, 0);
  assertEquals(reply.length, 64);
  assertEquals([...reply.subarray(0, 8)], [3, 0, 0, 0, 4, 3, 2, 1]);
  assert(gen.consumeReply(reply, 0));
  const second = msg();
  gen.addMacs(second, 1000);
  assert(checker.checkMac1(second));
  assert(checker.checkMac2(second, src, 1000));
  assert(
    !checker.checkMac2(second, new Uint8Array([192, 0, 2, 8, 0x51, 0xca]), 1000),
    "other source",
  );
  const tampered = reply.slice();
  tampered[40] ^= 1;
  assert(!gen.consumeReply(tampered, 0), "tampered reply accepted");
});

Deno.test("CookieChecker rotates its secret after two minutes and old cookies stop working", () => {
  const { checker, gen, msg, src } = fixture();
  const first = msg();
  gen.addMacs(first, 0);
  assert(gen.consumeReply(checker.createReply(first, 1, src, 0), 0));
  const m = msg();
  gen.addMacs(m, COOKIE_REFRESH_TIME_MS - 1);
  assert(checker.checkMac2(m, src, COOKIE_REFRESH_TIME_MS), "within two minutes");
  assert(!checker.checkMac2(m, src, COOKIE_REFRESH_TIME_MS + 1), "secret expired");
  // A new reply rotates the secret: the cookie from the old one no longer verifies.
  const later = COOKIE_REFRESH_TIME_MS + 1;
  const fresh = msg();
  gen.addMacs(fresh, later);
  checker.createReply(fresh, 1, src, later);
  assert(!checker.checkMac2(m, src, later), "old cookie valid under the new secret");
  // And the generator drops its own cookie after two minutes: MAC2 goes back to zero.
  const stale = msg();
  gen.addMacs(stale, COOKIE_REFRESH_TIME_MS + 1);
  assertEquals(stale.subarray(132), new Uint8Array(16));
});
