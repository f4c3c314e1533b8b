/**
 * Seal and open of one packet: tailnet's node:crypto AEAD wrapper (handshakes, control) beside
 * a bare node:crypto loop, and WireGuard's transport path (WebAssembly) beside node:crypto.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { aeadOpen, aeadSeal } from "../src/engine/crypto/aead.ts";
import { WasmAead } from "../src/engine/crypto/aead_wasm.ts";
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

// The WireGuard transport path: a Keypair seals in place and opens a whole transport message,
// through the device's WebAssembly AEAD. Beside it, the same seal and open through node:crypto
// with raw key bytes (what Keypair did before): its per-call cost is what the wasm removes.
const aead = new WasmAead();
const keypair = new Keypair(key, key, 0, true, 1, 2);
for (const size of [1420, 64]) {
  const transport = new Uint8Array(TRANSPORT_HEADER_LEN + size + TAG_LEN);
  transport.set(packet.subarray(0, size), TRANSPORT_HEADER_LEN);
  const sealedTransport = transport.slice();
  keypair.sealInPlace(aead, nonce, sealedTransport, TRANSPORT_HEADER_LEN, size);
  const end = sealedTransport.length - TAG_LEN;

  Deno.bench(`Keypair.sealInPlace ${size} B`, { group: `keypair seal ${size}` }, () => {
    keypair.sealInPlace(aead, nonce, transport, TRANSPORT_HEADER_LEN, size);
  });
  Deno.bench(
    `node:crypto seal in place ${size} B (before)`,
    { group: `keypair seal ${size}`, baseline: true },
    () => {
      const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
      transport.set(
        c.update(transport.subarray(TRANSPORT_HEADER_LEN, TRANSPORT_HEADER_LEN + size)),
      );
      c.final();
      transport.set(c.getAuthTag(), TRANSPORT_HEADER_LEN + size);
    },
  );
  Deno.bench(`Keypair.open ${size} B`, { group: `keypair open ${size}` }, () => {
    if (keypair.open(aead, nonce, sealedTransport) === null) throw new Error("open failed");
  });
  Deno.bench(
    `node:crypto open ${size} B (before)`,
    { group: `keypair open ${size}`, baseline: true },
    () => {
      const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
      d.setAuthTag(sealedTransport.subarray(end));
      d.update(sealedTransport.subarray(TRANSPORT_HEADER_LEN, end));
      d.final();
    },
  );
}
