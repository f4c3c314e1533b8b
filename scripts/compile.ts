// deno-lint-ignore-file no-console -- a build script talks to the person running it
/**
 * Builds the `tailnet` executables with `deno compile`, with the daemon's permission flags
 * baked in, into `dist/tailnet-<os>-<arch>` plus `dist/SHA256SUMS`.
 *
 *   deno task compile                 # all three release targets
 *   deno task compile --target host   # this machine's target only
 *
 * `deno compile` needs the `denort` runtime of the same Deno version for each target and
 * downloads it. Where that cannot happen (no internet), set `DENORT_BIN` to a denort binary for
 * the host target. Each binary is written to a temporary name, run once (`version`), and only
 * then renamed into place, so a failure never leaves a partial file behind.
 *
 * What is compiled is not main.ts's module graph but one minified bundle of it (`deno bundle
 * --minify`, built once for all targets): V8 then holds one module's source, with no comments
 * and no inline source maps, in place of some two hundred transpiled modules that each carry
 * their TypeScript as a base64 source map. `deno task bench:memory` measures the same bundle
 * under `deno run`: the daemon idles about 10 MiB smaller (its "one minified bundle" row).
 * @module
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { DAEMON_PERMISSIONS, DAEMON_V8_FLAGS } from "../src/cli/daemon_permissions.ts";
import { bundleArgs } from "./bundle_args.ts";

/** Release targets: Deno's target triple and our file name. */
const TARGETS = [
  { triple: "x86_64-unknown-linux-gnu", name: "tailnet-linux-x64" },
  { triple: "aarch64-unknown-linux-gnu", name: "tailnet-linux-arm64" },
  { triple: "aarch64-apple-darwin", name: "tailnet-darwin-arm64" },
] as const;

const PERMISSIONS = DAEMON_PERMISSIONS;
const V8_FLAGS = DAEMON_V8_FLAGS;

/** One target could not be built; the message is the one line to print. */
class BuildFailure extends Error {}

const { values } = parseArgs({
  args: Deno.args,
  options: { target: { type: "string" }, out: { type: "string", default: "dist" } },
  strict: true,
});

const root = new URL("..", import.meta.url).pathname;
const outDir = values.out!.startsWith("/") ? values.out! : `${root}${values.out}`;
const host = hostTriple();
const wanted = values.target === undefined
  ? [...TARGETS]
  : TARGETS.filter((t) => t.triple === (values.target === "host" ? host : values.target));
if (wanted.length === 0) {
  fail(
    `unknown target ${values.target}; want host or one of ${
      TARGETS.map((t) => t.triple).join(", ")
    }`,
  );
}

const denort = Deno.env.get("DENORT_BIN");
if (denort !== undefined) {
  try {
    await Deno.stat(denort);
  } catch {
    fail(`DENORT_BIN=${denort}: no such file`);
  }
}

await Deno.mkdir(outDir, { recursive: true });
const commit = await gitCommit();
const buildInfo = `${root}src/build_info.ts`;
const originalBuildInfo = await Deno.readTextFile(buildInfo);
const sums: string[] = [];
const bundleDir = await Deno.makeTempDir({ prefix: "tailnet-compile-" });
const bundle = `${bundleDir}/tailnet.js`;
// A failed target is thrown, not exited on the spot, so that the finally below puts
// src/build_info.ts back before the process ends (Deno.exit skips finally blocks).
let failure: string | null = null;
try {
  if (commit) {
    await Deno.writeTextFile(
      buildInfo,
      originalBuildInfo.replace(/BUILD_COMMIT = ".*"/, `BUILD_COMMIT = "${commit}"`),
    );
  }
  await bundleMain();
  for (const t of wanted) {
    const final = `${outDir}/${t.name}`;
    const tmp = `${final}.partial`;
    const env: Record<string, string> = {};
    if (t.triple === host && denort !== undefined) env.DENORT_BIN = denort;
    const res = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        ...PERMISSIONS,
        ...V8_FLAGS,
        "--target",
        t.triple,
        "--output",
        tmp,
        bundle,
      ],
      env: { NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!res.success) {
      await removeQuietly(tmp);
      const text = new TextDecoder().decode(res.stderr);
      const why = /dl\.deno\.land|download|dns|connect|network/i.test(text)
        ? `cannot download the denort runtime for ${t.triple} (no network?); set DENORT_BIN to a denort ${Deno.version.deno} binary for the host target`
        : firstErrorLine(text);
      throw new BuildFailure(`${t.name}: ${why}`);
    }
    if (t.triple === host) {
      const probe = await new Deno.Command(tmp, {
        args: ["version"],
        stdout: "piped",
        stderr: "piped",
      }).output()
        .catch(() => null);
      if (!probe?.success) {
        await removeQuietly(tmp);
        throw new BuildFailure(
          `${t.name}: the built binary does not run 'version'; is DENORT_BIN a denort ${Deno.version.deno} runtime (not the full deno binary)?`,
        );
      }
    }
    await Deno.rename(tmp, final);
    sums.push(`${sha256(await Deno.readFile(final))}  ${t.name}`);
    console.log(`built ${final}`);
  }
} catch (err) {
  if (!(err instanceof BuildFailure)) throw err;
  failure = err.message;
} finally {
  await Deno.writeTextFile(buildInfo, originalBuildInfo);
  await Deno.remove(bundleDir, { recursive: true }).catch(() => {});
}
if (failure !== null) fail(failure);
await Deno.writeTextFile(`${outDir}/SHA256SUMS`, sums.join("\n") + "\n");
console.log(`wrote ${outDir}/SHA256SUMS`);

/** Writes `bundle`: main.ts and everything it imports as one minified module (names kept). */
async function bundleMain(): Promise<void> {
  const res = await new Deno.Command(Deno.execPath(), {
    args: bundleArgs(`${root}main.ts`, bundle),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!res.success) {
    throw new BuildFailure(`deno bundle: ${firstErrorLine(new TextDecoder().decode(res.stderr))}`);
  }
}

function fail(message: string): never {
  console.error(`compile: ${message}`);
  Deno.exit(1);
}

function hostTriple(): string {
  const arch = Deno.build.arch === "x86_64" ? "x86_64" : "aarch64";
  return Deno.build.os === "darwin" ? `${arch}-apple-darwin` : `${arch}-unknown-linux-gnu`;
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

function firstErrorLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  const err = lines.find((l) => l.startsWith("error:")) ?? lines[0] ?? "deno compile failed";
  const cause = lines[lines.indexOf(err) + 2];
  return cause && /^\d+:/.test(cause) ? `${err} (${cause})` : err;
}

async function removeQuietly(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}

async function gitCommit(): Promise<string> {
  const res = await new Deno.Command("git", {
    args: ["rev-parse", "--short=12", "HEAD"],
    cwd: root,
    stdout: "piped",
    stderr: "null",
  })
    .output().catch(() => null);
  return res?.success ? new TextDecoder().decode(res.stdout).trim() : "";
}
