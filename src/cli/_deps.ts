/**
 * The third-party code the CLI alone uses, in one place, pinned by a full `npm:` specifier
 * (as `src/engine/crypto/_deps.ts` pins the library's). Only `up --qr` loads it (and tests). An upgrade is
 * one edit here (then `deno install` to refresh deno.lock).
 * @module
 */
export { encodeQR } from "npm:@paulmillr/qr@0.3.0";
/** The library's reader, for tests that decode what `up --qr` prints. */
export { decodeQR } from "npm:@paulmillr/qr@0.3.0/decode.js";
