/**
 * Seal and open of one 1420-byte packet: tailnet's AEAD wrapper beside a bare node:crypto loop
 * (the ceiling), so the wrapper's overhead shows as a ratio.
 */
import { createCipheriv } from "node:crypto";
import { aeadOpen, aeadSeal } from "../src/engine/crypto/aead.ts";

const key = crypto.getRandomValues(new Uint8Array(32));
const nonce = new Uint8Array(12);
const packet = crypto.getRandomValues(new Uint8Array(1420));
const sealed = aeadSeal(key, nonce, packet);

Deno.bench("aeadSeal 1420 B", { group: "seal", baseline: false }, () => {
  aeadSeal(key, nonce, packet);
});
Deno.bench(
  "node:crypto chacha20-poly1305 1420 B (ceiling)",
  { group: "seal", baseline: true },
  () => {
    const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
    c.update(packet);
    c.final();
    c.getAuthTag();
  },
);
Deno.bench("aeadOpen 1420 B", { group: "open" }, () => {
  aeadOpen(key, nonce, sealed);
});
