/**
 * DERP, the relay: what other folders (magicsock, engine) may use.
 *
 * - {@linkcode DerpRegions}: one node's connections by region (home kept, others on demand,
 *   reconnect with backoff). This is what magicsock holds.
 * - {@linkcode DerpClient}: one connection's frames over a given stream.
 * - {@linkcode dialRegion} / {@linkcode dialNode}: TCP, TLS as tailscaled does it
 *   (InsecureForTests, `sha256-raw:` pinning), and the HTTP upgrade.
 *
 * @example A region manager over an in-memory server (real ones dial the DERP map's nodes)
 * ```ts
 * import { DerpRegions } from "./mod.ts";
 * import { generatePrivate } from "../key/keys.ts";
 * const regions = new DerpRegions({
 *   privateKey: generatePrivate("node"),
 *   derpMap: { Regions: {} },
 *   onMessage: () => {},
 * });
 * if (regions.status().length !== 0) throw new Error("nothing should be connected");
 * await regions.close();
 * ```
 * @module
 */
export { DerpClient } from "./client.ts";
export type {
  DerpClientOptions,
  DerpClientStats,
  DerpMessage,
  ServerInfoMessage,
} from "./client.ts";
export { type Clock, SYSTEM_CLOCK, type TimerId } from "../base/clock.ts";
export * from "./constants.ts";
export {
  checkPinnedChain,
  derpPort,
  dialNode,
  dialNodeTls,
  dialRegion,
  dialTargets,
  parseMetaCert,
  upgradeRequest,
} from "./dial.ts";
export type { DerpConnection, DialOptions, DialTarget } from "./dial.ts";
export { DerpError, type DerpErrorCode } from "./errors.ts";
export { measureHttpsLatency } from "./latency_check.ts";
export { backoffDelay, DerpRegions } from "./regions.ts";
export type {
  DerpRegionsOptions,
  DerpRegionsStats,
  RegionConnector,
  RegionState,
  RegionStatus,
  RegionStream,
} from "./regions.ts";
export { type DerpStream, memoryStreamPair } from "./stream.ts";
