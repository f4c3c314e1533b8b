/**
 * WireGuard for tailnet: the Noise_IKpsk2 handshake, cookies, transport sealing with replay
 * protection, the timers of the WireGuard paper, peers with allowed IPs, and the
 * {@linkcode Device} that joins them over a {@linkcode Bind}.
 *
 * @example A device with one peer
 * ```ts ignore
 * import { Device } from "./mod.ts";
 * const dev = new Device({ privateKey, bind, onPacket: (ip) => stack.input(ip) });
 * dev.setPeer({ publicKey: peerKey, allowedIps: ["100.64.0.2/32"], endpoint });
 * dev.start();
 * ```
 * @module
 */
export { Device, type DeviceOptions, type PeerConfig, type PeerStatus } from "./device.ts";
export type { Bind, BindEndpoint, BindReceived } from "./bind.ts";
export { type Clock, SYSTEM_CLOCK, type TimerId } from "../base/clock.ts";
export * from "./constants.ts";
export type { DropCounters, PeerStats } from "./stats.ts";
export { formatPrefix, parseIp, parsePrefix, type Prefix } from "./allowed_ips.ts";
