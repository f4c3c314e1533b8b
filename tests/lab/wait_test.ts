import { assertEquals, assertMatch, assertRejects } from "../../src/engine/base/testing/assert.ts";
import { LabTimeoutError, sleep, waitFor } from "./wait.ts";

Deno.test("waitFor() returns the first accepted value", async () => {
  let n = 0;
  const got = await waitFor("n reaches 3", () => (++n >= 3 ? `n=${n}` : false), { intervalMs: 1 });
  assertEquals(got, "n=3");
});

Deno.test("waitFor() treats a throwing check as not yet and names its last error", async () => {
  const err = await assertRejects(
    () =>
      waitFor("never", () => {
        throw new Error("socket not there");
      }, { timeoutMs: 30, intervalMs: 5, details: () => "LOG TAIL" }),
    LabTimeoutError,
  );
  assertMatch(err.message, /waiting for never; last error: socket not there\nLOG TAIL$/);
});

Deno.test("waitFor() accepts 0 and empty string but not null or false", async () => {
  assertEquals(await waitFor("zero", () => 0), 0);
  assertEquals(await waitFor("empty", () => ""), "");
  await assertRejects(() => waitFor("null", () => null, { timeoutMs: 10 }), LabTimeoutError);
});

Deno.test("sleep() rejects with the abort reason and leaves no timer", async () => {
  const ac = new AbortController();
  const p = sleep(10_000, ac.signal);
  ac.abort(new RangeError("stop"));
  await assertRejects(() => p, RangeError, "stop");
});
