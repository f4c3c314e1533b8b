/**
 * Whether the lab can run here, for `Deno.test({ ignore: !labAvailable().ok })`. Every gate on a
 * lab-built program goes through here, so the cache variables (`paths.ts`), the pins
 * (`versions.ts`) and the build-failed flag that `scripts/run_tests.ts` sets are honoured alike.
 * @module
 */

import { headscaleBin, tailscaleBin, wireguardGoBin } from "./paths.ts";
import { TAILSCALE_PROGRAMS, TAILSCALE_RELEASES } from "./versions.ts";

/** Set by scripts/run_tests.ts when `deno task lab build` failed. */
export const BUILD_FAILED_ENV = "TAILNET_LAB_BUILD_FAILED";

/** The answer of the availability checks: `reason` is one line, empty when `ok`. */
export interface Availability {
  /** The programs are there and the build did not fail. */
  readonly ok: boolean;
  /** Why not, and what to run. */
  readonly reason: string;
}

/**
 * Whether the lab's programs are built and usable on this machine. When not, `reason` says why
 * in one line (and what to run), for the test report.
 * @param version tailscale release to check (default: the first pinned one)
 * @returns `ok` and the reason it is not
 */
export function labAvailable(version: string = TAILSCALE_RELEASES[0].version): Availability {
  return binariesAvailable([
    ...TAILSCALE_PROGRAMS.map((p) => tailscaleBin(p, version)),
    headscaleBin(),
  ]);
}

/**
 * Whether the pinned wireguard-go daemon is built (`deno task lab build` builds it too).
 * @returns `ok` and the reason it is not
 */
export function wireguardGoAvailable(): Availability {
  return binariesAvailable([wireguardGoBin()]);
}

/**
 * Whether lab-built programs at these paths can be run: Linux, the build did not fail, and each
 * path is a file.
 * @param bins paths from `paths.ts`
 * @returns `ok` and the reason it is not (the first missing path)
 */
export function binariesAvailable(bins: readonly string[]): Availability {
  if (Deno.build.os !== "linux") {
    return { ok: false, reason: `the interop lab runs on Linux only (this is ${Deno.build.os})` };
  }
  if (Deno.env.get(BUILD_FAILED_ENV) === "1") {
    return { ok: false, reason: "'deno task lab build' failed (see its output above)" };
  }
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
