/**
 * The least number of top-level tests `npm test` must find when it runs the whole suite (no
 * arguments): fewer means a test file was deleted, renamed out of `*_test.ts`, or stopped loading,
 * and `scripts/run_tests.ts` fails the run (under CI and at a desk alike). Skipped tests count as
 * found; under CI=true they fail the run on their own.
 *
 * Raise it in the same commit that adds tests: the runner's output ends with
 * `tests: N tests found; raise the floor in tests/min_test_count.ts (M) to it`, so set it to that
 * N. Lower it only in a commit that removes tests on purpose, and say so in its message.
 * @module
 */

/** Top-level tests (`Deno.test` calls and doc tests, not `t.step`s) of the whole suite. */
export const MIN_TEST_COUNT = 962;
