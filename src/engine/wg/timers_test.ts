import { assertEquals } from "../base/testing/assert.ts";
import { ManualClock } from "../base/testing/manual_clock.ts";
import { PeerTimer } from "./timers.ts";

Deno.test("PeerTimer.mod() to a later deadline moves the firing there", () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const t = new PeerTimer(clock, () => fired.push(clock.now()));
  t.mod(100);
  clock.advance(50);
  t.mod(100); // due at 150 now, as wireguard-go's mod would have it
  clock.advance(60);
  assertEquals(fired, []);
  assertEquals(t.pending, true);
  clock.advance(40);
  assertEquals(fired, [150]);
  assertEquals(t.pending, false);
});

Deno.test("PeerTimer.mod() to an earlier deadline fires then, once", () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const t = new PeerTimer(clock, () => fired.push(clock.now()));
  t.mod(1000);
  t.mod(10);
  clock.advance(2000);
  assertEquals(fired, [10]);
});

Deno.test("PeerTimer.del() stops a timer whose deadline had moved", () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const t = new PeerTimer(clock, () => fired.push(clock.now()));
  t.mod(100);
  clock.advance(90);
  t.mod(100);
  clock.advance(20); // the first arming went off and slept again
  t.del();
  clock.advance(1000);
  assertEquals(fired, []);
  assertEquals(t.pending, false);
});

Deno.test("PeerTimer re-armed every millisecond fires once, when the packets stop", () => {
  const clock = new ManualClock();
  let fired = 0;
  const t = new PeerTimer(clock, () => fired++);
  for (let i = 0; i < 1000; i++) {
    t.mod(50);
    clock.advance(1);
  }
  assertEquals(fired, 0);
  clock.advance(49);
  assertEquals(fired, 1);
});

Deno.test("PeerTimer disarmed and armed again per packet fires only at its last deadline", () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const t = new PeerTimer(clock, () => fired.push(clock.now()));
  for (let i = 0; i < 100; i++) {
    t.mod(20);
    clock.advance(5);
    t.del();
    assertEquals(t.pending, false);
    clock.advance(5);
  }
  assertEquals(fired, []);
  t.mod(20);
  clock.advance(20);
  assertEquals(fired, [1020]);
});

Deno.test("PeerTimer.stop() leaves no clock timer behind", () => {
  const clock = new ManualClock();
  const t = new PeerTimer(clock, () => {});
  t.mod(100);
  t.del();
  assertEquals(clock.pending, 1); // a disarmed timer's clock timer lingers until due
  t.stop();
  assertEquals(clock.pending, 0);
});
