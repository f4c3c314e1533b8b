import { assertEquals } from "../base/testing/assert.ts";
import { fromHex, toHex } from "../key/keys.ts";
import { AEAD_TAG_LEN, aeadOpen, aeadSeal, xaeadOpen, xaeadSeal } from "./aead.ts";

const SUNSCREEN = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);

/** RFC 8439 §2.8.2 and the XChaCha20-Poly1305 draft (draft-irtf-cfrg-xchacha-03 §A.3.1). */
const VECTORS = [
  {
    name: "RFC 8439 2.8.2",
    x: false,
    key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    nonce: "070000004041424344454647",
    ad: "50515253c0c1c2c3c4c5c6c7",
    ct: "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
      "3ff4def08e4b7a9de576d26586cec64b6116",
    tag: "1ae10b594f09e26a7e902ecbd0600691",
  },
  {
    name: "draft-irtf-cfrg-xchacha A.3.1",
    x: true,
    key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    nonce: "404142434445464748494a4b4c4d4e4f5051525354555657",
    ad: "50515253c0c1c2c3c4c5c6c7",
    ct: "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb" +
      "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452" +
      "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9" +
      "21f9664c97637da9768812f615c68b13b52e",
    tag: "c0875924c1c7987947deafd8780acf49",
  },
];

Deno.test("aeadSeal()/xaeadSeal() produce the published ciphertext and tag", () => {
  for (const v of VECTORS) {
    const seal = v.x ? xaeadSeal : aeadSeal;
    const out = seal(fromHex(v.key), fromHex(v.nonce), SUNSCREEN, fromHex(v.ad));
    assertEquals(toHex(out), v.ct + v.tag, v.name);
  }
});

Deno.test("aeadOpen()/xaeadOpen() recover the plaintext of the published vectors", () => {
  for (const v of VECTORS) {
    const open = v.x ? xaeadOpen : aeadOpen;
    const pt = open(fromHex(v.key), fromHex(v.nonce), fromHex(v.ct + v.tag), fromHex(v.ad));
    assertEquals(pt, SUNSCREEN, v.name);
  }
});

Deno.test("aeadOpen() returns null for a flipped bit, wrong AD, wrong nonce or short input", () => {
  const v = VECTORS[0];
  const key = fromHex(v.key);
  const nonce = fromHex(v.nonce);
  const ad = fromHex(v.ad);
  const sealed = fromHex(v.ct + v.tag);
  for (let bit = 0; bit < sealed.length * 8; bit += 37) {
    const bad = sealed.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    assertEquals(aeadOpen(key, nonce, bad, ad), null, `bit ${bit}`);
  }
  assertEquals(aeadOpen(key, nonce, sealed, new Uint8Array(0)), null, "missing AD");
  const otherNonce = nonce.slice();
  otherNonce[11] ^= 1;
  assertEquals(aeadOpen(key, otherNonce, sealed, ad), null, "nonce");
  assertEquals(aeadOpen(key, nonce, sealed.subarray(0, AEAD_TAG_LEN - 1), ad), null, "short");
  const xv = VECTORS[1];
  const xbad = fromHex(xv.ct + xv.tag);
  xbad[0] ^= 0x80;
  assertEquals(xaeadOpen(fromHex(xv.key), fromHex(xv.nonce), xbad, fromHex(xv.ad)), null);
});

Deno.test("aeadSeal() of empty plaintext is a bare tag that opens to empty", () => {
  const key = new Uint8Array(32).fill(7);
  const nonce = new Uint8Array(12);
  const sealed = aeadSeal(key, nonce, new Uint8Array(0));
  assertEquals(sealed.length, AEAD_TAG_LEN);
  assertEquals(aeadOpen(key, nonce, sealed), new Uint8Array(0));
  const withAd = aeadSeal(key, nonce, new Uint8Array(0), new Uint8Array([1, 2, 3]));
  assertEquals(aeadOpen(key, nonce, withAd, new Uint8Array([1, 2, 3])), new Uint8Array(0));
  assertEquals(aeadOpen(key, nonce, withAd), null);
});
