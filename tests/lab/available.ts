/**
 * Whether the lab can run here, for `Deno.test({ ignore: !labAvailable().ok })`.
 * @module
 */

import { headscaleBin, tailscaleBin } from "./paths.ts";
import { TAILSCALE_PROGRAMS, TAILSCALE_RELEASES } from "./versions.ts";

/** Set by scripts/run_tests.ts when `deno task lab build` failed. */
export const BUILD_FAILED_ENV = "TAILNET_LAB_BUILD_FAILED";

/**
 * Whether the lab's programs are built and usable on this machine. When not, `reason` says why
 * in one line (and what to run), for the test report.
 * @param version tailscale release to check (default: the first pinned one)
 * @returns `ok` and the reason it is not
 */
export function labAvailable(
  version: string = TAILSCALE_RELEASES[0].version,
): { ok: boolean; reason: string } {
  if (Deno.build.os !== "linux") {
    return { ok: false, reason: `the interop lab runs on Linux only (this is ${Deno.build.os})` };
  }
  if (Deno.env.get(BUILD_FAILED_ENV) === "1") {
    return { ok: false, reason: "'deno task lab build' failed (see its output above)" };
  }
  const bins = [...TAILSCALE_PROGRAMS.map((p) => tailscaleBin(p, version)), headscaleBin()];
  for (const b of bins) {
    try {
      if (Deno.statSync(b).isFile) continue;
    } catch {
      // Missing: reported below.
    }
    return { ok: false, reason: `${b} is missing: run 'deno task lab build' (needs Go)` };
  }
  return { ok: true, reason: "" };
}
