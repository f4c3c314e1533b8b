/**
 * Builds the lab's real programs from the Go module proxy at the versions pinned in
 * `versions.ts`, with CGO_ENABLED=0, into the cache laid out in `paths.ts`. A release whose
 * folder holds every binary and a matching stamp is a cache hit and costs one stat per file.
 *
 * tailscale is built with `go install module/cmd/x@version`. headscale cannot be: `go install
 * github.com/juanfont/headscale/cmd/headscale@v0.29.2` asks the proxy for the module's version
 * list (the deprecation check), and the proxy answers 403 for it. So headscale is built from a
 * scratch module that requires exactly that version, which selects the same dependency versions
 * as headscale's own go.mod (minimal version selection over a single requirement). wireguard-go
 * (for `tests/interop/wireguard_go_test.ts`) is one `go install module@pseudo-version`.
 *
 * Everything is built here, before any test starts and before `scripts/run_tests.ts` enters its
 * offline network namespace: a test only looks binaries up (`paths.ts`, `available.ts`).
 * @module
 */

import { join } from "node:path";
import {
  goCaches,
  headscaleBin,
  headscaleBinDir,
  STAMP_FILE,
  tailscaleBin,
  tailscaleBinDir,
  wireguardGoBin,
  wireguardGoBinDir,
} from "./paths.ts";
import {
  type GoRelease,
  HEADSCALE_MODULE,
  HEADSCALE_RELEASE,
  TAILSCALE_MODULE,
  TAILSCALE_PROGRAMS,
  TAILSCALE_RELEASES,
  type TailscaleRelease,
  WIREGUARD_GO_MODULE,
  WIREGUARD_GO_RELEASE,
} from "./versions.ts";

/** The build cannot run on this machine (no Go, Go too old) or a `go` command failed. */
export class LabBuildError extends Error {
  /** @param message one line saying what is needed or what failed */
  constructor(message: string) {
    super(message);
    this.name = "LabBuildError";
  }
}

/** What one release's build did. */
export interface BuildOutcome {
  /** "tailscale", "headscale" or "wireguard-go". */
  readonly name: string;
  /** The release. */
  readonly version: string;
  /** Folder the binaries are in. */
  readonly binDir: string;
  /** True when nothing had to be built. */
  readonly cached: boolean;
  /** Wall time of this release's build or check. */
  readonly ms: number;
}

/** Options of {@linkcode buildLabTools}. */
export interface BuildOptions {
  /** Receives progress lines. */
  log?: (line: string) => void;
  /** Rebuild even on a cache hit. */
  force?: boolean;
}

/** The ldflags that stamp tailscale's version strings, as ts:build_dist.sh does. */
export function tailscaleLdflags(version: string): string {
  const v = version.replace(/^v/, "");
  return `-X tailscale.com/version.longStamp=${v}-lab -X tailscale.com/version.shortStamp=${v}`;
}

/** The stamp text for a tailscale release: changes whenever its build inputs change. */
export function tailscaleStamp(r: TailscaleRelease): string {
  return JSON.stringify({
    module: TAILSCALE_MODULE,
    version: r.version,
    programs: TAILSCALE_PROGRAMS,
    ldflags: tailscaleLdflags(r.version),
    cgo: false,
  });
}

/** The stamp text for a headscale release. */
export function headscaleStamp(r: GoRelease): string {
  return JSON.stringify({ module: HEADSCALE_MODULE, version: r.version, cgo: false });
}

/** The stamp text for a wireguard-go commit. */
export function wireguardGoStamp(r: GoRelease): string {
  return JSON.stringify({ module: WIREGUARD_GO_MODULE, version: r.version, cgo: false });
}

/**
 * Compares dotted Go versions ("1.26.5" vs "go1.26.8").
 * @returns negative, zero or positive as `a` is older, equal or newer
 */
