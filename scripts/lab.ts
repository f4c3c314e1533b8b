// deno-lint-ignore-file no-console -- a command-line tool talks to the person running it
/**
 * `deno task lab <command>`: the interop lab for people.
 *
 * - `build`: build the pinned headscale, derper, tailscaled and tailscale into ~/.cache/tailnet-lab
 *   (a cache hit costs nothing). Exits 1 with one line when Go is missing or too old.
 * - `up [--nodes N]`: start a lab in the foreground, print how to reach it; Ctrl-C tears it down.
 * - `down`: stop and remove whatever a killed lab left behind (from the registry of running labs).
 * @module
 */

import { buildLabTools, LabBuildError } from "../tests/lab/build.ts";

if (!import.meta.main) throw new Error("scripts/lab.ts is a program, not a module");

const USAGE = "usage: deno task lab build [--force] | up [--nodes N] | down";

const [command, ...rest] = Deno.args;
switch (command) {
  case "build":
    Deno.exit(await build(rest));
    break;
  default:
    console.error(USAGE);
    Deno.exit(2);
}

async function build(args: string[]): Promise<number> {
  const force = args.includes("--force");
  const t0 = performance.now();
  try {
    const outcomes = await buildLabTools({ force, log: (l) => console.error(l) });
    for (const o of outcomes) {
      const how = o.cached ? "cached" : `built in ${(o.ms / 1000).toFixed(1)} s`;
      console.error(`lab build: ${o.name} ${o.version} ${how}: ${o.binDir}`);
    }
    console.error(`lab build: done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    return 0;
  } catch (err) {
    if (err instanceof LabBuildError) {
      console.error(`lab build: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
