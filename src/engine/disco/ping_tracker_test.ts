import { assert, assertEquals } from "../base/testing/assert.ts";
import { TailnetError } from "../base/errors.ts";
import { PingTimeoutError } from "./ping_tracker.ts";

Deno.test("PingTimeoutError is a retryable TailnetError with the old message", () => {
  const e = new PingTimeoutError(5000);
  assert(e instanceof TailnetError && e instanceof PingTimeoutError);
  assertEquals([e.name, e.code, e.retryable, e.message], [
    "PingTimeoutError",
    "ping-timeout",
    true,
    "no reply after 5000 ms",
  ]);
});
