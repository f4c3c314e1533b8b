import { assert, assertEquals } from "../base/testing/assert.ts";
import { fromHex, toHex } from "../key/keys.ts";
import {
  BOX_NONCE_LEN,
  BOX_OVERHEAD,
  boxOpen,
  boxOpenPrecomputed,
  boxPrecompute,
  boxSeal,
  boxSealPrecomputed,
} from "./nacl_box.ts";
import { x25519Public } from "./x25519.ts";

interface Vector {
  senderPrivate: string;
  senderPublic: string;
  recipientPrivate: string;
  recipientPublic: string;
  sharedKey: string;
  nonce: string;
  message: string;
  sealed: string;
}

const vectors: Vector[] = JSON.parse(
  await Deno.readTextFile(
    new URL("./testing/box_vectors.json", import.meta.url),
  ),
).vectors;

Deno.test("nacl box vectors file holds vectors of many lengths", () => {
  assert(vectors.length >= 10, `only ${vectors.length} vectors`);
  assertEquals(vectors[0].message, "");
});

Deno.test("boxPrecompute() matches Go box.Precompute from both sides", () => {
  for (const v of vectors) {
    assertEquals(toHex(x25519Public(fromHex(v.senderPrivate))), v.senderPublic);
    assertEquals(
      toHex(boxPrecompute(fromHex(v.senderPrivate), fromHex(v.recipientPublic))),
      v.sharedKey,
    );
    assertEquals(
      toHex(boxPrecompute(fromHex(v.recipientPrivate), fromHex(v.senderPublic))),
      v.sharedKey,
    );
  }
});

Deno.test("boxSeal() matches Go box.Seal byte for byte (tag first)", () => {
  for (const v of vectors) {
    const sealed = boxSeal(
      fromHex(v.message),
      fromHex(v.nonce),
      fromHex(v.recipientPublic),
      fromHex(v.senderPrivate),
    );
    assertEquals(sealed.length, v.message.length / 2 + BOX_OVERHEAD);
    assertEquals(toHex(sealed), v.sealed, `message of ${v.message.length / 2} bytes`);
    assertEquals(
      toHex(boxSealPrecomputed(fromHex(v.sharedKey), fromHex(v.nonce), fromHex(v.message))),
      v.sealed,
    );
  }
});

Deno.test("boxOpen() opens Go's boxes and rejects any flipped bit", () => {
  for (const v of vectors) {
    const sealed = fromHex(v.sealed);
    const nonce = fromHex(v.nonce);
    const opened = boxOpen(sealed, nonce, fromHex(v.senderPublic), fromHex(v.recipientPrivate));
    assert(opened !== null, "vector did not open");
    assertEquals(toHex(opened), v.message);
    for (const at of [0, 15, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[at] ^= 0x01;
      assertEquals(
        boxOpen(bad, nonce, fromHex(v.senderPublic), fromHex(v.recipientPrivate)),
        null,
        `bit flip at ${at}`,
      );
    }
    const badNonce = nonce.slice();
    badNonce[BOX_NONCE_LEN - 1] ^= 0x80;
    assertEquals(boxOpenPrecomputed(fromHex(v.sharedKey), badNonce, sealed), null);
  }
});

Deno.test("boxOpenPrecomputed() returns null for input shorter than a tag", () => {
  const v = vectors[3];
  assertEquals(
    boxOpenPrecomputed(fromHex(v.sharedKey), fromHex(v.nonce), new Uint8Array(15)),
    null,
  );
  assertEquals(boxOpenPrecomputed(fromHex(v.sharedKey), fromHex(v.nonce), new Uint8Array(0)), null);
});
