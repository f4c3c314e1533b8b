import { assertEquals } from "../base/testing/assert.ts";
import type { DerpMap } from "../wire/derp_map.ts";
import { ReportHistory } from "./preferred_derp.ts";

const MAP: DerpMap = { Regions: {} };

/** Adds reports in turn, 20 s apart; returns each report's preferred region. */
function run(
  reports: [number, number][][],
  opts: { map?: DerpMap; lastHeard?: (id: number, now: number) => number | null } = {},
): number[] {
  const h = new ReportHistory();
  return reports.map((lat, i) => {
    const now = i * 20_000;
    return h.add(new Map(lat), {
      now,
      startedAt: now - 1_000,
      derpMap: opts.map ?? MAP,
      lastDerpActivity: opts.lastHeard ? (id) => opts.lastHeard!(id, now) : undefined,
    });
  });
}

Deno.test("ReportHistory.add(): the home region, and when it moves (addReportHistoryAndSetPreferredDERP)", () => {
  const cases: [string, [number, number][][], number[]][] = [
    ["first report: the fastest", [[[1, 30], [2, 20]]], [2]],
    ["a tie goes to the lower ID", [[[2, 20], [1, 20]]], [1]],
    ["5 ms better: stays (absolute rule)", [[[1, 30], [2, 40]], [[1, 30], [2, 25]]], [1, 1]],
    ["12 ms better but not a third: stays", [[[1, 60], [2, 70]], [[1, 60], [2, 48]]], [1, 1]],
    ["much better (10 vs 60): moves", [[[1, 60], [2, 70]], [[1, 60], [2, 10]]], [1, 2]],
    ["old home silent: moves", [[[1, 30], [2, 40]], [[2, 39]]], [1, 2]],
    ["nothing answered: none", [[[1, 30]], []], [1, 0]],
    [
      "best of the last five minutes counts",
      [[[1, 30], [2, 5]], [[1, 30], [2, 100]], [[1, 30], [2, 100]]],
      [2, 2, 2],
    ],
  ];
  for (const [what, reports, want] of cases) assertEquals(run(reports), want, what);
});

Deno.test("ReportHistory.add(): a silent old home heard from over DERP stays home", () => {
  const heard = (id: number, now: number) => id === 1 ? now - 500 : null;
  // Region 1 gave no latency but its DERP connection is alive: keep it (2 is not clearly better).
  assertEquals(run([[[1, 30], [2, 40]], [[2, 25]]], { lastHeard: heard }), [1, 1]);
  // No latency at all, but heard from within 2 minutes: keep.
  assertEquals(run([[[1, 30]], []], { lastHeard: heard }), [1, 1]);
});

Deno.test("ReportHistory.add(): HomeParams.RegionScore scales latencies", () => {
  const map: DerpMap = { Regions: {}, HomeParams: { RegionScore: { "2": 3 } } };
  assertEquals(run([[[1, 30], [2, 20]]], { map }), [1], "20 ms x 3 = 60 ms loses to 30 ms");
});
