// deno-lint-ignore-file no-console -- a build script talks to the person running it
/**
 * The project's test command (`deno task test`, `npm test`): builds the interop lab's tools
 * when Go is present (cached under ~/.cache), runs the whole suite with `deno test`, and ends
 * with the one line CI reads: `tests: N passed, N failed` (and `, N skipped` when any were).
 *
 * Offline by construction: as root with `ip` available, `deno test` runs inside a fresh network
 * namespace that has only `lo` (`ip netns exec tailnet-test-<pid> deno test ...`), so nothing a
 * test starts can reach another machine. Deno's module cache is filled first, outside it
 * (`deno test --no-run`). Afterwards any process still in the namespace is killed by its PID,
 * the namespace is deleted, and `deno task lab down` removes whatever a crashed lab left.
 * `TAILNET_TEST_NETNS=0` runs on the host network instead.
 *
 * Arguments after `--` go to `deno test` (e.g. a file or `--filter`).
 * @module
 */

if (!import.meta.main) throw new Error("scripts/run_tests.ts is a program, not a module");

// `deno task test -- file.ts` passes the "--" through; dropped here, or deno test would take the
// files after it as script arguments and run the whole suite.
const extra = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
const labBuild = await maybeBuildLab();
const testArgs = ["test", "--allow-all", "--unstable-net", "--doc", ...extra];
const netns = await maybeCreateNetns(testArgs);

const child = new Deno.Command(netns === null ? Deno.execPath() : "ip", {
  args: netns === null ? testArgs : ["netns", "exec", netns, Deno.execPath(), ...testArgs],
  // DENO_NO_UPDATE_CHECK: a `deno run` that a test spawns would otherwise look online for upgrades.
  env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...labBuild },
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
const summary = await teeAndFindSummary(child.stdout);
const status = await child.status;
Deno.removeSignalListener("SIGINT", onSignal);
Deno.removeSignalListener("SIGTERM", onSignal);
if (netns !== null) await removeNetns(netns);
await sweepLabs();

if (summary === null) {
  console.log(`tests: 0 passed, 1 failed`);
  console.error(
    "scripts/run_tests.ts: deno test printed no summary line (exit code " + status.code + ")",
  );
  Deno.exit(1);
}
const skipped = summary.ignored > 0 ? `, ${summary.ignored} skipped` : "";
console.log(`tests: ${summary.passed} passed, ${summary.failed} failed${skipped}`);
Deno.exit(status.success && summary.failed === 0 ? 0 : 1);

interface Summary {
  passed: number;
  failed: number;
  ignored: number;
}

async function teeAndFindSummary(stream: ReadableStream<Uint8Array>): Promise<Summary | null> {
  let found: Summary | null = null;
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

// deno test's last line: "ok | 12 passed (3 steps) | 0 failed | 2 ignored (4s)".
function parseSummary(line: string): Summary | null {
  const m = line.match(/^(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
  if (!m) return null;
  const ignored = line.match(/\| (\d+) ignored/);
  return { passed: Number(m[2]), failed: Number(m[3]), ignored: ignored ? Number(ignored[1]) : 0 };
}

/**
 * Builds the lab's tools when scripts/lab.ts exists and Go is on PATH; returns the environment
 * the lab tests read. Without Go the lab tests skip themselves and say why.
 */
async function maybeBuildLab(): Promise<Record<string, string>> {
  const labScript = new URL("./lab.ts", import.meta.url);
  try {
    await Deno.stat(labScript);
  } catch {
    return {};
  }
  const build = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", labScript.pathname, "build"],
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await build.output();
  if (code !== 0) {
    console.error(
      `scripts/run_tests.ts: 'deno task lab build' failed (exit ${code}); lab tests will skip`,
    );
    return { TAILNET_LAB_BUILD_FAILED: "1" };
  }
  return {};
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
  console.error(`scripts/run_tests.ts: deno test runs in network namespace ${name} (only lo)`);
  return name;
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
