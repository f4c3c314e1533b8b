// deno-lint-ignore-file no-console -- a fuzz campaign talks to the person running it
/**
 * The nightly-strength fuzz campaign: every fuzzer (a test file under `src/` or `tests/` that
 * calls `fuzzPlan` or `runFuzz` from `tests/fuzz.ts`) at 1,000,000 rounds, one file at a
 * time, each printing its seed and replay command.
 *
 *   deno task fuzz                                       # every fuzzer, 1,000,000 rounds
 *   FUZZ_ROUNDS=200000 deno task fuzz                    # fewer rounds
 *   FUZZ_SEED=0x1234 deno task fuzz src/engine/wire/tcp_fuzz_test.ts   # one file, one seed
 *
 * Exits non-zero when any fuzzer failed, naming each.
 * @module
 */

/** Rounds per fuzzer unless FUZZ_ROUNDS says otherwise. */
const CAMPAIGN_ROUNDS = 1_000_000;
/** How a test file shows that it holds a fuzzer. */
const FUZZER_CALL = /\b(fuzzPlan|runFuzz)\(/;

const root = new URL("../", import.meta.url);

async function fuzzFiles(dir: URL, rel: string, out: string[]): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      if (e.name === "node_modules" || e.name.startsWith(".")) continue;
      await fuzzFiles(new URL(`${e.name}/`, dir), `${rel}${e.name}/`, out);
    } else if (e.isFile && e.name.endsWith("_test.ts")) {
      if (FUZZER_CALL.test(await Deno.readTextFile(new URL(e.name, dir)))) {
        out.push(`${rel}${e.name}`);
      }
    }
  }
}

async function main(): Promise<number> {
  const files = Deno.args.slice();
  if (files.length === 0) {
    for (const top of ["src", "tests"]) await fuzzFiles(new URL(`${top}/`, root), `${top}/`, files);
    files.sort();
  }
  if (files.length === 0) {
    console.error("fuzz: no fuzz tests found");
    return 1;
  }
  const rounds = Deno.env.get("FUZZ_ROUNDS") ?? String(CAMPAIGN_ROUNDS);
  console.log(`fuzz: ${files.length} files at FUZZ_ROUNDS=${rounds}`);
  const failed: string[] = [];
  const t0 = performance.now();
  for (const file of files) {
    const started = performance.now();
    console.log(`\n=== ${file}`);
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", "--unstable-net", file],
      cwd: root,
      env: { FUZZ_ROUNDS: rounds },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    const s = ((performance.now() - started) / 1000).toFixed(0);
    console.log(`=== ${file}: ${code === 0 ? "ok" : "FAILED"} in ${s} s`);
    if (code !== 0) failed.push(file);
  }
  const total = ((performance.now() - t0) / 1000).toFixed(0);
  console.log(
    `\nfuzz: ${files.length - failed.length} of ${files.length} files passed in ${total} s` +
      (failed.length ? `; failed: ${failed.join(", ")}` : ""),
  );
  return failed.length ? 1 : 0;
}

Deno.exit(await main());