export function compareGoVersions(a: string, b: string): number {
  const parts = (v: string) => v.replace(/^go/, "").split(/[^0-9]+/).filter(Boolean).map(Number);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The oldest Go that builds every pinned release: the highest `minGo` in `versions.ts`. */
export function requiredGoVersion(): string {
  return [
    ...TAILSCALE_RELEASES.map((r) => r.minGo),
    HEADSCALE_RELEASE.minGo,
    WIREGUARD_GO_RELEASE.minGo,
  ].sort(compareGoVersions).at(-1)!;
}

/**
 * Builds every pinned release that is not in the cache yet.
 * @throws {LabBuildError} with one line saying what is needed when Go is missing or too old
 */
export async function buildLabTools(opts: BuildOptions = {}): Promise<BuildOutcome[]> {
  const log = opts.log ?? (() => {});
  const out: BuildOutcome[] = [];
  const todo: Array<() => Promise<BuildOutcome>> = [];
  for (const r of TAILSCALE_RELEASES) {
    const binDir = tailscaleBinDir(r.version);
    const bins = TAILSCALE_PROGRAMS.map((p) => tailscaleBin(p, r.version));
    const t0 = performance.now();
    if (!opts.force && await cacheHit(binDir, bins, tailscaleStamp(r), () => adoptTailscale(r))) {
      out.push({
        name: "tailscale",
        version: r.version,
        binDir,
        cached: true,
        ms: performance.now() - t0,
      });
    } else {
      todo.push(() => buildTailscale(r, log));
    }
  }
  {
    const r = HEADSCALE_RELEASE;
    const binDir = headscaleBinDir(r.version);
    const t0 = performance.now();
    if (
      !opts.force &&
      await cacheHit(binDir, [headscaleBin(r.version)], headscaleStamp(r), () => adoptHeadscale(r))
    ) {
      out.push({
        name: "headscale",
        version: r.version,
        binDir,
        cached: true,
        ms: performance.now() - t0,
      });
    } else {
      todo.push(() => buildHeadscale(r, log));
    }
  }
  {
    const r = WIREGUARD_GO_RELEASE;
    const binDir = wireguardGoBinDir(r.version);
    const t0 = performance.now();
    // No adoption of unstamped binaries: wireguard-go's --version does not name its commit.
    const adopt = () => Promise.resolve(false);
    if (
      !opts.force &&
      await cacheHit(binDir, [wireguardGoBin(r.version)], wireguardGoStamp(r), adopt)
    ) {
      out.push({
        name: "wireguard-go",
        version: r.version,
        binDir,
        cached: true,
        ms: performance.now() - t0,
      });
    } else {
      todo.push(() => buildWireguardGo(r, log));
    }
  }
  if (todo.length === 0) return out;
  const go = await findGo();
  const needed = requiredGoVersion();
  if (compareGoVersions(go.version, needed) < 0 && go.toolchain === "local") {
    throw new LabBuildError(
      `needs Go >= ${needed} (found ${go.version}, GOTOOLCHAIN=local): ` +
        `install a newer Go from https://go.dev/dl or set GOTOOLCHAIN=auto`,
    );
  }
  log(`lab build: ${go.version}, GOMODCACHE and GOCACHE under ${join(goCaches().GOCACHE, "..")}`);
  for (const step of todo) out.push(await step());
  return out;
}

/** True when every binary exists and the stamp matches; `adopt` may vouch for unstamped ones. */
async function cacheHit(
  binDir: string,
  bins: string[],
  stamp: string,
  adopt: () => Promise<boolean>,
): Promise<boolean> {
  for (const b of bins) {
    if (!await isFile(b)) return false;
  }
  const stampPath = join(binDir, STAMP_FILE);
  let have: string | null = null;
  try {
    have = await Deno.readTextFile(stampPath);
  } catch {
    have = null;
  }
  if (have === stamp) return true;
  if (have !== null) return false;
  // Binaries built by hand before the lab existed: keep them if they report the pinned version.
  if (!await adopt()) return false;
  await Deno.writeTextFile(stampPath, stamp);
  return true;
}

async function adoptTailscale(r: TailscaleRelease): Promise<boolean> {
  const want = r.version.replace(/^v/, "");
  for (const p of ["tailscaled", "tailscale"] as const) {
    const res = await runQuiet(tailscaleBin(p, r.version), ["--version"]);
    if (res.code !== 0 || res.stdout.split("\n")[0].trim() !== want) return false;
  }
  const d = await runQuiet(tailscaleBin("derper", r.version), ["--version"]);
  return d.code === 0 && d.stdout.split("\n")[0].trim() === `${want}-lab`;
}

async function adoptHeadscale(r: GoRelease): Promise<boolean> {
  const res = await runQuiet(headscaleBin(r.version), ["version"]);
  return res.code === 0 && res.stdout.includes(`headscale version ${r.version}`);
}

async function buildTailscale(r: TailscaleRelease, log: (l: string) => void) {
  const binDir = tailscaleBinDir(r.version);
  const t0 = performance.now();
  const partial = await freshPartialDir(binDir);
  log(`lab build: go install tailscale.com/cmd/{${TAILSCALE_PROGRAMS.join(",")}}@${r.version}`);
  await go(
    [
      "install",
      "-ldflags",
      tailscaleLdflags(r.version),
      ...TAILSCALE_PROGRAMS.map((p) => `${TAILSCALE_MODULE}/cmd/${p}@${r.version}`),
    ],
    { GOBIN: partial },
    undefined,
  );
  await Deno.writeTextFile(join(partial, STAMP_FILE), tailscaleStamp(r));
  await swapIn(partial, binDir);
  return {
    name: "tailscale",
    version: r.version,
    binDir,
    cached: false,
    ms: performance.now() - t0,
  };
}

async function buildHeadscale(r: GoRelease, log: (l: string) => void) {
  const binDir = headscaleBinDir(r.version);
  const t0 = performance.now();
  const partial = await freshPartialDir(binDir);
  const src = join(binDir, "..", "src");
  await Deno.remove(src, { recursive: true }).catch(() => {});
  await Deno.mkdir(src, { recursive: true });
  await Deno.writeTextFile(
    join(src, "go.mod"),
    `module tailnetlab/headscale\n\ngo ${r.minGo}\n\nrequire ${HEADSCALE_MODULE} ${r.version}\n`,
  );
  await Deno.writeTextFile(
    join(src, "tools.go"),
    `//go:build tools\n\npackage tools\n\nimport _ "${HEADSCALE_MODULE}/cmd/headscale"\n`,
  );
  log(`lab build: go build ${HEADSCALE_MODULE}/cmd/headscale@${r.version} (scratch module)`);
  await go(["mod", "tidy"], {}, src);
  await go(
    ["build", "-o", join(partial, "headscale"), `${HEADSCALE_MODULE}/cmd/headscale`],
    {},
    src,
  );
  await Deno.writeTextFile(join(partial, STAMP_FILE), headscaleStamp(r));
  await swapIn(partial, binDir);
  return {
    name: "headscale",
    version: r.version,
    binDir,
    cached: false,
    ms: performance.now() - t0,
  };
}

async function buildWireguardGo(r: GoRelease, log: (l: string) => void) {
  const binDir = wireguardGoBinDir(r.version);
  const t0 = performance.now();
  const partial = await freshPartialDir(binDir);
  const target = `${WIREGUARD_GO_MODULE}@${r.version}`;
  log(`lab build: go install ${target}`);
  await go(["install", target], { GOBIN: partial }, undefined);
  await Deno.writeTextFile(join(partial, STAMP_FILE), wireguardGoStamp(r));
  await swapIn(partial, binDir);
  return {
    name: "wireguard-go",
    version: r.version,
    binDir,
    cached: false,
    ms: performance.now() - t0,
  };
}

/** A new empty `<binDir>.partial` beside the final folder; nothing half-built is ever in `bin`. */
async function freshPartialDir(binDir: string): Promise<string> {
  const partial = `${binDir}.partial`;
  await Deno.remove(partial, { recursive: true }).catch(() => {});
  await Deno.mkdir(partial, { recursive: true });
  return partial;
}

async function swapIn(partial: string, binDir: string): Promise<void> {
  await Deno.remove(binDir, { recursive: true }).catch(() => {});
  await Deno.rename(partial, binDir);
}

async function findGo(): Promise<{ version: string; toolchain: string }> {
  let res;
  try {
    res = await runQuiet("go", ["env", "GOVERSION", "GOTOOLCHAIN"]);
  } catch {
    const needed = requiredGoVersion();
    throw new LabBuildError(
      `needs Go >= ${needed} on PATH (none found): install it from https://go.dev/dl`,
    );
  }
  if (res.code !== 0) throw new LabBuildError(`'go env' failed: ${res.stderr.trim()}`);
  const [version, toolchain] = res.stdout.trim().split("\n");
  return { version, toolchain: Deno.env.get("GOTOOLCHAIN") ?? toolchain ?? "auto" };
}

async function go(args: string[], env: Record<string, string>, cwd: string | undefined) {
  const child = new Deno.Command("go", {
    args,
    cwd,
    env: { ...goCaches(), CGO_ENABLED: "0", GOFLAGS: "-buildvcs=false", ...env },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const { code } = await child.status;
  if (code !== 0) throw new LabBuildError(`'go ${args.join(" ")}' failed (exit ${code})`);
}

async function runQuiet(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
