/**
 * Runs netcheck at start and then every 20-26 s (a fresh random gap each time), as tailscaled's
 * magicsock re-runs it while active; one report at a time, on the caller's Clock.
 * @module
 */
import { type Clock, SYSTEM_CLOCK, type TimerId } from "../base/clock.ts";
import type { Logger } from "../base/logger.ts";
import type { DerpMap } from "../wire/derp_map.ts";
import type { NetcheckClient } from "./client.ts";
import { PERIODIC_JITTER_MS, PERIODIC_MIN_MS } from "./constants.ts";
import type { NetcheckReport } from "./report.ts";

/** Options for {@linkcode PeriodicNetcheck}. */
export interface PeriodicNetcheckOptions {
  /** The client that runs the reports. */
  client: NetcheckClient;
  /** The DERP map to measure, or null while there is none (the run is skipped). */
  derpMap: () => DerpMap | null;
  /** Called with each finished report. */
  onReport: (report: NetcheckReport) => void;
  /** Timers; default the system clock. */
  clock?: Clock;
  /** Logger for failed reports. */
  log?: Logger;
  /** A number in [0, 1) for the gap's jitter; default Math.random. */
  random?: () => number;
}

/** The schedule of netcheck reports of one node. */
export class PeriodicNetcheck {
  readonly #opts: PeriodicNetcheckOptions;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  #timer: TimerId | null = null;
  #started = false;
  #closed = false;
  #running: Promise<void> | null = null;

  /** @param opts client, map source and report sink */
  constructor(opts: PeriodicNetcheckOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
  }

  /** Starts the schedule with a report now; later calls do nothing. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    void this.runNow();
  }

  /**
   * Runs a report now (or joins the one running), then schedules the next.
   * @returns resolves when that report is done
   */
  runNow(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#running ??= this.#runOnce().finally(() => {
      this.#running = null;
      this.#schedule();
    });
  }

  async #runOnce(): Promise<void> {
    const map = this.#opts.derpMap();
    if (map === null) return;
    try {
      const report = await this.#opts.client.getReport(map, this.#abort.signal);
      if (!this.#closed) this.#opts.onReport(report);
    } catch (err) {
      this.#opts.log?.warn(`netcheck: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    const gap = PERIODIC_MIN_MS +
      Math.floor((this.#opts.random ?? Math.random)() * PERIODIC_JITTER_MS);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      void this.runNow();
    }, gap);
  }

  /** Stops the schedule and ends a running report. */
  close(): void {
    this.#closed = true;
    this.#abort.abort();
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
