/**
 * Every frame of one map poll from headscale v0.29.2 (`headscale_map_session.json` beside this
 * file; `tests/testdata/control/capture_map_session.ts` recorded it, as its "how" field says)
 * while a second node joined, came online, sent a lite update, left, was renamed and deleted.
 * @module
 */
import type { MapResponse } from "../tailcfg.ts";

/** The capture: each MapResponse with its arrival time after the poll began. */
export interface MapSessionCapture {
  /** How and when it was captured. */
  how: string;
  /** What the capture script did to the other node, in order. */
  events: unknown[];
  /** The frames as received. */
  frames: { atMs: number; msg: MapResponse }[];
}

/** The session, parsed once. */
export const MAP_SESSION: MapSessionCapture = JSON.parse(
  await Deno.readTextFile(new URL("./headscale_map_session.json", import.meta.url)),
);
