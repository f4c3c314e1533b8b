/**
 * Where the lab keeps things: the build cache (`~/.cache/tailnet-lab`, or `$TAILNET_LAB_CACHE`),
 * one folder per pinned release whose name holds the version, Go's own caches, and the registry
 * of running labs that `deno task lab down` reads.
 *
 * ```
 * ~/.cache/tailnet-lab/
 *   ts-v1.98.10/bin/{tailscaled,tailscale,derper,.stamp}
 *   hs-v0.29.2/bin/{headscale,.stamp}
 *   wg-v0.0.0-…/bin/{wireguard,.stamp}   wireguard-go, for tests/interop/wireguard_go_test.ts
 *   go/mod  go/build          GOMODCACHE, GOCACHE
 *   run/<lab id>.json         one file per running lab (PIDs, work dir, ports)
 *   run/ports/<port>          a port some running lab holds
 * ```
 * @module
 */

import { join } from "node:path";
import {
  HEADSCALE_RELEASE,
  TAILSCALE_RELEASES,
  type TailscaleProgram,
  WIREGUARD_GO_PROGRAM,
  WIREGUARD_GO_RELEASE,
} from "./versions.ts";

/** Environment variable that moves the whole cache (used to time a cold build). */
export const CACHE_ENV = "TAILNET_LAB_CACHE";

/** The lab's cache root: `$TAILNET_LAB_CACHE`, else `$XDG_CACHE_HOME/tailnet-lab`, else `~/.cache/tailnet-lab`. */
export function cacheRoot(): string {
  const explicit = Deno.env.get(CACHE_ENV);
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "tailnet-lab");
  const home = Deno.env.get("HOME");
  if (!home) throw new TypeError("Cannot find the lab cache: HOME is not set");
  return join(home, ".cache", "tailnet-lab");
}

/** Folder holding the binaries of one tailscale release. @param version e.g. "v1.98.10" */
export function tailscaleBinDir(version: string): string {
  return join(cacheRoot(), `ts-${version}`, "bin");
}

/** Folder holding the headscale binary of one release. @param version e.g. "v0.29.2" */
export function headscaleBinDir(version: string = HEADSCALE_RELEASE.version): string {
  return join(cacheRoot(), `hs-${version}`, "bin");
}

/**
 * Path of a tailscale program.
 * @param program tailscaled, tailscale or derper
 * @param version release, the default (first) one unless given
 */
export function tailscaleBin(
  program: TailscaleProgram,
  version: string = TAILSCALE_RELEASES[0].version,
): string {
  return join(tailscaleBinDir(version), program);
}

/** Path of the headscale binary. @param version release, the pinned one unless given */
export function headscaleBin(version: string = HEADSCALE_RELEASE.version): string {
  return join(headscaleBinDir(version), "headscale");
}

/** Folder holding the wireguard-go binary of one commit. @param version its pseudo-version */
export function wireguardGoBinDir(version: string = WIREGUARD_GO_RELEASE.version): string {
  return join(cacheRoot(), `wg-${version}`, "bin");
}

/** Path of the wireguard-go daemon. @param version its pseudo-version, the pinned one if none */
export function wireguardGoBin(version: string = WIREGUARD_GO_RELEASE.version): string {
  return join(wireguardGoBinDir(version), WIREGUARD_GO_PROGRAM);
}

/** GOMODCACHE and GOCACHE for lab builds, both under the cache root. */
export function goCaches(): { GOMODCACHE: string; GOCACHE: string } {
  return { GOMODCACHE: join(cacheRoot(), "go", "mod"), GOCACHE: join(cacheRoot(), "go", "build") };
}

/** Folder of the running-labs registry. */
export function runDir(): string {
  return join(cacheRoot(), "run");
}

/** Folder of port claims shared by all labs on this machine. */
export function portsDir(): string {
  return join(runDir(), "ports");
}

/** Name of the stamp file written beside binaries that were built (or checked) completely. */
export const STAMP_FILE = ".stamp";
