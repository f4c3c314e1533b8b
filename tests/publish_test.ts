/**
 * The package as JSR would take it: `deno publish --dry-run` checks the license, the exports,
 * that every published module resolves (no bare specifier only our import map knew), and that
 * the public API has no slow types. It runs offline, so CI runs it with the suite.
 * @module
 */
import { assert } from "../src/engine/base/testing/assert.ts";

Deno.test("deno publish --dry-run accepts the package", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const problems = text.split("\n").filter((l) => /^(error|warning)/.test(l.trim()));
  assert(out.success && problems.length === 0, problems.join("\n") || text.slice(-2000));
  assert(text.includes("Dry run complete"), text.slice(-2000));
  // Only the library goes out: no tests or their testing/ helpers, lab, benches or tools.
  const rootUrl = new URL("..", import.meta.url).href;
  const files = text.split("\n").map((l) => l.trim()).filter((l) => l.startsWith(rootUrl))
    .map((l) => l.slice(rootUrl.length));
  const stray = files.filter((f) => /^(tests|bench|scripts|tools)\/|\/testing\/|_test\.ts/.test(f));
  assert(files.length > 0 && stray.length === 0, stray.join("\n"));
});
