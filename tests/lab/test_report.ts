/**
 * What `scripts/run_tests.ts` makes of a `deno test` run: the counts from deno's closing line,
 * the names of skipped tests from its JUnit report, and the verdict, under CI stricter than at a
 * desk. Pure functions, so the rules are unit-tested here rather than by running the suite.
 *
 * The verdict's last line is the one CI reads: `tests: N passed, N failed, N skipped`, counting
 * top-level tests as deno does; steps (`t.step`) are counted on the line before it.
 * @module
 */

/** The counts of deno test's closing line. Steps (`t.step`) are counted apart from tests. */
export interface TestCounts {
  /** Top-level tests that passed. */
  readonly passed: number;
  /** Top-level tests that failed. */
  readonly failed: number;
  /** Top-level tests skipped (`ignore: true`, `Deno.test.ignore`). */
  readonly ignored: number;
  /** Steps that passed. */
  readonly passedSteps: number;
  /** Steps that failed. */
  readonly failedSteps: number;
  /** Steps skipped. */
  readonly ignoredSteps: number;
  /** Tests left out by `--filter`. */
  readonly filtered: number;
}

/** A skipped test or step, from the JUnit report. */
export interface SkippedTest {
  /** Its name; a step's is `test > step`. */
  readonly name: string;
  /** The file deno names it under (`./tests/x_test.ts`). */
  readonly file: string;
  /** The line of its `Deno.test` call, when the report gives it. */
  readonly line: number | null;
}

/** Everything the verdict looks at. */
export interface RunFacts {
  /** From {@linkcode parseSummary}; null when deno printed no closing line (it crashed). */
  readonly counts: TestCounts | null;
  /** deno test's exit code. */
  readonly exitCode: number;
  /** From {@linkcode skippedFromJunit}; null when the report could not be read. */
  readonly skipped: readonly SkippedTest[] | null;
  /** `CI=true`: skips fail the run. */
  readonly ci: boolean;
  /** The least number of tests the whole suite must find; null when not checked (a subset ran). */
  readonly floor: number | null;
  /** Why the lab is unavailable, for skipped tests whose names do not say; "" when it is. */
  readonly labReason: string;
}

/** The lines to print (the last one is the closing line) and whether the run passed. */
export interface Verdict {
  /** Passed: exit 0. */
  readonly ok: boolean;
  /** Lines for stdout, in order. */
  readonly lines: readonly string[];
}

/** Where the floor is kept, for the message that names it. */
export const FLOOR_FILE = "tests/min_test_count.ts";

/**
 * Whether the `CI` variable asks for CI mode (GitHub Actions and most CI systems set `CI=true`).
 * @param value the variable, undefined when unset
 */
export function isCi(value: string | undefined): boolean {
  return value !== undefined && /^(true|1)$/i.test(value.trim());
}

// deno's colours, in case NO_COLOR was not honoured; the summary is parsed from plain text.
// deno-lint-ignore no-control-regex -- ESC is what an ANSI colour sequence starts with
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Reads deno test's closing line, e.g.
 * `ok | 12 passed (3 steps) | 0 failed | 2 ignored (1 step) | 4 filtered out (4s)`.
 * @param line one line of deno test's output
 * @returns the counts, or null when the line is not the closing line
 */
