/**
 * Facts stamped in at build time. `scripts/compile.ts` rewrites this file for a release
 * build and restores it afterwards; a source checkout has no commit here.
 * @module
 */

/** The git commit the binary was built from, or "" when unknown. */
export const BUILD_COMMIT = "";
