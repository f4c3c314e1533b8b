/**
 * Seal and open of one 1420-byte packet: tailnet's AEAD wrapper beside a bare node:crypto loop
 * (the ceiling), so the wrapper's overhead shows as a ratio.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from "node:crypto";
import { aeadOpen, aeadSeal } from "../src/engine/crypto/aead.ts";
import { Keypair } from "../src/engine/wg/keypair.ts";
import { TAG_LEN, TRANSPORT_HEADER_LEN } from "../src/engine/wg/messages.ts";

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

// The WireGuard transport path: a Keypair seals in place and opens a whole transport message.
// Beside it, the same seal with the key as a KeyObject (what Keypair held before): node:crypto
// then exports the secret again on every call.
const keypair = new Keypair(key, key, 0, true, 1, 2);
const transport = new Uint8Array(TRANSPORT_HEADER_LEN + 1420 + TAG_LEN);
transport.set(packet, TRANSPORT_HEADER_LEN);
const sealedTransport = transport.slice();
keypair.sealInPlace(nonce, sealedTransport, TRANSPORT_HEADER_LEN, 1420);
const keyObject = createSecretKey(key);

Deno.bench("Keypair.sealInPlace 1420 B", { group: "keypair seal", baseline: true }, () => {
  keypair.sealInPlace(nonce, transport, TRANSPORT_HEADER_LEN, 1420);
});
Deno.bench("seal with a KeyObject key 1420 B (before)", { group: "keypair seal" }, () => {
  const c = createCipheriv("chacha20-poly1305", keyObject, nonce, { authTagLength: 16 });
  transport.set(c.update(transport.subarray(TRANSPORT_HEADER_LEN, TRANSPORT_HEADER_LEN + 1420)));
  c.final();
  c.getAuthTag();
});
Deno.bench("Keypair.open 1420 B", { group: "keypair open", baseline: true }, () => {
  if (keypair.open(nonce, sealedTransport) === null) throw new Error("open failed");
});
Deno.bench("open with a KeyObject key 1420 B (before)", { group: "keypair open" }, () => {
  const end = sealedTransport.length - TAG_LEN;
  const d = createDecipheriv("chacha20-poly1305", keyObject, nonce, { authTagLength: 16 });
  d.setAuthTag(sealedTransport.subarray(end));
  d.update(sealedTransport.subarray(TRANSPORT_HEADER_LEN, end));
  d.final();
});
