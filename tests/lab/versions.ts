/**
 * The one place that pins the interop lab's real programs. `deno task lab build` builds every
 * row below (tailscale, headscale and wireguard-go); the lab runs the first tailscale row unless
 * asked for another (`Lab.start({ tailscaleVersion: "v1.102.5" })`). A newer tailscale column is
 * one more line in {@linkcode TAILSCALE_RELEASES}.
 *
 * @example Pick the default tailscale release
 * ```ts
 * import { TAILSCALE_RELEASES } from "./versions.ts";
 * if (!TAILSCALE_RELEASES[0].version.startsWith("v")) throw new Error("bad pin");
 * ```
 * @module
 */

/** One pinned release of a Go module the lab builds with `go install`/`go build`. */
export interface GoRelease {
  /** Module version tag, e.g. "v1.98.10". */
  readonly version: string;
  /** The `go` line of the module's go.mod: the oldest Go toolchain that builds it. */
  readonly minGo: string;
}

/** A pinned tailscale release: tailscaled, the tailscale CLI and derper come from it. */
export interface TailscaleRelease extends GoRelease {
  /** `tailcfg.CurrentCapabilityVersion` of this release. */
  readonly capabilityVersion: number;
}

/** tailscale.com releases, the default first. Add a column with one line. */
export const TAILSCALE_RELEASES: readonly TailscaleRelease[] = [
  { version: "v1.98.10", minGo: "1.26.5", capabilityVersion: 138 },
  // The newest release the module proxy serves here that Go 1.26.8 builds.
  { version: "v1.102.5", minGo: "1.26.6", capabilityVersion: 142 },
];

/** The headscale release the lab's control server is built from. */
export const HEADSCALE_RELEASE: GoRelease = { version: "v0.29.2", minGo: "1.26.4" };

/**
 * The wireguard-go commit the interop test runs against (a pseudo-version: wireguard-go tags no
 * releases on the module proxy). Its `version.go` says "0.0.20230223" for every commit, so the
 * pin cannot be checked by asking the binary.
 */
export const WIREGUARD_GO_RELEASE: GoRelease = {
  version: "v0.0.0-20260522210424-ecfc5a8d5446",
  minGo: "1.23.1",
};

/** Go module path of tailscale. */
export const TAILSCALE_MODULE = "tailscale.com";
/** Go module path of headscale. */
export const HEADSCALE_MODULE = "github.com/juanfont/headscale";
/** Go module path of wireguard-go; its main package (the daemon) is the module root. */
export const WIREGUARD_GO_MODULE = "golang.zx2c4.com/wireguard";
/** The binary `go install` names after the module's last element. */
export const WIREGUARD_GO_PROGRAM = "wireguard";
/** The tailscale programs the lab uses, as package paths inside {@linkcode TAILSCALE_MODULE}. */
export const TAILSCALE_PROGRAMS = ["tailscaled", "tailscale", "derper"] as const;

/** One of {@linkcode TAILSCALE_PROGRAMS}. */
export type TailscaleProgram = typeof TAILSCALE_PROGRAMS[number];
