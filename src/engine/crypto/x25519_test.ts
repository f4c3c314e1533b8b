import { assert, assertEquals, assertThrows } from "../base/testing/assert.ts";
import { fromHex, toHex } from "../key/keys.ts";
import { X25519_KEY_LEN, x25519GeneratePrivate, x25519Public, x25519Shared } from "./x25519.ts";

/** RFC 7748 §5.2: scalar, u-coordinate, expected output. */
const SCALAR_MULT_VECTORS: { name: string; k: string; u: string; out: string }[] = [
  {
    name: "RFC 7748 5.2 vector 1",
    k: "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
    u: "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
    out: "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
  },
  {
    name: "RFC 7748 5.2 vector 2",
    k: "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
    u: "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
    out: "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
  },
];

Deno.test("x25519Shared() matches the RFC 7748 scalar multiplication vectors", () => {
  for (const v of SCALAR_MULT_VECTORS) {
    assertEquals(toHex(x25519Shared(fromHex(v.k), fromHex(v.u))), v.out, v.name);
  }
});

Deno.test("x25519Shared() matches the RFC 7748 iterated vector after 1 and 1000 rounds", () => {
  let k: Uint8Array = fromHex("0900000000000000000000000000000000000000000000000000000000000000");
  let u: Uint8Array = k.slice();
  const want: Record<number, string> = {
    1: "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
    1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
  };
  for (let i = 1; i <= 1000; i++) {
    const r = x25519Shared(k, u);
    u = k;
    k = r;
    if (want[i]) assertEquals(toHex(k), want[i], `after ${i} iterations`);
  }
});

Deno.test("x25519Public() and x25519Shared() match the RFC 7748 6.1 Diffie-Hellman example", () => {
  const alicePriv = fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bobPriv = fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const alicePub = x25519Public(alicePriv);
  const bobPub = x25519Public(bobPriv);
  assertEquals(toHex(alicePub), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assertEquals(toHex(bobPub), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  assertEquals(toHex(x25519Shared(alicePriv, bobPub)), shared);
  assertEquals(toHex(x25519Shared(bobPriv, alicePub)), shared);
});

Deno.test("x25519GeneratePrivate() gives distinct keys that agree", () => {
  const a = x25519GeneratePrivate();
  const b = x25519GeneratePrivate();
  assertEquals(a.length, X25519_KEY_LEN);
  assert(toHex(a) !== toHex(b), "two random keys are equal");
  assertEquals(x25519Shared(a, x25519Public(b)), x25519Shared(b, x25519Public(a)));
});

Deno.test("x25519Shared() throws RangeError for a low-order public key", () => {
  const priv = x25519GeneratePrivate();
  // u = 0 and u = 1 are of small order: the shared secret is all zeros.
  assertThrows(() => x25519Shared(priv, new Uint8Array(32)), RangeError);
  const one = new Uint8Array(32);
  one[0] = 1;
  assertThrows(() => x25519Shared(priv, one), RangeError);
});
