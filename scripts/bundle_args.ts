/**
 * The one way main.ts is bundled for shipping (`deno bundle`: one minified module, names kept
 * for readable stack traces and profiles), shared by `scripts/compile.ts`, which compiles the
 * release binaries from it, and the benchmarks, which measure the same form. `deno task bundle`
 * in deno.json spells the same flags.
 * @module
 */

/**
 * `deno` arguments that bundle `main` into `output`.
 * @param main the entry module's path
 * @param output the bundle to write
 * @returns the arguments after the deno executable
 */
export function bundleArgs(main: string, output: string): string[] {
  return ["bundle", "--platform", "deno", "--minify", "--keep-names", "--output", output, main];
}
