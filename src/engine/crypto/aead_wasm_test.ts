import { assert, assertEquals } from "../base/testing/assert.ts";
import { fromHex, toHex } from "../key/keys.ts";
import { aeadOpen, aeadSeal } from "./aead.ts";
import { WASM_AEAD_MAX, WasmAead } from "./aead_wasm.ts";

// node:crypto, through aead.ts's wrappers (empty associated data), is the independent
// implementation checked against.
const nodeSeal = (key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): Uint8Array =>
  aeadSeal(key, nonce, plain);
const nodeOpens = (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): boolean =>
  aeadOpen(key, nonce, sealed) !== null;

/** Seals a copy of `plain` placed at `off` in a larger buffer; returns ciphertext and tag. */
function wasmSeal(
  aead: WasmAead,
  key: Uint8Array,
  nonce: Uint8Array,
  plain: Uint8Array,
  off = 16,
): Uint8Array {
  const buf = new Uint8Array(off + plain.length + 16 + 8).fill(0xa5);
  buf.set(plain, off);
  assert(aead.sealInPlace(key, nonce, buf, off, plain.length));
  // Nothing outside the message and its tag is touched.
  assert(buf.subarray(0, off).every((b) => b === 0xa5));
  assert(buf.subarray(off + plain.length + 16).every((b) => b === 0xa5));
  return buf.slice(off, off + plain.length + 16);
}

const random = (n: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
};

Deno.test("WasmAead seals RFC 8439 §2.8.2's plaintext to its published ciphertext", () => {
  // The ciphertext does not depend on the associated data, which this AEAD does not take, so
  // the vector's ciphertext holds; its tag (made with associated data) cannot, and node:crypto
  // gives the tag without any.
  const key = fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const nonce = fromHex("070000004041424344454647");
  const plain = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const sealed = wasmSeal(new WasmAead(), key, nonce, plain);
  assertEquals(
    toHex(sealed.subarray(0, plain.length)),
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
      "3ff4def08e4b7a9de576d26586cec64b6116",
  );
  assertEquals(toHex(sealed), toHex(nodeSeal(key, nonce, plain)));
});

Deno.test("WasmAead matches node:crypto at every length across the block sizes", () => {
  // 0..600 crosses the 16-byte Poly1305 blocks, the 64-byte ChaCha20 blocks and the 256-byte
  // four-block path twice; the longer ones are packet and message sizes.
  const aead = new WasmAead();
  const lengths = [...Array(601).keys(), 1420, 1440, 4096 + 7, 65507, WASM_AEAD_MAX];
  for (const len of lengths) {
    const key = random(32);
    const nonce = random(12);
    const plain = random(len);
    const sealed = wasmSeal(aead, key, nonce, plain);
    const want = nodeSeal(key, nonce, plain);
    if (toHex(sealed) !== toHex(want)) throw new Error(`seal differs at length ${len}`);
    const opened = aead.open(key, nonce, sealed);
    if (opened === null || opened === undefined || toHex(opened) !== toHex(plain)) {
      throw new Error(`open failed at length ${len}`);
    }
  }
});

Deno.test("WasmAead's tags verify for chosen extreme ciphertexts", () => {
  // Ciphertexts of all-ones bytes push the Poly1305 accumulator to its largest values before
  // each reduction; all-zero ones add nothing but the high bits. The plaintext that seals to a
  // chosen ciphertext is that ciphertext XOR the key stream (the seal of zeros).
  const aead = new WasmAead();
  for (const fill of [0x00, 0xff, 0x80]) {
    for (const len of [1, 15, 16, 17, 64, 256, 1420]) {
      const key = random(32);
      const nonce = random(12);
      const stream = nodeSeal(key, nonce, new Uint8Array(len)).subarray(0, len);
      const plain = stream.map((k) => k ^ fill);
      const sealed = wasmSeal(aead, key, nonce, plain);
      assert(sealed.subarray(0, len).every((b) => b === fill));
      assert(nodeOpens(key, nonce, sealed), `fill ${fill} length ${len}`);
    }
  }
});

Deno.test("WasmAead.open() refuses any flipped bit, a short message, and the wrong key or nonce", () => {
  const aead = new WasmAead();
  const key = random(32);
  const nonce = random(12);
  const plain = random(100);
  const sealed = wasmSeal(aead, key, nonce, plain);
  for (let bit = 0; bit < sealed.length * 8; bit += 7) {
    const bad = sealed.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    assertEquals(aead.open(key, nonce, bad), null, `bit ${bit}`);
  }
  assertEquals(aead.open(key, nonce, sealed.subarray(0, 15)), null);
  const otherKey = key.slice();
  otherKey[31] ^= 1;
  assertEquals(aead.open(otherKey, nonce, sealed), null);
  const otherNonce = nonce.slice();
  otherNonce[0] ^= 1;
  assertEquals(aead.open(key, otherNonce, sealed), null);
  // The tag alone (an empty message) opens to nothing.
  const empty = wasmSeal(aead, key, nonce, new Uint8Array(0));
  assertEquals(aead.open(key, nonce, empty)?.length, 0);
  // And it still opens the good one after all that.
  assertEquals(toHex(aead.open(key, nonce, sealed) ?? new Uint8Array(0)), toHex(plain));
});

Deno.test("WasmAead refuses a message longer than its memory instead of cutting it", () => {
  const aead = new WasmAead();
  const key = random(32);
  const nonce = random(12);
  const buf = new Uint8Array(WASM_AEAD_MAX + 1 + 16);
  assertEquals(aead.sealInPlace(key, nonce, buf, 0, WASM_AEAD_MAX + 1), false);
  assert(buf.every((b) => b === 0));
  assertEquals(aead.open(key, nonce, buf), undefined);
});

Deno.test("two WasmAead instances share no state", () => {
  const a = new WasmAead();
  const b = new WasmAead();
  const keyA = random(32);
  const keyB = random(32);
  const nonce = random(12);
  const plain = random(300);
  const sealedA = wasmSeal(a, keyA, nonce, plain);
  wasmSeal(b, keyB, nonce, random(1000));
  assertEquals(toHex(a.open(keyA, nonce, sealedA) ?? new Uint8Array(0)), toHex(plain));
  assertEquals(b.open(keyB, nonce, sealedA), null);
});
