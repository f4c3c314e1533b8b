/**
 * The form we ship: the release binaries are compiled from one minified bundle of main.ts
 * (`scripts/compile.ts`, `deno task bundle`), not from the module graph `deno run main.ts`
 * loads. Benchmarks build that bundle and run it under `deno run` with the daemon's flags (no
 * denort runtime is needed for that, where `deno compile` needs one): its memory and start-up
 * are the binary's, not the sources'.
 * @module
 */
import { bundleArgs } from "../scripts/bundle_args.ts";
import { runCommand } from "../tests/lab/run_command.ts";
import { runTailnet } from "../tests/lab/tailnet_process.ts";

/** A built bundle in a temp dir; disposing removes it. */
export interface ShippedBundle extends AsyncDisposable {
  /** The bundle's path. */
  readonly path: string;
}

/**
 * Builds the minified bundle of main.ts as `deno task bundle` does, into a temp dir.
 * @returns the bundle
 */
export async function buildShippedBundle(): Promise<ShippedBundle> {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-bundle-" });
  const path = `${dir}/tailnet.js`;
  const built = await runCommand(Deno.execPath(), {
    args: bundleArgs(new URL("../main.ts", import.meta.url).pathname, path),
  }, 120_000);
  if (built.code !== 0) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`deno bundle: ${built.stderr.trim().split("\n")[0]}`);
  }
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * Makes the lab run `bundle` wherever it runs our program (`TAILNET_LAB_MAIN`), after one run
 * of `tailnet version` from it: that fills Deno's V8 code cache for the new file, as the first
 * run of an installed binary does (a cold start compiles everything and keeps more).
 * @param bundle the bundle to run
 */
export async function runLabFrom(bundle: ShippedBundle): Promise<void> {
  Deno.env.set("TAILNET_LAB_MAIN", bundle.path);
  const r = await runTailnet(["version"]);
  if (r.code !== 0) throw new Error(`the bundle does not run: ${r.stderr.trim()}`);
}
