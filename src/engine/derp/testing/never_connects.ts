/**
 * A DERP region connector that never connects: it waits until its signal aborts, then rejects.
 * For tests of what a node does before (or without) DERP, with no server to run.
 * @module
 */
import type { RegionConnector } from "../regions.ts";

/** Connects to nothing; rejects with the abort reason when asked to stop. */
export const neverConnects: RegionConnector = (_region, signal) =>
  new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
