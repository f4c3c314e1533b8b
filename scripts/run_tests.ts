// deno-lint-ignore-file no-console -- a build script talks to the person running it
/**
 * The project's test command (`deno task test`, `npm test`): builds the interop lab's tools
 * when Go is present (cached under ~/.cache), runs the whole suite with `deno test`, and ends
 * with the one line CI reads: `tests: N passed, N failed` (and `, N skipped` when any were).
 *
 * Arguments after `--` go to `deno test` (e.g. a file or `--filter`).
 * @module
 */

if (!import.meta.main) throw new Error("scripts/run_tests.ts is a program, not a module");

const extra = Deno.args;
const labBuild = await maybeBuildLab();

const cmd = new Deno.Command(Deno.execPath(), {
  args: [
    "test",
    "--allow-all",
    "--unstable-net",
    "--doc",
    ...extra,
  ],
  env: { NO_COLOR: "1", ...labBuild },
  stdout: "piped",
  stderr: "inherit",
});
const child = cmd.spawn();
const summary = await teeAndFindSummary(child.stdout);
const status = await child.status;

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
