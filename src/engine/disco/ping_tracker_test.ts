import { assert, assertEquals } from "../base/testing/assert.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { TailnetError } from "../base/errors.ts";
import { PingTimeoutError, PingTracker } from "./ping_tracker.ts";

const TXID = new Uint8Array(12).fill(7);
const TIMEOUT_MS = 2_000;

/** Where a promise stands, without waiting for it. */
async function state<T>(p: Promise<T>): Promise<"pending" | "resolved" | "rejected"> {
  const pending = Symbol();
  try {
    const v = await Promise.race([p, Promise.resolve(pending)]);
    return v === pending ? "pending" : "resolved";
  } catch {
    return "rejected";
  }
}

Deno.test("PingTracker times a ping out on its clock, with no real waiting", async () => {
  const clock = new ManualClock();
  const pings = new PingTracker<string>({ clock });
  const answer = pings.wait(TXID, TIMEOUT_MS);
  let err: unknown = null;
  answer.catch((e) => err = e);
  clock.advance(TIMEOUT_MS - 1);
  assertEquals(await state(answer), "pending");
  assertEquals(pings.size, 1);
  clock.advance(1);
  assertEquals(await state(answer), "rejected");
  assert(err instanceof PingTimeoutError, String(err));
  assertEquals((err as Error).message, `no reply after ${TIMEOUT_MS} ms`);
  assertEquals(pings.size, 0);
  assertEquals(clock.pending, 0);
  // A pong after the deadline finds no waiter.
  assertEquals(pings.answer(TXID, "late"), false);
});

Deno.test("PingTracker measures the round trip on its clock and stops the deadline", async () => {
  const clock = new ManualClock({ startMs: 50_000 });
  const pings = new PingTracker<string>({ clock });
  const answer = pings.wait(TXID, TIMEOUT_MS);
  clock.advance(37);
  assertEquals(pings.answer(new Uint8Array(12), "other"), false, "another txid");
  assertEquals(pings.answer(TXID, "pong"), true);
  assertEquals(await answer, { value: "pong", rttMs: 37 });
  assertEquals(clock.pending, 0, "the deadline timer is gone");
});

Deno.test("PingTracker.close() rejects every waiter and clears its timers", async () => {
  const clock = new ManualClock();
  const pings = new PingTracker<string>({ clock });
  const a = pings.wait(new Uint8Array([1]), 1_000);
  const b = pings.wait(new Uint8Array([2]), 2_000);
  assertEquals(clock.pending, 2);
  pings.close();
  assertEquals(await state(a), "rejected");
  assertEquals(await state(b), "rejected");
  assertEquals(clock.pending, 0);
  assertEquals(pings.size, 0);
});

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
