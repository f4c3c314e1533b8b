/**
 * Congestion control, apart from the socket as in smoltcp's `tcp/congestion/`. The socket
 * tells its controller what happened (bytes acknowledged, a loss detected, a timeout); the
 * controller answers with the congestion window. We ship NewReno ({@linkcode NewReno}):
 * gVisor's netstack, which tailscaled runs in userspace mode, defaults to Reno too, so we
 * behave like the peer we are measured against; its growth is easy to reason about in tests;
 * and over a tailnet hop (DERP or direct, tens of ms) with 4 MiB windows it is not what limits
 * a pure-TypeScript data path (crypto is).
 *
 * @example Slow start grows by what was acknowledged
 * ```ts
 * import { NewReno } from "./mod.ts";
 * const cc = new NewReno(1000);
 * const before = cc.cwndBytes;
 * cc.onAck(0, 1000, false);
 * if (cc.cwndBytes !== before + 1000) throw new Error("bad");
 * ```
 * @module
 */
export type { CongestionController } from "./controller.ts";
export { NewReno } from "./new_reno.ts";
