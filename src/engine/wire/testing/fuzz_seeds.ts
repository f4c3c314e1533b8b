/**
 * Seed corpora for the wire fuzz tests, cut from the Linux captures, and the fuzz driver
 * re-exported so each fuzz test imports one module.
 * @module
 */
import { ALL_CAPTURES, transportSeeds } from "./captures.ts";
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP, IP_PROTO_UDP } from "../ip_proto.ts";

export { mustNotReject, runFuzz } from "./captures.ts";

/** Every capture (both families). */
export const ALL_CAPTURE_SEEDS: readonly Uint8Array[] = ALL_CAPTURES;
/** The IPv4 captures. */
export const ALL_CAPTURE_V4: readonly Uint8Array[] = ALL_CAPTURES.filter((c) => c[0] >>> 4 === 4);
/** The IPv6 captures. */
export const ALL_CAPTURE_V6: readonly Uint8Array[] = ALL_CAPTURES.filter((c) => c[0] >>> 4 === 6);
/** TCP segments (both families). */
export const TCP_SEEDS: readonly Uint8Array[] = transportSeeds(IP_PROTO_TCP);
/** UDP datagrams (first fragments included: their UDP length exceeds the bytes). */
export const UDP_SEEDS: readonly Uint8Array[] = transportSeeds(IP_PROTO_UDP);
/** ICMPv4 messages. */
export const ICMPV4_SEEDS: readonly Uint8Array[] = transportSeeds(IP_PROTO_ICMP);
/** ICMPv6 messages (echo, port unreachable, MLD, neighbour discovery). */
export const ICMPV6_SEEDS: readonly Uint8Array[] = transportSeeds(IP_PROTO_ICMPV6);
