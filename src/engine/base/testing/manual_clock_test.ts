import { assert, assertEquals } from "./assert.ts";
import { type Clock, SYSTEM_CLOCK } from "../clock.ts";
import { ManualClock } from "./manual_clock.ts";

Deno.test("ManualClock.advance() fires timers in deadline order, ties in the order set", () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setTimeout(() => fired.push("c@30"), 30);
  clock.setTimeout(() => fired.push("a@10"), 10);
  clock.setTimeout(() => fired.push("b1@20"), 20);
  clock.setTimeout(() => fired.push("b2@20"), 20);
  clock.advance(25);
  assertEquals(fired, ["a@10", "b1@20", "b2@20"]);
  assertEquals(clock.now(), 25);
  clock.advance(5);
  assertEquals(fired, ["a@10", "b1@20", "b2@20", "c@30"]);
  assertEquals(clock.pending, 0);
});

Deno.test("ManualClock.advance() shows each timer its own deadline as now()", () => {
  const clock = new ManualClock({ startMs: 100 });
  const seen: number[] = [];
  clock.setTimeout(() => seen.push(clock.now()), 7);
  clock.setTimeout(() => seen.push(clock.now()), 50);
  clock.advance(1_000);
  assertEquals(seen, [107, 150]);
  assertEquals(clock.now(), 1_100);
});

Deno.test("ManualClock.clearTimeout() cancels, also from inside another timer", () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  const b = clock.setTimeout(() => fired.push("b"), 20);
  clock.setTimeout(() => {
    fired.push("a");
    clock.clearTimeout(b);
  }, 10);
  const c = clock.setTimeout(() => fired.push("c"), 5);
  clock.clearTimeout(c);
  clock.clearTimeout(c); // twice: ignored
  clock.clearTimeout(999); // unknown: ignored
  clock.advance(100);
  assertEquals(fired, ["a"]);
  assertEquals(clock.pending, 0);
});

Deno.test("ManualClock.advance() fires timers set by timers when they fall due in the same advance", () => {
  const clock = new ManualClock();
  const ticks: number[] = [];
  const fired: string[] = [];
  // A self-rearming 10 ms ticker, as a keepalive or watchdog is.
  const tick = () => {
    ticks.push(clock.now());
    fired.push(`tick@${clock.now()}`);
    if (ticks.length < 10) clock.setTimeout(tick, 10);
  };
  clock.setTimeout(tick, 10);
  // A zero-delay timer set by a timer runs at that timer's deadline, before later ones.
  clock.setTimeout(() => clock.setTimeout(() => fired.push(`zero@${clock.now()}`), 0), 15);
  clock.advance(35);
  assertEquals(fired, ["tick@10", "zero@15", "tick@20", "tick@30"]);
  assertEquals(clock.pendingDelays(), [5]); // the ticker's next firing, at 40
  clock.advance(1_000);
  assertEquals(ticks, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  assertEquals(clock.nextDeadline(), null);
});

Deno.test("ManualClock keeps wall time apart from monotonic time", () => {
  const wallStartMs = Date.parse("2026-11-25T12:00:00Z");
  const clock = new ManualClock({ startMs: 5_000, wallStartMs });
  assertEquals(clock.now(), 5_000);
  assertEquals(clock.wallNow(), wallStartMs);
  clock.advance(90_000);
  assertEquals(clock.now(), 95_000);
  assertEquals(new Date(clock.wallNow()).toISOString(), "2026-11-25T12:01:30.000Z");
  // The default wall origin is fixed, so tests that print timestamps are repeatable.
  assertEquals(new Date(new ManualClock().wallNow()).toISOString(), "2026-01-01T00:00:00.000Z");
});

Deno.test("ManualClock.advanceAsync() lets promise chains run between timers", async () => {
  const clock = new ManualClock();
  const log: string[] = [];
  // A retry loop as the control client runs one: sleep on the clock, then await some work.
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
  const loop = (async () => {
    for (let i = 1; i <= 3; i++) {
      await sleep(100 * i);
      await Promise.resolve();
      log.push(`try ${i} at ${clock.now()}`);
    }
  })();
  await clock.advanceAsync(150);
  assertEquals(log, ["try 1 at 100"]);
  await clock.advanceAsync(10_000);
  assertEquals(log, ["try 1 at 100", "try 2 at 300", "try 3 at 600"]);
  await loop;
  assertEquals(clock.now(), 10_150);
  // A synchronous advance would have fired only the first sleep: the second is set later.
  const sync = new ManualClock();
  let n = 0;
  const s = (async () => {
    await new Promise<void>((r) => sync.setTimeout(r, 1));
    n++;
    await new Promise<void>((r) => sync.setTimeout(r, 1));
    n++;
  })();
  sync.advance(10);
  await Promise.resolve();
  assertEquals(n, 1);
  sync.advance(1);
  await s;
  assertEquals(n, 2);
});

Deno.test("SYSTEM_CLOCK is frozen, monotonic, and runs real timers", async () => {
  assert(Object.isFrozen(SYSTEM_CLOCK));
  const clock: Clock = SYSTEM_CLOCK;
  const t0 = clock.now();
  assert(Math.abs(clock.wallNow() - Date.now()) < 1_000);
  await new Promise<void>((r) => clock.setTimeout(r, 1));
  assert(clock.now() >= t0);
  let fired = false;
  clock.clearTimeout(clock.setTimeout(() => fired = true, 1));
  await new Promise((r) => setTimeout(r, 5));
  assert(!fired);
});
