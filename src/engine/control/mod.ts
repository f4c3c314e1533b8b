/**
 * The control plane: ts2021 (Noise IK, then HTTP/2) to a Tailscale control server, login,
 * the map poll and the netmap it builds. Other folders use only what is exported here.
 *
 * @example Applying map responses offline
 * ```ts
 * import { applyMapResponse } from "./mod.ts";
 * const nm = applyMapResponse(null, {
 *   Node: { ID: 1, Name: "a.tailnet.test.", Addresses: ["100.64.0.1/32"] },
 *   Peers: [{ ID: 2, Addresses: ["100.64.0.2/32"], Online: true }],
 * });
 * if (nm.peers.length !== 1 || nm.self.name !== "a.tailnet.test.") throw new Error("netmap");
 * ```
 * @module
 */
export * from "./client.ts";
export type * from "./types.ts";
export { AutoClient, backoffDelay, createControlClient } from "./auto.ts";
export { ZERO_TIME } from "./constants.ts";
export {
  applyMapResponse,
  dnsConfigFromJson,
  filterRulesFromJson,
  magicDnsSuffix,
  mergeDerpMap,
  nodeFromRaw,
} from "./netmap.ts";
export type { ApplyOptions } from "./netmap.ts";
export type * from "./tailcfg.ts";
export { type ControlTransport, NoiseTransport } from "./transport.ts";
export { fetchServerKey } from "./dial.ts";
