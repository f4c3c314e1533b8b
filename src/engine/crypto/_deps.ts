/**
 * The third-party code tailnet runs on, in one place: the audited @noble primitives, pinned by
 * full `npm:` specifiers. Written out in full rather than through an import map because Deno
 * applies an import map only to the project that declares it: a program that imports our
 * `mod.ts` by path or URL, or from JSR, resolves these specifiers on its own. An upgrade is one
 * edit here (then `deno install` to refresh deno.lock).
 * @module
 */
export { xchacha20poly1305 } from "npm:@noble/ciphers@2.4.0/chacha.js";
export { hsalsa, xsalsa20poly1305 } from "npm:@noble/ciphers@2.4.0/salsa.js";
export { blake2s } from "npm:@noble/hashes@2.4.0/blake2.js";
export { hmac } from "npm:@noble/hashes@2.4.0/hmac.js";
