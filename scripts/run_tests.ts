// deno-lint-ignore-file no-console -- a build script talks to the person running it
/**
 * The project's test command (`deno task test`, `npm test`), in this order:
 *
 * 1. Checks the host programs tests run (`tests/lab/prerequisites.ts`): a missing one stops it
 *    with one line naming the program and its Debian package, before anything else runs.
 * 2. Builds the interop lab's programs (`deno task lab build`, cached under ~/.cache). When that
 *    fails the lab tests skip, saying why; under `CI=true` the run fails here instead.
 * 3. Runs the suite with `deno test` (plus a JUnit report, which names the skipped tests).
 * 4. Lists skipped tests with their reasons; under `CI=true` any skip fails the run. A run of the
 *    whole suite (no arguments) also fails when it found fewer tests than the floor in
 *    `tests/min_test_count.ts`.
 *
 * It ends with the one line CI reads, `tests: N passed, N failed, N skipped` (top-level tests),
 * after a line counting the steps inside them.
 *
 * Offline by construction: as root with `ip` available, `deno test` runs inside a fresh network
 * namespace that has only `lo` (`ip netns exec tailnet-test-<pid> deno test ...`), so nothing a
 * test starts can reach another machine. Deno's module cache is filled first, outside it
 * (`deno test --no-run`, and `deno cache --no-lock mod.ts main.ts` for the npm registry metadata
 * that programs without our lockfile and main.ts's lazily loaded commands need). Afterwards any process still in the namespace is killed by its PID,
 * the namespace is deleted, and `deno task lab down` removes whatever a crashed lab left.
 * `TAILNET_TEST_NETNS=0` runs on the host network instead.
 *
 * Arguments after `--` go to `deno test` (e.g. a file or `--filter`).
 * @module
 */

import { BUILD_FAILED_ENV, labAvailable } from "../tests/lab/available.ts";
import {
  installMissingWithApt,
  missingPrerequisites,
  missingPrerequisitesLine,
} from "../tests/lab/prerequisites.ts";
import {
  isCi,
  parseSummary,
  skippedFromJunit,
  type SkippedTest,
  type TestCounts,
  verdict,
} from "../tests/lab/test_report.ts";
import { MIN_TEST_COUNT } from "../tests/min_test_count.ts";
import { bundleArgs } from "./bundle_args.ts";

if (!import.meta.main) throw new Error("scripts/run_tests.ts is a program, not a module");

// `deno task test -- file.ts` passes the "--" through; dropped here, or deno test would take the
// files after it as script arguments and run the whole suite.
const extra = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
const ci = isCi(Deno.env.get("CI"));

let missing = await missingPrerequisites();
// A CI machine may lack a package a newer test needs: install it there (root, apt-get), then
// check again; anywhere else, or if that fails, the line below names what to install.
if (missing.length > 0 && ci && await installMissingWithApt(missing, (l) => console.error(l))) {
  missing = await missingPrerequisites();
}
if (missing.length > 0) {
  console.error(missingPrerequisitesLine(missing));
  Deno.exit(1);
}

const buildCode = await buildLab();
if (buildCode !== 0) {
  if (ci) {
    console.error(
      `tests: 'deno task lab build' failed (exit ${buildCode}), and under CI=true the lab must ` +
        `build: no test runs`,
    );
    Deno.exit(1);
  }
  console.error(
    `scripts/run_tests.ts: 'deno task lab build' failed (exit ${buildCode}); lab tests will skip`,
  );
  // Inherited by deno test, and read by labAvailable() here for the list of skipped tests.
  Deno.env.set(BUILD_FAILED_ENV, "1");
}

const junitPath = await Deno.makeTempFile({ prefix: "tailnet-tests-", suffix: ".junit.xml" });
const testArgs = [
  "test",
  "--allow-all",
  "--unstable-net",
  "--doc",
  `--junit-path=${junitPath}`,
  ...extra,
];
await fetchBundler();
const netns = await maybeCreateNetns(testArgs);