export function parseSummary(line: string): TestCounts | null {
  const plain = line.replace(ANSI, "").trim();
  const head = plain.match(/^(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed/);
  if (!head) return null;
  const after = plain.slice(head[0].length);
  const failedSteps = after.match(/^ \((\d+) steps?\)/);
  const ignored = after.match(/\| (\d+) ignored(?: \((\d+) steps?\))?/);
  const filtered = after.match(/\| (\d+) filtered out/);
  return {
    passed: Number(head[1]),
    passedSteps: Number(head[2] ?? 0),
    failed: Number(head[3]),
    failedSteps: Number(failedSteps?.[1] ?? 0),
    ignored: Number(ignored?.[1] ?? 0),
    ignoredSteps: Number(ignored?.[2] ?? 0),
    filtered: Number(filtered?.[1] ?? 0),
  };
}

/**
 * The skipped tests and steps of a JUnit report (`deno test --junit-path`), which names them
 * without the ambiguity of parsing the pretty output (where a test's own output can look like a
 * result line).
 * @param xml the report
 * @returns every `<testcase>` that holds `<skipped/>`, in report order
 */
export function skippedFromJunit(xml: string): SkippedTest[] {
  const out: SkippedTest[] = [];
  const testcase = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(testcase)) {
    if (!/<skipped\b/.test(m[3] ?? "")) continue;
    const attr = (name: string) => {
      const a = m[1].match(new RegExp(`\\b${name}="([^"]*)"`));
      return a ? unescapeXml(a[1]) : null;
    };
    const line = attr("line");
    out.push({
      name: attr("name") ?? "(no name)",
      file: attr("classname") ?? "",
      line: line !== null && /^\d+$/.test(line) ? Number(line) : null,
    });
  }
  return out;
}

function unescapeXml(s: string): string {
  return s.replace(/&(?:#(\d+)|#x([0-9a-fA-F]+)|(lt|gt|amp|quot|apos));/g, (_, dec, hex, name) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }[name as string]!;
  });
}

/**
 * Decides a run: lists skipped tests with their reasons (a name that carries its reason says
 * "skipped"; otherwise the lab's reason, when the lab is unavailable, is added), fails it under
 * CI when anything was skipped, fails it when the whole suite found fewer tests than the floor,
 * and ends with the closing line.
 * @param f the facts of the run
 * @returns the lines to print and the outcome
 */
export function verdict(f: RunFacts): Verdict {
  const c = f.counts;
  if (c === null) {
    return {
      ok: false,
      lines: [
        `tests: deno test printed no summary line (exit code ${f.exitCode})`,
        "tests: 0 passed, 1 failed, 0 skipped",
      ],
    };
  }
  const lines: string[] = [];
  let ok = f.exitCode === 0 && c.failed === 0 && c.failedSteps === 0;
  const skips = c.ignored + c.ignoredSteps;
  if (skips > 0) {
    lines.push(`tests: skipped (${plural(c.ignored, "test")}, ${plural(c.ignoredSteps, "step")}):`);
    for (const s of f.skipped ?? []) {
      const where = s.line === null ? s.file : `${s.file}:${s.line}`;
      lines.push(`  ${where} ${s.name}${reasonSuffix(s.name, f.labReason)}`);
    }
    const listed = f.skipped?.length ?? 0;
    if (listed !== skips) {
      lines.push(
        `  (the JUnit report ${f.skipped === null ? "could not be read" : `names ${listed}`}` +
          `; deno counted ${skips}${f.labReason ? `; the lab: ${f.labReason}` : ""})`,
      );
    }
    if (f.ci) {
      ok = false;
      lines.push(`tests: CI=true, so the ${skips} skipped above fail the run: nothing may skip`);
    }
  }
  if (f.floor !== null) {
    const found = c.passed + c.failed + c.ignored;
    if (found < f.floor) {
      ok = false;
      lines.push(
        `tests: only ${found} tests found, fewer than the floor of ${f.floor} in ${FLOOR_FILE} ` +
          `(a test file deleted, renamed or no longer found?)`,
      );
    } else if (found > f.floor) {
      lines.push(
        `tests: ${found} tests found; raise the floor in ${FLOOR_FILE} (${f.floor}) to it`,
      );
    }
  }
  lines.push(
    `tests: ${c.passedSteps + c.failedSteps + c.ignoredSteps} steps inside them ` +
      `(${c.failedSteps} failed, ${c.ignoredSteps} skipped)`,
    `tests: ${c.passed} passed, ${c.failed} failed, ${c.ignored} skipped`,
  );
  return { ok, lines };
}

function reasonSuffix(name: string, labReason: string): string {
  if (/\bskipped\b/i.test(name)) return "";
  return labReason ? ` (skipped: the lab: ${labReason})` : " (its name gives no reason)";
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
