/**
 * The home-region choice of tailscaled's `addReportHistoryAndSetPreferredDERP`
 * (`net/netcheck/netcheck.go`, v1.98.10): the region with the best latency seen over the last
 * five minutes of reports, among those this report heard from (scaled by the DERP map's
 * `HomeParams.RegionScore`), but the old home stays unless the new one is clearly better: at
 * least {@linkcode PREFERRED_DERP_ABSOLUTE_DIFF_MS} faster and faster than two thirds of the
 * old one's latency. With no latency at all, a home heard from recently over DERP stays.
 * Time is an argument; the history is an object of its caller's.
 * @module
 */
import type { DerpMap } from "../wire/derp_map.ts";
import {
  PREFERRED_DERP_ABSOLUTE_DIFF_MS,
  PREFERRED_DERP_FRAME_MS,
  PREFERRED_DERP_KEEPALIVE_TIMEOUT_MS,
  REPORT_HISTORY_MAX_AGE_MS,
} from "./constants.ts";

/** When we last heard a DERP frame from a region (monotonic ms), or null. */
export type LastDerpActivity = (regionId: number) => number | null;

/** The past reports' latencies, and the home region of the last one. */
export class ReportHistory {
  /** Latencies of past reports by the time they were added. */
  readonly #reports: { at: number; latencyMs: ReadonlyMap<number, number> }[] = [];
  #lastPreferred = 0;

  /** The previous report's preferred region, 0 before any. */
  get lastPreferred(): number {
    return this.#lastPreferred;
  }

  /**
   * Adds a report's latencies and chooses its preferred region.
   * @param latencyMs this report's best latency per region
   * @param opts `now` (monotonic ms), `startedAt` (when the report began), the DERP map (for
   * region scores) and when each region was last heard from over DERP
   * @returns the preferred region, 0 when none
   */
  add(
    latencyMs: ReadonlyMap<number, number>,
    opts: { now: number; startedAt: number; derpMap: DerpMap; lastDerpActivity?: LastDerpActivity },
  ): number {
    const { now, startedAt } = opts;
    const prev = this.#lastPreferred;
    this.#reports.push({ at: now, latencyMs: new Map(latencyMs) });
    for (let i = this.#reports.length - 1; i >= 0; i--) {
      if (now - this.#reports[i].at > REPORT_HISTORY_MAX_AGE_MS) this.#reports.splice(i, 1);
    }
    const scores = regionScores(opts.derpMap);
    const scaled = (id: number, ms: number) => {
      const s = scores.get(id);
      return s !== undefined && s > 0 ? ms * s : ms;
    };
    const bestRecent = new Map<number, number>();
    for (const r of this.#reports) {
      for (const [id, ms] of r.latencyMs) {
        const b = bestRecent.get(id);
        if (b === undefined || ms < b) bestRecent.set(id, ms);
      }
    }
    let preferred = 0;
    let bestAny = 0;
    let oldCur = 0;
    // Regions in ascending order, so that a tie goes to the lower ID (Go's map order is random).
    for (const id of [...latencyMs.keys()].sort((a, b) => a - b)) {
      if (id === prev) oldCur = scaled(id, latencyMs.get(id) as number);
      const best = scaled(id, bestRecent.get(id) as number);
      if (preferred === 0 || best < bestAny) {
        bestAny = best;
        preferred = id;
      }
    }
    const lastHeard = prev === 0 ? null : opts.lastDerpActivity?.(prev) ?? null;
    const changing = prev !== 0 && preferred !== prev;
    const heardRecently = changing && lastHeard !== null &&
      (lastHeard > startedAt || lastHeard > now - PREFERRED_DERP_FRAME_MS);
    if (changing && (oldCur !== 0 || heardRecently)) {
      // Stay unless the new region is clearly better, in absolute and relative terms.
      if (oldCur - bestAny < PREFERRED_DERP_ABSOLUTE_DIFF_MS || bestAny > (oldCur / 3) * 2) {
        preferred = prev;
      }
    }
    if (
      preferred === 0 && lastHeard !== null && lastHeard > now - PREFERRED_DERP_KEEPALIVE_TIMEOUT_MS
    ) {
      preferred = prev;
    }
    this.#lastPreferred = preferred;
    return preferred;
  }
}

function regionScores(map: DerpMap): Map<number, number> {
  const out = new Map<number, number>();
  const hp = map.HomeParams;
  if (typeof hp !== "object" || hp === null) return out;
  const rs = (hp as { RegionScore?: unknown }).RegionScore;
  if (typeof rs !== "object" || rs === null) return out;
  for (const [k, v] of Object.entries(rs)) {
    if (typeof v === "number" && Number.isFinite(v)) out.set(Number(k), v);
  }
  return out;
}