const child = new Deno.Command(netns === null ? Deno.execPath() : "ip", {
  args: netns === null ? testArgs : ["netns", "exec", netns, Deno.execPath(), ...testArgs],
  // DENO_NO_UPDATE_CHECK: a `deno run` that a test spawns would otherwise look online for upgrades.
  env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const onSignal = () => {
  try {
    child.kill("SIGTERM");
  } catch {
    // Exited already.
  }
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
const counts = await teeAndFindSummary(child.stdout);
const status = await child.status;
Deno.removeSignalListener("SIGINT", onSignal);
Deno.removeSignalListener("SIGTERM", onSignal);
if (netns !== null) await removeNetns(netns);
await sweepLabs();

const skipped = await readSkipped(junitPath);
const lab = labAvailable();
const outcome = verdict({
  counts,
  exitCode: status.code,
  skipped,
  ci,
  floor: extra.length === 0 ? MIN_TEST_COUNT : null,
  labReason: lab.ok ? "" : lab.reason,
});
for (const line of outcome.lines) console.log(line);
Deno.exit(outcome.ok ? 0 : 1);

async function teeAndFindSummary(stream: ReadableStream<Uint8Array>): Promise<TestCounts | null> {
  let found: TestCounts | null = null;
  let pending = "";
  const dec = new TextDecoder();
  for await (const chunk of stream) {
    await Deno.stdout.write(chunk);
    pending += dec.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) found = parseSummary(line) ?? found;
  }
  return parseSummary(pending) ?? found;
}

/** The skipped tests the JUnit report names (then deletes it); null when it cannot be read. */
async function readSkipped(path: string): Promise<SkippedTest[] | null> {
  try {
    return skippedFromJunit(await Deno.readTextFile(path));
  } catch {
    return null;
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

/**
 * Runs `deno task lab build` when scripts/lab.ts exists (it prints its own progress and, on
 * failure, one line saying what is missing).
 * @returns its exit code (0 when there is no lab)
 */
async function buildLab(): Promise<number> {
  const labScript = new URL("./lab.ts", import.meta.url);
  try {
    await Deno.stat(labScript);
  } catch {
    return 0;
  }
  const build = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", labScript.pathname, "build"],
    stdout: "inherit",
    stderr: "inherit",
  });
  return (await build.output()).code;
}

/**
 * As root with `ip` on PATH (and unless TAILNET_TEST_NETNS=0), creates a network namespace with
 * only `lo` up and fills Deno's caches outside it; returns its name, or null to run on the host.
 */
async function maybeCreateNetns(testArgs: string[]): Promise<string | null> {
  if (Deno.env.get("TAILNET_TEST_NETNS") === "0" || Deno.build.os !== "linux") return null;
  if (Deno.uid() !== 0) {
    console.error("scripts/run_tests.ts: not root, so tests run on the host network (no netns)");
    return null;
  }
  const name = `tailnet-test-${Deno.pid}`;
  const add = await quiet("ip", ["netns", "add", name]);
  if (add === null) {
    console.error("scripts/run_tests.ts: no 'ip' command, so tests run on the host network");
    return null;
  }
  if (add.code !== 0) {
    console.error(`scripts/run_tests.ts: 'ip netns add' failed (${add.err}); host network`);
    return null;
  }
  const lo = await quiet("ip", ["-n", name, "link", "set", "lo", "up"]);
  if (lo?.code !== 0) {
    await removeNetns(name);
    console.error(`scripts/run_tests.ts: cannot bring up lo in ${name}; host network`);
    return null;
  }
  // Inside the namespace nothing can be downloaded: resolve and type-check everything first.
  await quiet(Deno.execPath(), [...testArgs.slice(0, 1), "--no-run", ...testArgs.slice(1)]);
  // A program outside this repository (tests/interop/outside_project_test.ts) resolves mod.ts's
  // npm packages without our lockfile, so it needs their registry metadata, not just tarballs;
  // so does `deno run main.ts` for packages only its lazily loaded commands import (the QR code).
  await quiet(Deno.execPath(), [
    "cache",
    "--no-lock",
    new URL("../mod.ts", import.meta.url).pathname,
    new URL("../main.ts", import.meta.url).pathname,
  ]);
  console.error(`scripts/run_tests.ts: deno test runs in network namespace ${name} (only lo)`);
  return name;
}

/**
 * `deno bundle` (what `scripts/compile.ts` builds the release binaries from) downloads its
 * esbuild on first use, into Deno's cache: do that here, where the network is, so the compile
 * tests neither need the network nor see download lines in the one line of output they check.
 * Bundling main.ts once also proves the bundle builds.
 */
async function fetchBundler(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tailnet-bundle-check-" });
  try {
    const r = await quiet(Deno.execPath(), [
      ...bundleArgs(new URL("../main.ts", import.meta.url).pathname, `${dir}/tailnet.js`),
    ]);
    if (r?.code !== 0) {
      console.error(`scripts/run_tests.ts: deno bundle failed: ${r?.err.trim().split("\n")[0]}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Kills (by PID) whatever still runs in the namespace, then deletes it. */
async function removeNetns(name: string): Promise<void> {
  const pids = await quiet("ip", ["netns", "pids", name]);
  for (const pid of (pids?.out ?? "").split(/\s+/).filter(Boolean).map(Number)) {
    console.error(`scripts/run_tests.ts: pid ${pid} outlived the tests in ${name}; killing it`);
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
  const del = await quiet("ip", ["netns", "del", name]);
  if (del?.code !== 0) console.error(`scripts/run_tests.ts: 'ip netns del ${name}' failed`);
}

/** `deno task lab down`: removes labs whose test process died without closing them. */
async function sweepLabs(): Promise<void> {
  const labScript = new URL("./lab.ts", import.meta.url);
  try {
    await Deno.stat(labScript);
  } catch {
    return;
  }
  await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", labScript.pathname, "down"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
}

async function quiet(
  cmd: string,
  args: string[],
): Promise<{ code: number; out: string; err: string } | null> {
  try {
    const o = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr).trim() };
  } catch {
    return null;
  }
}
