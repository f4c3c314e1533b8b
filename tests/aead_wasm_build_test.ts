/**
 * The committed WebAssembly AEAD is what `scripts/gen_aead_wasm.ts` builds from its text: an
 * edit to the generator that was not followed by running it fails here.
 */
import { assertEquals } from "../src/engine/base/testing/assert.ts";
import { AEAD_WASM_BASE64 } from "../src/engine/crypto/_aead_wasm_bytes.ts";
import { buildAeadWasm, bytesModule } from "../scripts/gen_aead_wasm.ts";

Deno.test("src/engine/crypto/_aead_wasm_bytes.ts is what scripts/gen_aead_wasm.ts builds", async () => {
  const built = await buildAeadWasm();
  const committed = Uint8Array.from(atob(AEAD_WASM_BASE64), (c) => c.charCodeAt(0));
  assertEquals(committed.length, built.length, "run: deno run -A scripts/gen_aead_wasm.ts");
  assertEquals(btoa(String.fromCharCode(...committed)), btoa(String.fromCharCode(...built)));
  const file = await Deno.readTextFile(
    new URL("../src/engine/crypto/_aead_wasm_bytes.ts", import.meta.url),
  );
  assertEquals(file, bytesModule(built));
});
