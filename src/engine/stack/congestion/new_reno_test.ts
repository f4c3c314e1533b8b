import { assertEquals } from "../../base/testing/assert.ts";
import { INITIAL_WINDOW_SEGMENTS, NewReno } from "./new_reno.ts";

Deno.test("NewReno slow start grows by acked bytes (at most 2 MSS per ACK)", () => {
  const cc = new NewReno(1000);
  assertEquals(cc.cwndBytes, INITIAL_WINDOW_SEGMENTS * 1000);
  cc.onAck(0, 5000, false);
  assertEquals(cc.cwndBytes, 12_000);
  cc.onAck(0, 500, true);
  assertEquals(cc.cwndBytes, 12_000, "no growth in recovery");
});

Deno.test("NewReno halves on loss, grows one MSS per window in avoidance, resets on timeout", () => {
  const cc = new NewReno(1000);
  cc.onLoss(0, 40_000);
  assertEquals([cc.cwndBytes, cc.ssthreshBytes], [20_000, 20_000]);
  for (let i = 0; i < 20; i++) cc.onAck(0, 1000, false);
  assertEquals(cc.cwndBytes, 21_000);
  cc.onTimeout(0, 10_000);
  assertEquals([cc.cwndBytes, cc.ssthreshBytes], [1000, 5000]);
  cc.onLoss(0, 1000);
  assertEquals(cc.ssthreshBytes, 2000, "never below 2 MSS");
});

Deno.test("NewReno.undo() puts back the window a spurious timeout took", () => {
  const cc = new NewReno(1000);
  cc.onLoss(0, 60_000);
  const before = [cc.cwndBytes, cc.ssthreshBytes];
  cc.onTimeout(0, 30_000);
  assertEquals([cc.cwndBytes, cc.ssthreshBytes], [1000, 15_000]);
  cc.undo(before[0], before[1]);
  assertEquals([cc.cwndBytes, cc.ssthreshBytes], before);
});
