import { assert, assertEquals, assertMatch } from "../../src/engine/base/testing/assert.ts";
import {
  isCi,
  parseSummary,
  type RunFacts,
  skippedFromJunit,
  type TestCounts,
  verdict,
} from "./test_report.ts";

const ZERO: TestCounts = {
  passed: 0,
  failed: 0,
  ignored: 0,
  passedSteps: 0,
  failedSteps: 0,
  ignoredSteps: 0,
  filtered: 0,
};

function facts(
  over: Partial<Omit<RunFacts, "counts">> & { counts: Partial<TestCounts> | null },
): RunFacts {
  const { counts, ...rest } = over;
  return {
    exitCode: 0,
    skipped: [],
    ci: false,
    floor: null,
    labReason: "",
    ...rest,
    counts: counts === null ? null : { ...ZERO, ...counts },
  };
}

// The form CI's reader takes: the plain closing line, `, N skipped` optional after it.
const CLOSING = /^tests: \d+ passed, \d+ failed(, \d+ skipped)?$/;

Deno.test("parseSummary() reads deno's closing line with steps, ignored and filtered counts", () => {
  assertEquals(
    parseSummary("ok | 3 passed (3 steps) | 0 failed | 1 ignored (1 step) (17ms)"),
    { ...ZERO, passed: 3, passedSteps: 3, ignored: 1, ignoredSteps: 1 },
  );
  assertEquals(
    parseSummary("FAILED | 609 passed (45 steps) | 1 failed (2 steps) | 6 ignored (1m 2s)"),
    { ...ZERO, passed: 609, passedSteps: 45, failed: 1, failedSteps: 2, ignored: 6 },
  );
  assertEquals(
    parseSummary("ok | 0 passed | 0 failed | 616 filtered out (1s)"),
    { ...ZERO, filtered: 616 },
  );
  assertEquals(
    parseSummary(
      "\x1b[0m\x1b[32mok\x1b[0m | 1 passed | 0 failed \x1b[0m\x1b[38;5;245m(3ms)\x1b[0m",
    ),
    { ...ZERO, passed: 1 },
  );
  assertEquals(parseSummary("some test ... ok (3ms)"), null);
  assertEquals(parseSummary("  ok | 1 passed in a test's own output? | no"), null);
});

Deno.test("skippedFromJunit() names skipped tests and steps, unescaped, with file and line", () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="4" failures="0" errors="0" time="0.018">
    <testsuite name="./a_test.ts" tests="4" disabled="2" errors="0" failures="0">
        <testcase name="lab &gt; thing (skipped: &quot;x&quot; &amp; y)" classname="./a_test.ts" time="0.000" line="1" col="6">
            <skipped/>
        </testcase>
        <testcase name="ran" classname="./a_test.ts" time="0.003" line="2" col="6">
        </testcase>
        <testcase name="prints &lt;skipped/&gt;" classname="./a_test.ts" time="0.001" line="7" col="6">
            <system-out>ok</system-out>
        </testcase>
        <testcase name="with steps &gt; s2" classname="./a_test.ts" time="0.000" line="4" col="11">
            <skipped/>
        </testcase>
        <testcase name="short" classname="./b_test.ts"/>
    </testsuite>
</testsuites>`;
  assertEquals(skippedFromJunit(xml), [
    { name: 'lab > thing (skipped: "x" & y)', file: "./a_test.ts", line: 1 },
    { name: "with steps > s2", file: "./a_test.ts", line: 4 },
  ]);
  assertEquals(skippedFromJunit(""), []);
});

Deno.test("isCi() takes CI=true and CI=1, nothing else", () => {
  for (const v of ["true", "TRUE", "1", " true "]) assert(isCi(v), v);
  for (const v of [undefined, "", "0", "false", "yes"]) assert(!isCi(v), String(v));
});

Deno.test("a clean run passes and ends with the closing line CI reads, steps on the line before", () => {
  const v = verdict(facts({ counts: { passed: 620, passedSteps: 45 } }));
  assert(v.ok);
  assertEquals(v.lines, [
    "tests: 45 steps inside them (0 failed, 0 skipped)",
    "tests: 620 passed, 0 failed, 0 skipped",
  ]);
  assertMatch(v.lines.at(-1)!, CLOSING);
  assert(!CLOSING.test(v.lines[0]), "the steps line must not look like the closing line");
});

Deno.test("outside CI skips pass but are listed by name, with the lab's reason where needed", () => {
  const v = verdict(facts({
    counts: { passed: 10, ignored: 2 },
    skipped: [
      { name: "derper (skipped: /x/derper is missing)", file: "./tests/d_test.ts", line: 9 },
      { name: "engine: disco pings", file: "./tests/e_test.ts", line: 26 },
    ],
    labReason: "'deno task lab build' failed (see its output above)",
  }));
  assert(v.ok);
  assertEquals(v.lines.slice(0, 3), [
    "tests: skipped (2 tests, 0 steps):",
    "  ./tests/d_test.ts:9 derper (skipped: /x/derper is missing)",
    "  ./tests/e_test.ts:26 engine: disco pings " +
    "(skipped: the lab: 'deno task lab build' failed (see its output above))",
  ]);
  assertEquals(v.lines.at(-1), "tests: 10 passed, 0 failed, 2 skipped");
});

Deno.test("under CI a skipped test fails the run and is named", () => {
  const v = verdict(facts({
    ci: true,
    counts: { passed: 10, ignored: 1 },
    skipped: [{ name: "planted", file: "./tests/p_test.ts", line: 1 }],
  }));
  assert(!v.ok);
  assert(v.lines.includes("  ./tests/p_test.ts:1 planted (its name gives no reason)"));
  assert(v.lines.some((l) => /CI=true, so the 1 skipped above fail the run/.test(l)));
  assertEquals(v.lines.at(-1), "tests: 10 passed, 0 failed, 1 skipped");
});

Deno.test("under CI a skipped step fails too; an unreadable report still says how many", () => {
  const v = verdict(facts({ ci: true, counts: { passed: 3, ignoredSteps: 1 }, skipped: null }));
  assert(!v.ok);
  assert(v.lines.some((l) => l.includes("could not be read; deno counted 1")), v.lines.join("\n"));
});

Deno.test("the whole suite fails below the floor and asks to raise it above", () => {
  const low = verdict(facts({ counts: { passed: 590, ignored: 5 }, floor: 616 }));
  assert(!low.ok);
  assert(low.lines.some((l) => l.startsWith("tests: only 595 tests found, fewer than the floor")));
  const high = verdict(facts({ counts: { passed: 620 }, floor: 616 }));
  assert(high.ok);
  assert(high.lines.some((l) => l.includes("620 tests found; raise the floor")));
  const subset = verdict(facts({ counts: { passed: 3 }, floor: null }));
  assert(subset.ok);
  assertEquals(subset.lines.length, 2);
});

Deno.test("failures, a failing exit code and a missing summary fail the run", () => {
  assert(!verdict(facts({ counts: { passed: 1, failed: 1 } })).ok);
  assert(!verdict(facts({ counts: { passed: 1 }, exitCode: 1 })).ok);
  const none = verdict(facts({ counts: null, exitCode: 101 }));
  assert(!none.ok);
  assertEquals(none.lines, [
    "tests: deno test printed no summary line (exit code 101)",
    "tests: 0 passed, 1 failed, 0 skipped",
  ]);
});
