import { assertEquals } from "../base/testing/assert.ts";
import { REJECT_AFTER_MESSAGES, REPLAY_WINDOW } from "./constants.ts";
import { ReplayFilter } from "./replay.ts";

const LIMIT = REJECT_AFTER_MESSAGES;

/** Steps of [counter, accepted?] run in order on one filter, after the RFC 6479 cases wireguard-go tests. */
const CASES: { name: string; steps: [number, boolean][] }[] = [
  {
    name: "in order",
    steps: [[0, true], [1, true], [1, false], [9, true], [8, true], [7, true], [7, false]],
  },
  {
    name: "window edge",
    steps: [[REPLAY_WINDOW + 1, true], [1, true], [0, false], [REPLAY_WINDOW + 1, false], [
      2,
      true,
    ]],
  },
  {
    name: "far jump clears the ring",
    steps: [
      [5, true],
      [100_000, true],
      [5, false],
      [100_000 - REPLAY_WINDOW, true],
      [99_999, true],
      [99_999, false],
    ],
  },
  {
    name: "limit",
    steps: [[LIMIT, false], [2 ** 53 - 1, true], [2 ** 53 - 2, true], [2 ** 53 - 2, false]],
  },
  {
    name: "bits 31 and 63 of a block",
    steps: [[31, true], [63, true], [64 + 31, true], [31, false], [63, false], [95, false]],
  },
];

Deno.test("ReplayFilter.validate() accepts each counter once, inside the 8128-counter window", () => {
  for (const c of CASES) {
    const f = new ReplayFilter();
    c.steps.forEach(([n, want], i) =>
      assertEquals(f.validate(n, LIMIT), want, `${c.name} step ${i} (${n})`)
    );
  }
});

Deno.test("ReplayFilter.validate() keeps every counter of a shuffled window and rejects repeats", () => {
  const f = new ReplayFilter();
  const base = 10_000;
  f.validate(base + REPLAY_WINDOW, LIMIT);
  const order = Array.from({ length: REPLAY_WINDOW }, (_, i) => base + i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const n of order) assertEquals(f.validate(n, LIMIT), true, `first ${n}`);
  for (const n of order) assertEquals(f.validate(n, LIMIT), false, `again ${n}`);
  assertEquals(f.validate(base - 1, LIMIT), false, "just outside the window");
  f.reset();
  assertEquals(f.validate(base, LIMIT), true, "after reset");
});
