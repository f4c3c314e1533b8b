/**
 * `scripts/compile.ts` up to the point this machine can go: `deno compile` needs the `denort`
 * runtime, which is downloaded (no network in the test namespace) or named by DENORT_BIN. With
 * a stand-in runtime that is not denort, the whole build runs (permissions, V8 flags, the
 * module graph, the commit stamp) and the probe of the result fails; each failure is one line,
 * leaves no file behind and puts src/build_info.ts back as it was.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../src/engine/base/testing/assert.ts";

const COMPILE = new URL("../scripts/compile.ts", import.meta.url).pathname;
const BUILD_INFO = new URL("../src/build_info.ts", import.meta.url).pathname;

async function compile(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", COMPILE, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("compile: an unknown target or a missing DENORT_BIN fails with one line", async () => {
  const bad = await compile(["--target", "sparc-sun-solaris"]);
  assertEquals(bad.code, 1);
  assertEquals(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assertMatch(bad.stderr, /^compile: unknown target sparc-sun-solaris; want host or one of/);
  const missing = await compile(["--target", "host"], { DENORT_BIN: "/nonexistent/denort" });
  assertEquals(missing.code, 1);
  assertEquals(missing.stderr.trim(), "compile: DENORT_BIN=/nonexistent/denort: no such file");
});

Deno.test({
  name: "compile: a runtime that is not denort is caught by the probe; nothing is left behind",
  ignore: Deno.build.os === "windows",
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "tailnet-compile-" });
    const before = await Deno.readTextFile(BUILD_INFO);
    try {
      const r = await compile(["--target", "host", "--out", out], { DENORT_BIN: "/bin/false" });
      assertEquals(r.code, 1, r.stderr);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assertMatch(r.stderr, /^compile: tailnet-\w+-\w+: the built binary does not run 'version'/);
      assertEquals([...Deno.readDirSync(out)].map((e) => e.name), []);
      assert((await Deno.readTextFile(BUILD_INFO)) === before, "src/build_info.ts put back");
    } finally {
      await Deno.writeTextFile(BUILD_INFO, before);
      await Deno.remove(out, { recursive: true });
    }
  },
});
